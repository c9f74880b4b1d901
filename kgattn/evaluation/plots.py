"""Report figures (matplotlib, Agg backend), each returned as PNG bytes.

Every function takes the plain dicts of ``metrics.json`` (see :func:`ablations.summarize`),
so a report can be redrawn from the JSON alone.
"""
from __future__ import annotations

import io
import textwrap

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # no display on servers; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kgattn.evaluation.variants import ordered_variants  # noqa: E402

_COLORS = {"full": "#1f77b4", "no_graph": "#ff7f0e", "shuffled_graph": "#2ca02c",
           "graph_removed": "#9467bd"}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def accuracy_bars(task_metrics: dict, task: str) -> bytes:
    """Accuracy per variant: bar = mean over seeds, error bar = bootstrap interval over examples,
    dots = single seeds."""
    variants = ordered_variants(task_metrics["variants"])
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(variants), 3.4))
    for i, v in enumerate(variants):
        m = task_metrics["variants"][v]
        mean, ci = m["accuracy"]["mean"], m["accuracy_ci"]
        ax.bar(i, mean, color=_COLORS.get(v, "#7f7f7f"), width=0.65)
        ax.errorbar(i, mean, yerr=[[mean - ci["low"]], [ci["high"] - mean]], color="black", capsize=5)
        ax.scatter([i] * len(m["accuracy"]["values"]), m["accuracy"]["values"], color="black", s=10, zorder=3)
        ax.text(i, min(ci["high"] + 0.02, 1.02), f"{mean:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(variants)), [v.replace("_", "\n") for v in variants], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    conf = task_metrics["variants"][variants[0]]["accuracy_ci"]["confidence"]
    ax.set_title(f"{task}: accuracy ({conf:.0%} bootstrap interval)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def learning_curves(task_metrics: dict, task: str) -> bytes:
    """Accuracy against training-set size per variant (mean, shaded +-1 std over seeds)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for v in ordered_variants(task_metrics["learning_curve"]):
        points = task_metrics["learning_curve"][v]
        ordered = sorted(points.items(), key=lambda kv: int(kv[0]))   # JSON keys sort as strings
        sizes = np.array([int(n) for n, _ in ordered])
        mean = np.array([p["mean"] for _, p in ordered])
        std = np.array([p["std"] for _, p in ordered])
        ax.plot(sizes, mean, marker="o", label=v, color=_COLORS.get(v))
        ax.fill_between(sizes, mean - std, mean + std, alpha=0.2, color=_COLORS.get(v))
    ax.set_xscale("log")
    sizes = sorted({int(n) for points in task_metrics["learning_curve"].values() for n in points})
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.set_xlabel("training examples")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{task}: learning curves", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def confusion(labels: list[str], matrix: list[list[int]], title: str) -> bytes:
    """Row-normalised confusion matrix (rows: true class), counts written in the cells."""
    m = np.asarray(matrix, dtype=float)
    rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    size = min(2.5 + 0.45 * len(labels), 14)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    if len(labels) <= 20:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if m[i, j]:
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    return _png(fig)


def attention_example(example: dict) -> bytes:
    """Top attended nodes of one text (from ``KGClassifier.explain``): horizontal bars.

    ``example``: ``{"text", "prediction", "nodes": [{"label", "weight"}...], "entities": [...]}``.
    """
    nodes = example.get("nodes", [])[:12]
    fig, ax = plt.subplots(figsize=(6.0, 0.9 + 0.32 * max(len(nodes), 1)))
    if nodes:
        names = [textwrap.shorten(str(n.get("label")), 40) for n in nodes][::-1]
        weights = [float(n.get("weight", 0.0)) for n in nodes][::-1]
        ax.barh(range(len(nodes)), weights, color=_COLORS["full"])
        ax.set_yticks(range(len(nodes)), names, fontsize=8)
        ax.set_xlabel("attention weight")
    else:
        ax.text(0.5, 0.5, "no node attended (no entity linked)", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(textwrap.fill(f"\u201c{example.get('text', '')}\u201d", 80), fontsize=8)
    return _png(fig)
