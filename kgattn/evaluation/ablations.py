"""With/without-graph evaluation: train the variants for every seed, predict, summarise.

What each variant trains and how it is scored is declared once, in the registry of
:mod:`kgattn.evaluation.variants` (``full``, ``no_graph``, ``shuffled_graph``, ``graph_removed``,
``knowledge_as_text``, ``graph_features`` and ``graph_features_removed`` are built in). The model
architecture is the same in all of them. Scored-only variants (``graph_removed``: the ``full``
model evaluated with the graph removed at inference) reuse a trained variant's model.

The study is resumable: each (variant, seed, size) run stores its predictions as JSON
(atomically) and a rerun skips runs whose predictions exist.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kgattn.evaluation.metrics import classification_metrics, correctness, mean_std
from kgattn.evaluation.stats import mcnemar_exact, paired_bootstrap_ci, permutation_test, seed_t_interval
from kgattn.evaluation.variants import (REMOVAL_SWITCH, get_variant, ordered_variants, removed_counterpart,
                                        scored_only_names, variant_title)
from kgattn.persistence import write_json

__all__ = ["Examples", "Study", "StudyHooks", "ordered_variants", "run_name", "run_study", "summarize",
           "training_size"]


@dataclass(frozen=True)
class Examples:
    """Texts with their labels per task and, optionally, pre-linked mentions."""

    ids: list[str]
    texts: list[str]
    labels: dict[str, list[str]]
    mentions: list | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int]) -> "Examples":
        return Examples([self.ids[i] for i in index], [self.texts[i] for i in index],
                        {t: [v[i] for i in index] for t, v in self.labels.items()},
                        None if self.mentions is None else [self.mentions[i] for i in index])


class StudyHooks(Protocol):
    """How the study trains and predicts a variant (by its registered name);
    :class:`kgattn.evaluation.variants.ClassifierHooks` implements it over any classifier."""

    def train(self, variant: str, seed: int, train: Examples, val: Examples | None) -> Any: ...

    def predict(self, model: Any, data: Examples, use_graph: bool) -> dict[str, list[str]]: ...


@dataclass
class Study:
    """The runs of one evaluation: ``runs[name] = {variant, seed, size, predictions}``."""

    tasks: list[str]
    classes: dict[str, list[str]]
    gold: dict[str, list[str]]
    ids: list[str]
    runs: dict[str, dict] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)


def run_name(variant: str, seed: int, size: int | None = None) -> str:
    return f"{variant}-seed{seed}" + (f"-n{size}" if size is not None else "")


def training_size(size: float, n_train: int) -> int:
    """Rows for a configured size: values <= 1 are fractions of the training set."""
    rows = int(round(size * n_train)) if size <= 1 else int(size)
    return max(1, min(rows, n_train))


def run_study(hooks: StudyHooks, train: Examples, val: Examples | None, test: Examples, *,
              variants: Sequence[str], seeds: Sequence[int], train_sizes: Sequence[float] = (),
              curve_variants: Sequence[str] = ("full", "no_graph"), store: Path | None = None,
              classes: dict[str, list[str]] | None = None,
              reuse: Callable[[str, int], Any | None] | None = None,
              settings: Mapping[str, dict] | None = None,
              progress: Callable[[str], None] | None = None) -> Study:
    """Train and predict every (variant, seed) and learning-curve point.

    Args:
        store: folder for per-run prediction files (resume); None keeps nothing on disk.
        reuse: ``reuse(variant, seed)`` may return an already trained model (the train stage's)
            to avoid training it again.
        classes: class order per task (default: sorted labels of train).
        settings: per variant, the options its training depends on beyond the run directory's
            hash (the knowledge-as-text options); stored with its predictions, and a stored run
            made with other settings is trained again rather than reused.
    """
    tasks = list(test.labels)
    classes = classes or {t: sorted(set(train.labels[t])) for t in tasks}
    study = Study(tasks=tasks, classes=classes, gold=test.labels, ids=test.ids)
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)

    seconds: dict[str, dict] = {}

    settings = settings or {}

    def cached(name: str, variant: str) -> dict | None:
        path = store / f"{name}.json" if store is not None else None
        if path is not None and path.is_file():
            data = json.loads(path.read_text())
            if data.get("ids") == test.ids and data.get("settings", {}) == settings.get(variant, {}):
                seconds[name] = data.get("seconds", {})
                return data["predictions"]
            if progress:
                progress(f"{path.name}: stored for other test ids or settings; {name} runs again")
        return None

    def save(name: str, variant: str, predictions: dict, timing: dict) -> None:
        seconds[name] = timing
        if store is not None:
            record = {"ids": test.ids, "predictions": predictions, "seconds": timing}
            if settings.get(variant):
                record["settings"] = settings[variant]
            write_json(store / f"{name}.json", record)

    def one(variant: str, seed: int, data: Examples, size: int | None, also_removed: bool) -> None:
        name = run_name(variant, seed, size)
        removed_variant = removed_counterpart(variant) if also_removed else None
        removed = run_name(removed_variant, seed, size) if removed_variant else None
        preds = cached(name, variant)
        preds_removed = cached(removed, variant) if also_removed else None
        if preds is None or (also_removed and preds_removed is None):
            model = reuse(variant, seed) if (reuse is not None and size is None) else None
            if progress:
                progress(f"{'reusing the trained' if model is not None else 'training'} {name} "
                         f"({len(data)} examples)")
            start = time.perf_counter()
            reused = model is not None
            if model is None:
                model = hooks.train(variant, seed, data, val)
            trained = time.perf_counter()
            preds = hooks.predict(model, test, use_graph=get_variant(variant).graph_at_inference)
            done = time.perf_counter()
            save(name, variant, preds, {"train": "reused" if reused else round(trained - start, 2),
                                        "predict": round(done - trained, 2)})
            if also_removed:
                preds_removed = hooks.predict(model, test, use_graph=False)
                save(removed, variant, preds_removed, {"predict": round(time.perf_counter() - done, 2)})
            if variant == "full" and size is None:
                study.models[name] = model
        study.runs[name] = {"variant": variant, "seed": seed, "size": size, "predictions": preds,
                            "seconds": seconds.get(name, {})}
        if also_removed:
            study.runs[removed] = {"variant": removed_variant, "seed": seed, "size": size,
                                   "predictions": preds_removed, "seconds": seconds.get(removed, {})}

    trained = [v for v in variants if get_variant(v).trained]
    for seed in seeds:
        for variant in trained:
            one(variant, seed, train, None, REMOVAL_SWITCH in variants and removed_counterpart(variant) is not None)
    n_full = len(train)
    for size in train_sizes:
        rows = training_size(size, n_full)
        if rows == n_full:
            continue  # the main runs already are this point of the curve
        for seed in seeds:
            # Nested subsets per seed: a larger size always contains the smaller ones.
            order = np.random.default_rng(seed).permutation(n_full)
            subset = train.subset(sorted(order[:rows].tolist()))
            for variant in curve_variants:
                if get_variant(variant).trained:
                    one(variant, seed, subset, rows, False)
    return study


def summarize(study: Study, *, n_train: int, bootstrap: int = 10000, permutations: int = 10000,
              confidence: float = 0.95, seed: int = 0) -> dict:
    """Metrics per task and variant (mean/std over seeds), paired comparisons, learning curves."""
    out: dict[str, Any] = {"tasks": {}, "n_eval": len(study.ids), "n_train": n_train}
    main = {k: r for k, r in study.runs.items() if r["size"] is None}
    variants = ordered_variants({r["variant"] for r in main.values()})
    seeds = sorted({r["seed"] for r in main.values()})
    for task in study.tasks:
        gold, labels = study.gold[task], study.classes[task]
        task_out: dict[str, Any] = {"classes": labels, "variants": {}, "paired": {}, "learning_curve": {}}
        correct: dict[str, dict[int, np.ndarray]] = {}
        for variant in variants:
            per_seed = []
            for s in seeds:
                run = main.get(run_name(variant, s))
                if run is None:
                    continue
                preds = run["predictions"][task]
                metrics = classification_metrics(gold, preds, labels)
                per_seed.append({"seed": s, **metrics})
                correct.setdefault(variant, {})[s] = correctness(gold, preds)
            pooled = np.mean(list(correct[variant].values()), axis=0)
            # Interval of the accuracy itself over examples (seeds averaged): meaningful even
            # with one seed, where the std over seeds is 0.
            ci = paired_bootstrap_ci(pooled, np.zeros_like(pooled), bootstrap, confidence, seed)
            task_out["variants"][variant] = {
                "title": variant_title(variant),
                "accuracy": mean_std([m["accuracy"] for m in per_seed]),
                "accuracy_ci": {"low": ci["low"], "high": ci["high"], "confidence": confidence},
                "macro_f1": mean_std([m["macro_f1"] for m in per_seed]),
                "per_class": {c: {k: mean_std([m["per_class"][c][k] for m in per_seed])["mean"]
                                  for k in ("precision", "recall", "f1")}
                              | {"support": per_seed[0]["per_class"][c]["support"]} for c in labels},
                "per_seed": per_seed,
            }
        for other in variants:
            if other == "full" or "full" not in correct or other not in correct:
                continue
            common = sorted(set(correct["full"]) & set(correct[other]))
            a = np.mean([correct["full"][s] for s in common], axis=0)
            b = np.mean([correct[other][s] for s in common], axis=0)
            task_out["paired"][f"full_vs_{other}"] = {
                "a": "full", "b": other, "seeds": common,
                "bootstrap": paired_bootstrap_ci(a, b, bootstrap, confidence, seed),
                "permutation": permutation_test(a, b, permutations, seed),
                "mcnemar_per_seed": {str(s): mcnemar_exact(correct["full"][s], correct[other][s])
                                     for s in common},
                # The bootstrap above averages the seeds away; this is their spread.
                "seed_t_interval": seed_t_interval(
                    [float(correct["full"][s].mean() - correct[other][s].mean()) for s in common], confidence),
            }
        curve: dict[str, dict[int, list[float]]] = {}
        for run in study.runs.values():
            if run["variant"] in scored_only_names():
                continue
            size = run["size"] if run["size"] is not None else n_train
            acc = float(correctness(gold, run["predictions"][task]).mean())
            curve.setdefault(run["variant"], {}).setdefault(size, []).append(acc)
        if any(r["size"] is not None for r in study.runs.values()):
            task_out["learning_curve"] = {
                v: {str(n): mean_std(accs) for n, accs in sorted(points.items())}
                for v, points in curve.items() if len(points) > 1}
        out["tasks"][task] = task_out
    out["seeds"] = seeds
    out["variants"] = variants
    out["seconds"] = {name: run.get("seconds", {}) for name, run in study.runs.items()}
    return out
