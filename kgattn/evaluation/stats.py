"""Paired statistics of two models on the same examples.

Given per-example scores :math:`a_i, b_i` (0/1 correctness, or correctness averaged over seeds)
and differences :math:`d_i = a_i - b_i`:

- paired bootstrap: resample examples with replacement, :math:`B` times, and take the
  percentile interval of :math:`\\bar d^{*}`;
- McNemar's exact test (binary scores): under H0 the discordant pairs split as
  :math:`\\mathrm{Binomial}(n_{01} + n_{10}, 1/2)`; two-sided p from ``scipy.stats.binomtest``;
- sign-flip permutation test (any scores): under H0 each :math:`d_i` is symmetric around 0, so
  :math:`p = (1 + \\#\\{|\\bar d^{\\pi}| \\ge |\\bar d|\\}) / (1 + P)` over :math:`P` random sign flips.

The three above resample or permute *examples*; none sees how much a training run varies with
its seed. :func:`seed_t_interval` is that other half: a Student-t interval of the mean of the
per-seed metric differences :math:`\\delta_s`, :math:`\\bar\\delta \\pm t_{S-1}\\, s_\\delta / \\sqrt S`
(wide with few seeds: :math:`t_2 = 4.30`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest, t as student_t


def _paired(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need equal 1-D shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("paired statistics need at least one example")
    return a - b


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 10000,
                        confidence: float = 0.95, seed: int = 0, chunk: int = 1000) -> dict:
    """Percentile bootstrap interval of ``mean(a - b)`` resampling examples (pairs kept together)."""
    d = _paired(a, b)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, chunk):  # chunks bound memory at chunk x n indices
        stop = min(start + chunk, n_boot)
        idx = rng.integers(0, d.size, size=(stop - start, d.size))
        means[start:stop] = d[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return {"diff": float(d.mean()), "low": float(lo), "high": float(hi),
            "confidence": confidence, "n": int(d.size), "n_boot": n_boot}


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> dict:
    """Exact McNemar test on binary correctness; p = 1 when no pair is discordant."""
    a, b = np.asarray(a), np.asarray(b)
    _paired(a, b)
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("McNemar's test needs 0/1 correctness")
    only_a = int(((a == 1) & (b == 0)).sum())
    only_b = int(((a == 0) & (b == 1)).sum())
    n = only_a + only_b
    p = 1.0 if n == 0 else float(binomtest(only_a, n, 0.5, alternative="two-sided").pvalue)
    return {"p_value": p, "only_a": only_a, "only_b": only_b}


def permutation_test(a: Sequence[float], b: Sequence[float], n_perm: int = 10000, seed: int = 0,
                     chunk: int = 1000) -> dict:
    """Two-sided sign-flip permutation test of ``mean(a - b) == 0``."""
    d = _paired(a, b)
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, n_perm, chunk):
        stop = min(start + chunk, n_perm)
        signs = rng.choice((-1.0, 1.0), size=(stop - start, d.size))
        # A small tolerance so ties with the observed statistic count as extreme despite rounding.
        extreme += int((np.abs((signs * d).mean(axis=1)) >= observed - 1e-12).sum())
    return {"p_value": (1 + extreme) / (1 + n_perm), "diff": float(d.mean()), "n_perm": n_perm}


def seed_t_interval(diffs: Sequence[float], confidence: float = 0.95) -> dict:
    """Student-t interval of the mean per-seed difference; ``low``/``high`` are None with one seed."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"seed_t_interval needs a non-empty 1-D list of differences, got shape {d.shape}")
    mean = float(d.mean())
    if d.size < 2:
        return {"diff": mean, "low": None, "high": None, "confidence": confidence, "seeds": 1}
    half = float(student_t.ppf(0.5 + confidence / 2.0, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return {"diff": mean, "low": mean - half, "high": mean + half, "confidence": confidence, "seeds": int(d.size)}
