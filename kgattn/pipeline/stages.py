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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kgattn.errors import ConfigError, CorpusError
from kgattn.linking.types import Candidate, Mention
from kgattn.pipeline.corpus import CorpusReader
from kgattn.pipeline.rundir import RunDir, ShardedOutput, atomic_path, barrier, dist_info, read_json, write_json
from kgattn.pipeline.spec import PipelineSpec

STAGES = ("link", "train", "evaluate", "predict")
#: Stages that must be finished before a stage runs (run first when missing).
REQUIRES = {"link": (), "train": ("link",), "evaluate": ("link", "train"), "predict": ("link", "train")}

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

    Tests pass :class:`kgattn.pipeline.testing.FakeComponents` instead.
    """

    def import_kg(self, spec):
        """Build the graph described by the ``kg`` section (or by one of its ``sources``).

        Several sources are imported one by one and united (:meth:`KnowledgeGraph.union`).
        """
        from kgattn.graph import KnowledgeGraph

        if getattr(spec, "sources", None) is not None:
            graphs = [self._import_source(source, f"kg.sources.{i}") for i, source in enumerate(spec.sources)]
            prefixes = [source.prefix for source in spec.sources]
            return KnowledgeGraph.union(graphs, prefixes if any(prefixes) else None,
                                        relations=spec.relations or "shared")
        return self._import_source(spec, "kg")

    def _import_source(self, spec, key: str):
        from kgattn.graph import KnowledgeGraph

        if spec.importer == "wordnet":
            from kgattn.datasets.wordnet import wordnet

            return wordnet(spec.path, **spec.import_options())
        if spec.importer == "fb15k237":
            from kgattn.datasets.fb15k237 import fb15k237

            return fb15k237(spec.path, **spec.import_options())
        path = spec.path
        if not path.exists():
            raise ConfigError(f"{key}.path: {path} does not exist")
        if path.is_dir():
            return KnowledgeGraph.load(path)
        if (spec.format or "").lower() in ("tsv", "triples") or (
                spec.format is None and any(s in (".tsv", ".txt") for s in path.suffixes)):
            return KnowledgeGraph.from_triples(path, names=spec.names, **spec.import_options())
        return KnowledgeGraph.from_rdf(path, format=spec.format, **spec.import_options())

    def load_kg(self, directory: Path):
        from kgattn.graph import KnowledgeGraph

        return KnowledgeGraph.load(directory)

    def make_linker(self, kg, spec: PipelineSpec):
        from kgattn.linking import EntityLinker

        ls = spec.linker
        return EntityLinker(kg, nlp=ls.spacy_model, backbone=ls.backbone or spec.model.backbone,
                            **ls.linker_arguments())

    def make_classifier(self, kg, linker, spec: PipelineSpec, **overrides):
        from kgattn.api import KGClassifier

        params = {**spec.model.model_dump(), **spec.features.model_dump(), **spec.train.model_dump()}
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        if local_world > 1 and "TORCHELASTIC_RUN_ID" in os.environ:
            # Under torchrun every rank runs this same code: train with DDP over the ranks
            # (Lightning joins the torchrun group) unless the spec says otherwise.
            if params["devices"] == "auto":
                params["devices"] = local_world
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


def fit_classifier(ctx: Context, train: SplitData, val: SplitData | None, **overrides):
    if len(train) == 0:
        raise CorpusError("the train split is empty; check corpus.split_column / split_ratios")
    overrides.setdefault("progress_bar", ctx.progress and ctx.rank == 0)   # Lightning's bar
    clf = ctx.components.make_classifier(ctx.kg, ctx.linker, ctx.spec, **overrides)
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


# ---------------------------------------------------------------------------------- evaluate
def explanation_dict(explanation, gold: dict | None = None, top_k: int = 8) -> dict:
    """An :class:`~kgattn.explain.Explanation` as the plain dict the report draws: nodes ranked
    by attention averaged over the fusion layers."""
    weights: dict[str, list[float]] = {}
    for layer in explanation.layers:
        for n in layer.top_nodes:
            weights.setdefault(n.label, []).append(n.weight)
    layers = max(len(explanation.layers), 1)
    nodes = sorted(({"label": k, "weight": sum(v) / layers} for k, v in weights.items()),
                    key=lambda n: -n["weight"])[:top_k]
    return {"text": explanation.text, "prediction": {t: str(v) for t, v in explanation.prediction.items()},
            "gold": gold or {},
            "entities": [{"text": m.text, "label": m.label} for m in explanation.mentions],
            "nodes": nodes,
            "layers": [{"layer": l.layer, "gate": l.gate, "null_weight": l.null_weight} for l in explanation.layers]}


class _Hooks:
    """:class:`kgattn.evaluation.ablations.StudyHooks` over the pipeline's components."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def train(self, variant, seed, train, val):
        data = SplitData(train.ids, train.texts, train.labels, train.mentions)
        vdata = SplitData(val.ids, val.texts, val.labels, val.mentions) if val is not None else None
        if variant == "knowledge_as_text":
            es = self.ctx.spec.evaluate
            model = _TextKnowledge(None, self.ctx.kg, es.text_option("text_neighbours"),
                                   es.text_option("text_glosses"))
            data, vdata = model.augment(data), (model.augment(vdata) if vdata is not None else None)
            model.classifier = fit_classifier(self.ctx, data, vdata, seed=seed, use_graph=False,
                                              max_length=es.text_option("text_max_length"))
            return model
        extra = {"fusion": "bag"} if variant == "graph_features" else {}
        return fit_classifier(self.ctx, data, vdata, seed=seed, use_graph=variant != "no_graph",
                              shuffle_graph=variant == "shuffled_graph", **extra)

    def predict(self, model, data, use_graph):
        out = model.predict(data.texts, mentions=data.mentions, use_graph=use_graph)
        return {t: [str(y) for y in out[t]] for t in data.labels}


class _TextKnowledge:
    """The knowledge-as-text baseline: a no-graph classifier whose texts carry the verbalised
    linked knowledge, in training and at prediction."""

    def __init__(self, classifier, kg, neighbours: int, glosses: bool = False):
        self.classifier, self.kg, self.neighbours, self.glosses = classifier, kg, neighbours, glosses

    def texts(self, texts, mentions) -> list[str]:
        from kgattn.graph.verbalize import knowledge_as_text

        return knowledge_as_text(texts, mentions, self.kg, self.neighbours, self.glosses)

    def augment(self, data: SplitData) -> SplitData:
        return SplitData(data.ids, self.texts(data.texts, data.mentions), data.labels, data.mentions)

    def predict(self, texts, mentions, use_graph: bool = False):
        return self.classifier.predict(self.texts(texts, mentions), mentions=mentions, use_graph=False)


def explain_candidates(study, test, seed: int) -> list[int]:
    """Test examples worth explaining, best first: those the full model gets right and the
    no-graph model wrong (where the graph made the difference), then by linked entities."""
    task = study.tasks[0]
    gold = test.labels[task]
    full = study.runs.get(f"full-seed{seed}", {}).get("predictions", {}).get(task)
    base = study.runs.get(f"no_graph-seed{seed}", {}).get("predictions", {}).get(task)

    def score(i: int) -> tuple:
        helped = full is not None and base is not None and full[i] == gold[i] != base[i]
        return (not helped, -sum(m.node is not None for m in test.mentions[i]), i)

    return sorted(range(len(test)), key=score)


def evaluate_stage(ctx: Context) -> dict:
    from kgattn.evaluation.ablations import Examples, run_study, summarize
    from kgattn.evaluation.report import write_report

    es = ctx.spec.evaluate
    folder = ctx.run.stage("evaluate")
    as_examples = lambda d: Examples(d.ids, d.texts, d.labels, d.mentions)  # noqa: E731
    train, val, test = (as_examples(load_split(ctx, s)) for s in ("train", "val", es.split))
    if len(test) == 0:
        raise CorpusError(f"the {es.split} split is empty: nothing to evaluate on")
    classes = read_json(ctx.run.marker("train"))["classes"]
    main_model = None

    def reuse(variant: str, seed: int):
        nonlocal main_model
        if variant == "full" and seed == ctx.spec.train.seed:
            main_model = main_model or load_model(ctx)
            return main_model
        return None

    start = time.perf_counter()
    study = run_study(_Hooks(ctx), train, val if len(val) else None, test, variants=es.variants,
                      seeds=es.seeds, train_sizes=es.train_sizes, curve_variants=es.curve_variants,
                      store=folder / "predictions", classes=classes, reuse=reuse,
                      settings={"knowledge_as_text": es.text_settings()}, progress=ctx.log)
    metrics = summarize(study, n_train=len(train), bootstrap=es.bootstrap, permutations=es.permutations,
                        confidence=es.confidence, seed=0)
    metrics["split"] = es.split
    examples = []
    if es.explain and ctx.rank == 0:
        model = main_model or load_model(ctx)
        for i in explain_candidates(study, test, es.seeds[0])[:es.explain]:
            gold = {t: v[i] for t, v in test.labels.items()}
            examples.append(explanation_dict(model.explain(test.texts[i], mentions=test.mentions[i]), gold))
    metrics["run"] = {"run_dir": str(ctx.run.path), "config_hash": ctx.spec.config_hash,
                      "command": ctx.command, "backbone": ctx.spec.model.backbone,
                      "study_seconds": round(time.perf_counter() - start, 1)}
    if ctx.rank == 0:
        paths = write_report(metrics, folder, examples, title=f"kgattn evaluation: {ctx.spec.name}")
        ctx.log(f"report: {paths['html']}")
    barrier()
    return {"report": str(folder / "report.html"), "metrics": str(folder / "metrics.json")}


# ---------------------------------------------------------------------------------- predict
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


def predict_stage(ctx: Context) -> dict:
    ps = ctx.spec.predict
    folder = ctx.run.stage("predict")
    fmt = ps.resolved_format
    final = ps.output or folder / f"predictions.{fmt}"
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
    if ctx.rank == 0 and final.exists():
        final.unlink()   # an output of an earlier config must not look like this run's
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


STAGE_FUNCS: dict[str, Callable[[Context], dict]] = {
    "link": link_stage, "train": train_stage, "evaluate": evaluate_stage, "predict": predict_stage}
