"""Evaluation with and without the graph: metrics, paired statistics, the ablation study, reports.

    from kgattn.evaluation import run_study, summarize, write_report
"""
from kgattn.evaluation.ablations import Examples, Study, run_study, summarize
from kgattn.evaluation.metrics import classification_metrics, correctness, mean_std
from kgattn.evaluation.report import write_report
from kgattn.evaluation.stats import mcnemar_exact, paired_bootstrap_ci, permutation_test

__all__ = ["Examples", "Study", "classification_metrics", "correctness", "mcnemar_exact", "mean_std",
           "paired_bootstrap_ci", "permutation_test", "run_study", "summarize", "write_report"]
