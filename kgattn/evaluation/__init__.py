"""Evaluation with and without the graph: metrics, paired statistics, the ablation study, reports.

    from kgattn.evaluation import run_study, summarize, write_report

The variants (what each trains, how it is scored) live in one registry,
:mod:`kgattn.evaluation.variants`. Names load lazily, so that reading the registry (the spec
does, to validate ``evaluate.variants``) does not import scikit-learn, SciPy or matplotlib.
This package imports neither :mod:`kgattn.pipeline` nor :mod:`kgattn.api`.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Examples": "kgattn.evaluation.ablations",
    "Study": "kgattn.evaluation.ablations",
    "run_study": "kgattn.evaluation.ablations",
    "summarize": "kgattn.evaluation.ablations",
    "classification_metrics": "kgattn.evaluation.metrics",
    "correctness": "kgattn.evaluation.metrics",
    "mean_std": "kgattn.evaluation.metrics",
    "write_report": "kgattn.evaluation.report",
    "headline_table": "kgattn.evaluation.headline",
    "mcnemar_exact": "kgattn.evaluation.stats",
    "paired_bootstrap_ci": "kgattn.evaluation.stats",
    "permutation_test": "kgattn.evaluation.stats",
    "Variant": "kgattn.evaluation.variants",
    "ClassifierHooks": "kgattn.evaluation.variants",
    "register_variant": "kgattn.evaluation.variants",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kgattn.evaluation' has no attribute {name!r}")
