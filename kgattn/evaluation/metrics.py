"""Classification metrics (scikit-learn): accuracy, macro-F1, per-class P/R/F1, confusion matrix."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from kgattn.errors import LabelError


def classification_metrics(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> dict:
    """Metrics of one task on one evaluation set.

    ``labels`` fixes the class order (default: sorted union of true and predicted labels); a
    class never predicted gets precision 0 (scikit-learn's ``zero_division=0``).

    Returns ``{"n", "accuracy", "macro_f1", "per_class": {label: {precision, recall, f1,
    support}}, "confusion": {"labels", "matrix"}}`` (matrix rows: true, columns: predicted).
    """
    y_true, y_pred = [str(y) for y in y_true], [str(y) for y in y_pred]
    if len(y_true) != len(y_pred):
        raise LabelError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not y_true:
        raise LabelError("no examples to evaluate")
    labels = [str(c) for c in labels] if labels is not None else sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    # Macro-F1 over the classes present in the gold labels: a class absent from the evaluation
    # set would otherwise count as a free 0 and depend on which split was drawn.
    present = [c for c in labels if c in set(y_true)]
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for c, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion": {"labels": labels,
                      "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def correctness(y_true: Sequence, y_pred: Sequence) -> np.ndarray:
    """Per-example 0/1 correctness, the input of the paired statistics."""
    return np.asarray([str(a) == str(b) for a, b in zip(y_true, y_pred, strict=True)], dtype=np.float64)


def mean_std(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) over seeds."""
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "n": int(arr.size), "values": [float(v) for v in arr]}
