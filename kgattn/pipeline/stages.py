"""The four pipeline stages and the components they are built from.

``link``
    imports the graph once (saved under ``kg/``), reads the corpus in shards, links every text
    and writes ``link/linked.parquet`` (the corpus columns plus ``mentions``) and
    ``link/stats.json``.
``train``
    trains the classifier on the train split (val split for model selection) and saves it
    to ``train/model/``.
``evaluate``
    the with/without-graph study (see :mod:`kgattn.evaluation.ablations`) on the test (or
    val) split: ``evaluate/metrics.json``, ``report.md``, ``report.html``.
``predict``
    streams the prediction input (default: the test split) in shards through the trained
    model: one row per input row, exactly once, Parquet or JSONL.

Link and predict are sharded: each shard's output is written atomically with a done marker
(:class:`~kgattn.pipeline.rundir.ShardedOutput`), so an interrupted stage resumes at the
first unfinished shard; under ``torchrun`` rank ``r`` takes the shards ``i % world == r``.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kgattn.errors import CorpusError
from kgattn.linking.types import Candidate, Mention
from kgattn.pipeline.corpus import CorpusReader
from kgattn.pipeline.rundir import RunDir, ShardedOutput, atomic_path, barrier, dist_info, write_json
from kgattn.pipeline.spec import PipelineSpec

STAGES = ("link", "train", "evaluate", "predict")
#: Stages that must be finished before a stage runs (run first when missing).
REQUIRES = {"link": (), "train": ("link",), "evaluate": ("link", "train"), "predict": ("link", "train")}


def requirements(spec: PipelineSpec) -> dict[str, tuple[str, ...]]:
    """:data:`REQUIRES` for this spec. A pseudonymised evaluation trains every model it compares
    on the renamed texts itself, so the train stage's model (fitted on the plain texts) would be
    trained for nothing: there evaluate needs only the link stage."""
    if spec.evaluate.pseudonymize:
        return {**REQUIRES, "evaluate": ("link",)}
    return REQUIRES

CANDIDATE_TYPE = pa.struct([("node", pa.int64()), ("score", pa.float32())])
MENTION_TYPE = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()),
                          ("node", pa.int64()), ("node_id", pa.string()), ("label", pa.string()),
                          ("ner_label", pa.string()), ("candidates", pa.list_(CANDIDATE_TYPE))])
ENTITY_TYPE = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()),
                         ("node_id", pa.string()), ("label", pa.string())])
NODE_TYPE = pa.struct([("node_id", pa.string()), ("label", pa.string()), ("weight", pa.float32())])


# ---------------------------------------------------------------------------------- components
class Components:
    """Factories for the graph, linker and classifier; the defaults build kgattn's own.

    Anything with these five methods will do (:class:`kgattn.pipeline.protocols.ComponentsLike`);
    the tests pass fast doubles (``tests/doubles.py``).
    """

    def import_kg(self, spec):
        """Build the graph the ``kg`` section names (:func:`kgattn.specs.graph.import_graph`)."""
        from kgattn.specs.graph import import_graph

        return import_graph(spec)

    def load_kg(self, directory: Path):
        from kgattn.graph import KnowledgeGraph

        return KnowledgeGraph.load(directory)

    def make_linker(self, kg, spec: PipelineSpec):
        return spec.linker.build(kg, spec.model.backbone)

    def make_classifier(self, kg, linker, spec: PipelineSpec, **overrides):
        from kgattn.api import KGClassifier

        params = {**spec.model.model_dump(), **spec.features.model_dump(), **spec.train.model_dump()}
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        if local_world > 1 and "TORCHELASTIC_RUN_ID" in os.environ:
            # Under torchrun every rank runs this same code: train with DDP over the ranks
            # (Lightning joins the torchrun group) unless the spec says otherwise.
            if params["devices"] == "auto":
                params["devices"] = local_world
                params["num_nodes"] = max(1, int(os.environ.get("WORLD_SIZE", local_world)) // local_world)
            if params["strategy"] == "auto":
                params["strategy"] = "ddp"
        params.update(overrides)
        return KGClassifier(kg=kg, linker=linker, **params)

    def load_classifier(self, directory: Path, kg, linker):
        from kgattn.api import KGClassifier

        return KGClassifier.load(directory, kg=kg, linker=linker)


# ---------------------------------------------------------------------------------- context
def _log(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


@dataclass
class Context:
    """What every stage needs: the spec, the run directory, components, progress settings."""

    spec: PipelineSpec
    run: RunDir
    components: Any = field(default_factory=Components)
    progress: bool = True
    log: Callable[[str], None] = _log
    command: str | None = None

    @property
    def rank(self) -> int:
        return dist_info()[0]

    @property
    def world(self) -> int:
        return dist_info()[1]

    @cached_property
    def kg(self):
        """The graph, imported once per run and reloaded from ``kg/graph`` afterwards."""
        folder = self.run.path / "kg"
        key = self.spec.section_hash("kg")
        for source in (s.path for s in self.spec.kg.source_list):
            if source is not None and source.exists() and source.is_file():
                key += f"-{source.stat().st_size}-{source.stat().st_mtime_ns}"
        if self.run.is_done("kg", key):
            try:
                return self.components.load_kg(folder / "graph")
            except (KeyError, OSError, ValueError) as exc:
                # A copy saved by another kgattn version: it is a cache, so rebuild it.
                self.log(f"cannot reload the saved graph ({type(exc).__name__}: {exc}); importing again")
            barrier()
        if self.rank == 0:
            what = " + ".join(str(s.importer or s.path) for s in self.spec.kg.source_list)
            self.log(f"importing the knowledge graph ({what})")
            kg = self.components.import_kg(self.spec.kg)
            with atomic_path(folder / "graph") as tmp:
                kg.save(tmp)
            self.run.mark_done("kg", key, num_nodes=kg.num_nodes, num_edges=kg.num_edges,
                               num_relations=kg.num_relations)
        barrier()
        return self.components.load_kg(folder / "graph")

    @cached_property
    def linker(self):
        return self.components.make_linker(self.kg, self.spec)

    def bar(self, total: int | None, desc: str):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="rows", disable=not self.progress or self.rank != 0,
                    file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


# ---------------------------------------------------------------------------------- mentions <-> Arrow
def mentions_to_arrow(mentions: list[list[Mention]], kg) -> pa.Array:
    rows = [[{"start": m.start, "end": m.end, "text": m.text, "node": m.node,
              "node_id": kg.node_id(m.node) if m.node is not None else None,
              "label": kg.label(m.node) if m.node is not None else None, "ner_label": m.ner_label,
              "candidates": [{"node": c.node, "score": c.score} for c in m.candidates]}
             for m in ms] for ms in mentions]
    return pa.array(rows, pa.list_(MENTION_TYPE))


def mentions_from_arrow(column) -> list[list[Mention]]:
    return [[Mention(m["start"], m["end"], m["text"],
                     tuple(Candidate(int(c["node"]), float(c["score"])) for c in m["candidates"] or ()),
                     m["node"], m["ner_label"]) for m in ms or ()]
            for ms in column.to_pylist()]


# ---------------------------------------------------------------------------------- link
def corpus_reader(ctx: Context) -> CorpusReader:
    """The corpus reader; a built-in data set is first prepared as Parquet under ``link/``."""
    spec = ctx.spec.corpus
    if spec.dataset is None:
        return CorpusReader.from_spec(spec)
    from kgattn.pipeline.prepare import prepare_corpus

    out = ctx.run.path / "link" / f"{spec.dataset}.parquet"
    if not out.is_file():
        if ctx.rank == 0:
            ctx.log(f"preparing the {spec.dataset} corpus -> {out}")
            prepare_corpus(spec.dataset, out, spec.dataset_dir)
        barrier()
    return CorpusReader.from_spec(spec.model_copy(update={"paths": [out], "format": "parquet"}))


def link_options(ctx: Context) -> dict:
    ls = ctx.spec.linker
    return {"batch_size": ls.batch_size, **({"n_process": ls.n_process} if ls.n_process > 1 else {})}


def link_stage(ctx: Context) -> dict:
    reader = corpus_reader(ctx)
    folder = ctx.run.stage("link")
    shard_rows = ctx.spec.corpus.shard_rows
    out = ShardedOutput(folder, {"key": ctx.spec.stage_key("link"), "input": reader.fingerprint(),
                                 "kg": ctx.kg.fingerprint, "shard_rows": shard_rows})
    kg, link_args = ctx.kg, link_options(ctx)
    final = folder / "linked.parquet"
    if ctx.rank == 0 and final.exists():
        final.unlink()   # written again below; a stale one must not look like this run's
    num_shards, total, first_row = 0, 0, 0
    with ctx.bar(reader.count_rows(), "link") as bar:
        for index, table in reader.shards(shard_rows):
            num_shards, total = index + 1, total + table.num_rows
            if index % ctx.world == ctx.rank and not out.is_done(index):
                texts = table.column("text").to_pylist()
                mentions = [list(ms) for ms in ctx.linker.link_batch(texts, **link_args)]
                if len(mentions) != len(texts):
                    raise RuntimeError(f"the linker returned {len(mentions)} results for {len(texts)} texts")
                out.write(index, first_row, table.append_column("mentions", mentions_to_arrow(mentions, kg)))
            first_row += table.num_rows
            bar.update(table.num_rows)
    barrier()
    if ctx.rank == 0:
        ranks = out.merge(final, "parquet", num_shards, total)
        stats = corpus_stats(final, list(ctx.spec.corpus.labels))
        write_json(folder / "stats.json", stats)
        ctx.log(f"linked {total} rows: {stats['texts_with_entity']:.1%} with an entity, "
                f"{stats['mentions_per_text']:.2f} mentions per text")
    barrier()
    return {"rows": total, "shards": num_shards, **({"shards_per_rank": ranks} if ctx.rank == 0 else {})}


def corpus_stats(path: Path, tasks: list[str]) -> dict:
    """Rows per split, labels per task and split, and linking coverage of a linked corpus."""
    stats: dict[str, Any] = {"rows": 0, "splits": {}, "labels": {t: {} for t in tasks}}
    with_entity = mentions = linked = 0
    for batch in pq.ParquetFile(path).iter_batches(columns=["split", "mentions", *tasks]):
        stats["rows"] += batch.num_rows
        for split, count in zip(*_value_counts(batch.column("split"))):
            stats["splits"][split] = stats["splits"].get(split, 0) + count
        for task in tasks:
            for key, count in zip(*_value_counts(pc.binary_join_element_wise(
                    batch.column("split"), batch.column(task), "\t"))):
                split, label = key.split("\t", 1)
                per = stats["labels"][task].setdefault(split, {})
                per[label] = per.get(label, 0) + count
        lengths = pc.list_value_length(batch.column("mentions"))
        with_entity += pc.sum(pc.greater(lengths, 0)).as_py() or 0
        mentions += pc.sum(lengths).as_py() or 0
        flat = pc.list_flatten(batch.column("mentions"))
        if len(flat):
            linked += len(flat) - flat.field("node").null_count
    n = max(stats["rows"], 1)
    stats.update(texts_with_entity=with_entity / n, mentions_per_text=mentions / n,
                 mentions=mentions, linked_mentions=linked,
                 nil_rate=(1 - linked / mentions) if mentions else 0.0)
    return stats


def _value_counts(array) -> tuple[list, list]:
    counts = pc.value_counts(array)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


# ---------------------------------------------------------------------------------- train
@dataclass(frozen=True)
class SplitData:
    ids: list[str]
    texts: list[str]
    labels: dict[str, list[str]]
    mentions: list[list[Mention]]

    def __len__(self) -> int:
        return len(self.texts)


def load_split(ctx: Context, split: str) -> SplitData:
    """One split of the linked corpus, in memory (training sets are; corpora to predict are not)."""
    tasks = list(ctx.spec.corpus.labels)
    table = pq.read_table(ctx.run.path / "link" / "linked.parquet",
                          columns=["id", "text", "split", "mentions", *tasks], filters=[("split", "=", split)])
    cap = ctx.spec.corpus.max_train_rows
    if split == "train" and cap is not None and table.num_rows > cap:
        keep = np.sort(np.random.default_rng(ctx.spec.corpus.seed).permutation(table.num_rows)[:cap])
        table = table.take(keep)
    return SplitData(table.column("id").to_pylist(), table.column("text").to_pylist(),
                     {t: table.column(t).to_pylist() for t in tasks}, mentions_from_arrow(table.column("mentions")))


def fit_classifier(ctx: Context, train: SplitData, val: SplitData | None, kg=None, **overrides):
    """Train the spec's classifier (with ``overrides``) on ``train``; ``kg`` replaces the run's
    graph (the pseudonymised evaluation trains on a rewritten one)."""
    if len(train) == 0:
        raise CorpusError("the train split is empty; check corpus.split_column / split_ratios")
    overrides.setdefault("progress_bar", ctx.progress and ctx.rank == 0)   # Lightning's bar
    if kg is None or kg is ctx.kg:
        clf = ctx.components.make_classifier(ctx.kg, ctx.linker, ctx.spec, **overrides)
    else:  # every text comes with its mentions: no linker is needed for another graph
        clf = ctx.components.make_classifier(kg, None, ctx.spec, **overrides)
    val_arg = (val.texts, val.labels, val.mentions) if val is not None and len(val) else None
    return clf.fit(train.texts, train.labels, val=val_arg, mentions=train.mentions)


def train_stage(ctx: Context) -> dict:
    folder = ctx.run.stage("train")
    train, val = load_split(ctx, "train"), load_split(ctx, "val")
    ctx.log(f"training on {len(train)} texts ({len(val)} for validation)")
    start = time.perf_counter()
    clf = fit_classifier(ctx, train, val)
    seconds = time.perf_counter() - start
    if ctx.rank == 0:
        with atomic_path(folder / "model") as tmp:
            clf.save(tmp)
    barrier()
    return {"n_train": len(train), "n_val": len(val), "fit_seconds": round(seconds, 2),
            "classes": {t: [str(c) for c in v] for t, v in clf.classes_.items()}}


def load_model(ctx: Context):
    return ctx.components.load_classifier(ctx.run.path / "train" / "model", ctx.kg, ctx.linker)
