"""The ``predict`` stage: stream the prediction input in shards through the trained model.

One output row per input row, exactly once, Parquet or JSONL. What the user has is safe:

- the output file is only ever replaced atomically, by the complete new file (a temporary name
  beside it, renamed on success); a run that fails (bad input, a kill, a full disk) leaves the
  previous output as it was;
- an output path that is (or resolves to) one of the run's input files is refused before
  anything runs (:func:`output_conflicts`);
- the hidden temporary that a kill during the final merge leaves beside the output
  (``.<name>.tmp-<pid>``, written by :func:`kgattn.persistence.atomic_path`) is removed when
  the stage runs again, and only when its process is gone (:func:`clean_stale_temporaries`).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kgattn.errors import ConfigError
from kgattn.pipeline.corpus import CorpusReader, resolve_paths
from kgattn.pipeline.rundir import ShardedOutput, barrier, clean_stale_temporaries, read_json
from kgattn.pipeline.stages import (ENTITY_TYPE, NODE_TYPE, Context, link_options, load_model,
                                    mentions_from_arrow)


def _linked_shards(path: Path, split: str, shard_rows: int) -> Iterator[tuple[int, pa.Table]]:
    """The rows of one split of the linked corpus, renumbered, cut into exact shards."""
    pending, rows, index = [], 0, 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65536, columns=["id", "text", "split", "mentions"]):
        table = pa.Table.from_batches([batch])
        table = table.filter(pc.equal(table.column("split"), split))
        if table.num_rows:
            pending.append(table)
            rows += table.num_rows
        while rows >= shard_rows:
            merged = pa.concat_tables(pending)
            yield index, merged.slice(0, shard_rows)
            index += 1
            pending = [merged.slice(shard_rows)]
            rows = pending[0].num_rows
    if rows:
        yield index, pa.concat_tables(pending)


def prediction_table(ids: list[str], batches: list, classes: dict[str, list], kg) -> pa.Table:
    """Rows ``id, <task>, <task>_proba (struct class->prob), entities, top_nodes``."""
    columns: dict[str, Any] = {"id": pa.array(ids, pa.string())}
    for task, names in classes.items():
        labels = [str(y) for b in batches for y in b.labels[task]]
        columns[task] = pa.array(labels, pa.string())
        probs = [p for b in batches for p in b.probabilities[task].tolist()]
        fields = [pa.field(str(c), pa.float32()) for c in names]
        columns[f"{task}_proba"] = pa.StructArray.from_arrays(
            [pa.array([p[j] for p in probs], pa.float32()) for j in range(len(names))], fields=fields) \
            if probs else pa.array([], pa.struct(fields))
    entities = [[{"start": m.start, "end": m.end, "text": m.text,
                  "node_id": kg.node_id(m.node) if m.node is not None else None,
                  "label": kg.label(m.node) if m.node is not None else None} for m in ms]
                for b in batches for ms in b.mentions]
    nodes = [[{"node_id": kg.node_id(n.node), "label": n.label, "weight": n.weight} for n in ns]
             for b in batches for ns in b.top_nodes]
    columns["entities"] = pa.array(entities, pa.list_(ENTITY_TYPE))
    columns["top_nodes"] = pa.array(nodes, pa.list_(NODE_TYPE))
    return pa.table(columns)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def input_files(spec) -> list[tuple[str, Path]]:
    """``(key, path)`` of every existing file the run reads: corpus, graph, prediction input."""
    out: list[tuple[str, Path]] = []
    for i, source in enumerate(spec.kg.source_list):
        prefix = "kg" if spec.kg.sources is None else f"kg.sources.{i}"
        out += [(f"{prefix}.{name}", Path(value)) for name, value in (("path", source.path), ("names", source.names))
                if value is not None]
    groups = [("corpus.paths", spec.corpus.paths)]
    if spec.predict.input is not None:
        groups.append(("predict.input.paths", spec.predict.input.paths))
    for key, patterns in groups:
        for pattern in patterns:
            try:
                out.extend((key, p) for p in resolve_paths([pattern]))
            except Exception:  # a missing input is reported by check_resources, not here
                out.append((key, Path(pattern)))
    return out


def output_conflicts(spec) -> list[str]:
    """Problems with ``predict.output``: it must not be (or resolve to) a file the run reads,
    nor an existing directory."""
    output = spec.predict.output
    if output is None:
        return []
    output = Path(output)
    problems = [f"predict.output: {output} is the input file {path} ({key}); writing it would destroy "
                "the input: choose another output path"
                for key, path in input_files(spec) if _same_file(output, path)]
    if output.is_dir():
        problems.append(f"predict.output: {output} is a directory; give a file name")
    return problems


def predict_stage(ctx: Context) -> dict:
    ps = ctx.spec.predict
    conflicts = output_conflicts(ctx.spec)
    if conflicts:
        raise ConfigError(conflicts[0])
    folder = ctx.run.stage("predict")
    fmt = ps.resolved_format
    final = Path(ps.output or folder / f"predictions.{fmt}")
    inside = final.resolve().is_relative_to(ctx.run.path.resolve())
    if inside and not final.resolve().is_relative_to(folder.resolve()):
        # e.g. link/linked.parquet, the input of this very stage, or the trained model
        raise ConfigError(f"predict.output: {final} lies in the run directory {ctx.run.path} outside its "
                          "predict/ folder; writing it could replace what the run reads: choose another path")
    if ps.input is not None:
        reader = CorpusReader.from_spec(ps.input, with_labels=False)
        shards, total_hint, source = reader.shards(ps.shard_rows), reader.count_rows(), reader.fingerprint()
    else:
        linked = ctx.run.path / "link" / "linked.parquet"
        total_hint = sum(pc.sum(pc.equal(b.column("split"), "test")).as_py() or 0
                         for b in pq.ParquetFile(linked).iter_batches(columns=["split"]))
        shards, source = _linked_shards(linked, "test", ps.shard_rows), {"linked": read_json(ctx.run.marker("link"))}
    model_marker = read_json(ctx.run.marker("train"))
    out = ShardedOutput(folder, {"key": ctx.spec.stage_key("predict"), "input": source,
                                 "model": model_marker.get("finished_at"), "shard_rows": ps.shard_rows})
    if ctx.rank == 0:
        # What a kill during an earlier final merge left beside the output. The output itself is
        # not touched: it is replaced atomically once this run's predictions are complete, and
        # the stage marker (not the file's presence) says whether it is this run's.
        clean_stale_temporaries(final)
    model = None
    classes: dict[str, list] = model_marker["classes"]
    num_shards, total, first_row = 0, 0, 0
    with ctx.bar(total_hint, "predict") as bar:
        for index, table in shards:
            num_shards, total = index + 1, total + table.num_rows
            if index % ctx.world == ctx.rank and not out.is_done(index):
                model = model or load_model(ctx)
                texts = table.column("text").to_pylist()
                mentions = (mentions_from_arrow(table.column("mentions")) if "mentions" in table.column_names
                            else [list(ms) for ms in ctx.linker.link_batch(texts, **link_options(ctx))])
                batches = list(model.predict_batches(texts, mentions, top_k=ps.top_nodes))
                result = prediction_table(table.column("id").to_pylist(), batches, classes, ctx.kg)
                if result.num_rows != table.num_rows:
                    raise RuntimeError(f"shard {index}: {result.num_rows} predictions for {table.num_rows} rows")
                out.write(index, first_row, result)
            first_row += table.num_rows
            bar.update(table.num_rows)
    barrier()
    ranks = {}
    if ctx.rank == 0:
        ranks = out.merge(final, fmt, num_shards, total)
        ctx.log(f"predictions: {total} rows -> {final}")
    barrier()
    return {"output": str(final), "format": fmt, "rows": total, "shards": num_shards, "shards_per_rank": ranks}
