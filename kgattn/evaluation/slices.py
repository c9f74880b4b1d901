r"""Slices of an evaluation set: where the graph can matter and where it cannot.

A mean over all test examples mixes examples the graph says something about with examples it
says nothing about. The report therefore also scores every variant on these slices:

* ``all``: every example;
* ``linked`` / ``unlinked``: at least one mention linked to a node, or none;
* ``seen`` / ``unseen``: among the linked examples, those with at least one linked node that is
  also linked in some *training* example (the model may have learnt that node's meaning from
  labels), and those whose linked nodes were never linked in training (only the graph can tell
  what they are) -- ``seen`` and ``unseen`` partition ``linked``;
* ``label=<y>``: the examples whose gold label is ``y`` (there accuracy is the recall of ``y``).

``nodes`` (optional bool [N], e.g. :func:`~kgattn.graph.entities.entity_nodes`) restricts
which linked nodes count ("linked entity"), and ``spans`` (one ``(start, end)`` per example, e.g.
the bracketed mention of CoNLL mention typing) restricts which mentions count to those
overlapping the span, so ``linked`` can mean "the mention to classify is linked".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from kgattn.errors import LabelError
from kgattn.evaluation.metrics import classification_metrics


def _field(m, name: str):
    return m[name] if isinstance(m, Mapping) else getattr(m, name)


def linked_nodes(mentions: Sequence, nodes: np.ndarray | None = None, span: tuple[int, int] | None = None) -> set[int]:
    """The nodes linked by one example's mentions (NIL skipped), filtered by ``nodes`` and ``span``."""
    out = set()
    for m in mentions or ():
        node = _field(m, "node")
        if node is None or (nodes is not None and not nodes[int(node)]):
            continue
        if span is not None and not (_field(m, "start") < span[1] and span[0] < _field(m, "end")):
            continue
        out.add(int(node))
    return out


def training_nodes(mentions: Iterable[Sequence], nodes: np.ndarray | None = None,
                   spans: Sequence[tuple[int, int]] | None = None) -> set[int]:
    """Every node linked in some training example (the ``seen`` set)."""
    out: set[int] = set()
    for i, ms in enumerate(mentions):
        out |= linked_nodes(ms, nodes, spans[i] if spans is not None else None)
    return out


def slice_masks(mentions: Sequence[Sequence], train_nodes: Iterable[int], labels: Sequence | None = None, *,
                nodes: np.ndarray | None = None, spans: Sequence[tuple[int, int]] | None = None
                ) -> dict[str, np.ndarray]:
    """bool [n] masks ``{slice: mask}`` over ``n`` examples (see the module docstring).

    Args:
        mentions: per example, its mentions (:class:`~kgattn.linking.Mention` or mappings with
            ``node``, ``start``, ``end``).
        train_nodes: nodes linked in training (:func:`training_nodes`).
        labels: gold labels; adds one ``label=<y>`` slice per label (sorted).
        nodes, spans: which nodes and mentions count (module docstring).
    """
    n = len(mentions)
    if spans is not None and len(spans) != n:
        raise LabelError(f"{len(spans)} spans for {n} examples")
    seen_set = set(int(v) for v in train_nodes)
    linked = np.zeros(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    for i, ms in enumerate(mentions):
        found = linked_nodes(ms, nodes, spans[i] if spans is not None else None)
        linked[i] = bool(found)
        seen[i] = bool(found & seen_set)
    masks = {"all": np.ones(n, dtype=bool), "linked": linked, "unlinked": ~linked,
             "seen": linked & seen, "unseen": linked & ~seen}
    if labels is not None:
        if len(labels) != n:
            raise LabelError(f"{len(labels)} labels for {n} examples")
        gold = np.asarray([str(y) for y in labels], dtype=object)
        for y in sorted(set(gold.tolist())):
            masks[f"label={y}"] = gold == y
    return masks


def slice_metrics(y_true: Sequence, predictions: Mapping[str, Sequence], mentions: Sequence[Sequence],
                  train_nodes: Iterable[int], *, nodes: np.ndarray | None = None,
                  spans: Sequence[tuple[int, int]] | None = None, per_label: bool = True) -> dict:
    """``{slice: {variant: {"accuracy", "macro_f1", "n"}}}``, JSON-ready.

    ``predictions`` maps a variant name (``"full"``, ``"no_graph"``...) to its predicted labels,
    one per example of ``y_true``. Metrics come from
    :func:`~kgattn.evaluation.metrics.classification_metrics` (macro-F1 over the gold labels
    present in the slice); an empty slice gives ``None`` for both scores and ``n = 0``.
    """
    y_true = [str(y) for y in y_true]
    n = len(y_true)
    if len(mentions) != n:
        raise LabelError(f"{len(mentions)} mention lists for {n} gold labels")
    for variant, pred in predictions.items():
        if len(pred) != n:
            raise LabelError(f"variant {variant!r}: {len(pred)} predictions for {n} gold labels")
    masks = slice_masks(mentions, train_nodes, y_true if per_label else None, nodes=nodes, spans=spans)
    classes = sorted(set(y_true).union(*({str(p) for p in pred} for pred in predictions.values())))
    out: dict[str, dict] = {}
    for name, mask in masks.items():
        idx = np.flatnonzero(mask)
        out[name] = {}
        for variant, pred in predictions.items():
            if not idx.size:
                out[name][variant] = {"accuracy": None, "macro_f1": None, "n": 0}
                continue
            m = classification_metrics([y_true[i] for i in idx], [str(pred[i]) for i in idx], labels=classes)
            out[name][variant] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"]}
    return out


def study_slices(study, train_mentions: Sequence[Sequence], test_mentions: Sequence[Sequence]) -> dict:
    """Slice metrics of every full-size run of a study, averaged over seeds:
    ``{task: {slice: {variant: {"accuracy", "macro_f1", "n", "seeds"}}}}``.

    ``train_mentions``/``test_mentions``: the linked mentions of the training and test examples
    (a test example's entity is "seen" when it is linked in some training example).
    """
    train_nodes = training_nodes(train_mentions)
    out: dict[str, dict] = {}
    for task in study.tasks:
        per_seed: dict[int, dict[str, list]] = {}
        for run in study.runs.values():
            if run["size"] is None:
                per_seed.setdefault(run["seed"], {})[run["variant"]] = run["predictions"][task]
        merged: dict[str, dict] = {}
        for preds in per_seed.values():
            for name, by_variant in slice_metrics(study.gold[task], preds, test_mentions, train_nodes).items():
                for variant, m in by_variant.items():
                    merged.setdefault(name, {}).setdefault(variant, []).append(m)
        out[task] = {name: {variant: _mean_metrics(ms) for variant, ms in by_variant.items()}
                     for name, by_variant in merged.items()}
    return out


def _mean_metrics(ms: list[dict]) -> dict:
    scored = [m for m in ms if m["n"]]
    mean = (lambda key: float(np.mean([m[key] for m in scored]))) if scored else (lambda key: None)
    return {"accuracy": mean("accuracy"), "macro_f1": mean("macro_f1"), "n": ms[0]["n"], "seeds": len(ms)}
