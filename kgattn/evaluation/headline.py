"""The evaluation's headline as a plain-text table, for the terminal (``kgattn run`` ends with it).

One block per task: every variant's accuracy with its interval over test examples, its
macro-F1, and the paired difference ``full − variant`` in accuracy with its bootstrap interval
(seeds averaged per example), all in points. The numbers are those of ``metrics.json``
(:func:`kgattn.evaluation.ablations.summarize`); nothing is recomputed.
"""
from __future__ import annotations

from kgattn.evaluation.variants import ordered_variants


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _interval(low: float | None, high: float | None) -> str:
    return "–" if low is None or high is None else f"[{_pct(low)}, {_pct(high)}]"


def headline_table(metrics: dict) -> str:
    """The table (see the module docstring) as lines of text without trailing spaces."""
    blocks = []
    seeds = ", ".join(map(str, metrics.get("seeds", [])))
    for task, tm in metrics.get("tasks", {}).items():
        conf = next((vm["accuracy_ci"].get("confidence", 0.95) for vm in tm["variants"].values()), 0.95)
        head = ["variant", "accuracy", f"{conf:.0%} interval", "macro-F1", "full − variant", f"{conf:.0%} interval"]
        rows = [head]
        for v in ordered_variants(tm["variants"]):
            vm = tm["variants"][v]
            ci = vm["accuracy_ci"]
            paired = tm.get("paired", {}).get(f"full_vs_{v}")
            diff = paired["bootstrap"] if paired else None
            rows.append([v, _pct(vm["accuracy"]["mean"]), _interval(ci["low"], ci["high"]), _pct(vm["macro_f1"]["mean"]),
                         "" if diff is None else f"{100 * diff['diff']:+.1f}",
                         "" if diff is None else _interval(diff["low"], diff["high"])])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        title = (f"task {task}: {metrics.get('n_eval', '?')} {metrics.get('split', 'test')} examples, "
                 f"seed{'s' if len(metrics.get('seeds', [])) != 1 else ''} {seeds}; accuracy and differences in points")
        lines = [title] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
