"""Seed-level view of paired comparisons: the per-seed accuracy (or macro-F1) differences and a
95% t-interval over seeds.

The pipeline's bootstrap resamples test examples with the seeds averaged, so it leaves out how
much a training run varies with its seed; this interval is the other half (with 3 seeds it is
wide: t(2) = 4.30). Pairs are RUN_A:VARIANT_A RUN_B:VARIANT_B, seeds matched by number.

    .venv/bin/python benchmarks/experiments/seed_level.py OUT.json TASK [--macro-f1] RUN_A:VAR_A RUN_B:VAR_B [...]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.stats import ttest_1samp

from kgattn.evaluation.metrics import classification_metrics
from kgattn.evaluation.stats import seed_t_interval


def per_seed(spec: str, task: str, macro: bool) -> dict[int, float]:
    run, variant = spec.rsplit(":", 1)
    run = Path(run)
    t = pq.read_table(run / "link/linked.parquet", columns=["id", task], filters=[("split", "=", "test")]).to_pydict()
    gold_of = dict(zip(t["id"], t[task]))
    out = {}
    for f in sorted((run / "evaluate/predictions").glob(f"{variant}-seed*.json")):
        seed = f.stem.rsplit("-seed", 1)[1]
        if not seed.isdigit():
            continue  # a learning-curve run (-nSIZE)
        d = json.loads(f.read_text())
        gold = [gold_of[i] for i in d["ids"]]
        pred = d["predictions"][task]
        m = classification_metrics(gold, pred, sorted(set(gold)))
        out[int(seed)] = m["macro_f1"] if macro else m["accuracy"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("task")
    ap.add_argument("pairs", nargs="+")
    ap.add_argument("--macro-f1", action="store_true")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        ap.error("pairs come as RUN_A:VARIANT_A RUN_B:VARIANT_B")
    result = {}
    for a, b in zip(args.pairs[::2], args.pairs[1::2]):
        A, B = per_seed(a, args.task, args.macro_f1), per_seed(b, args.task, args.macro_f1)
        seeds = sorted(set(A) & set(B))
        diffs = np.array([A[s] - B[s] for s in seeds]) * 100
        st = seed_t_interval(diffs)
        mean = st["diff"]
        low, high = (float("nan"), float("nan")) if st["low"] is None else (st["low"], st["high"])
        p = float(ttest_1samp(diffs, 0.0).pvalue) if len(seeds) > 1 else float("nan")
        key = f"{a} - {b} [{args.task}{' macro-F1' if args.macro_f1 else ''}]"
        result[key] = {"seeds": seeds, "per_seed": diffs.round(2).tolist(), "mean": mean,
                       "t_interval": [low, high], "t_test_p": p}
        print(f"{key}: per seed {', '.join(f'{d:+.1f}' for d in diffs)}; mean {mean:+.2f}, "
              f"95% t-interval [{low:+.1f}, {high:+.1f}], p = {p:.2f}")
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
