"""Paired comparisons across run dirs with the same test split (kgattn.evaluation.stats).
Usage: .venv/bin/python benchmarks/experiments/compare_runs.py OUT.json RUN_A:VARIANT_A RUN_B:VARIANT_B [...pairs]"""
import json, sys
from pathlib import Path
import numpy as np, pyarrow.parquet as pq
from kgattn.evaluation.stats import paired_bootstrap_ci, permutation_test
from kgattn.evaluation.metrics import correctness

def load(spec):
    run, variant = spec.rsplit(":", 1); run = Path(run)
    t = pq.read_table(run / "link/linked.parquet", filters=[("split", "=", "test")]).to_pydict()
    out = {}
    for s in (0, 1, 2):
        f = run / f"evaluate/predictions/{variant}-seed{s}.json"
        if f.exists():
            d = json.loads(f.read_text())
            gold = {task: [dict(zip(t["id"], t[task]))[i] for i in d["ids"]] for task in d["predictions"]}
            out[s] = {task: correctness(gold[task], d["predictions"][task]) for task in gold}
    return out

res = {}
args = sys.argv[2:]
for a, b in zip(args[::2], args[1::2]):
    A, B = load(a), load(b)
    seeds = sorted(set(A) & set(B))
    for task in sorted(A[seeds[0]]):
        x = np.mean([A[s][task] for s in seeds], axis=0); y = np.mean([B[s][task] for s in seeds], axis=0)
        bs, pm = paired_bootstrap_ci(x, y, 10000, 0.95, 0), permutation_test(x, y, 10000, 0)
        key = f"{a} - {b} [{task}]"
        res[key] = {"seeds": seeds, "mean_a": float(x.mean()), "mean_b": float(y.mean()), "bootstrap": bs, "permutation": pm}
        print(f"{key}: {100*bs['diff']:+.1f} [{100*bs['low']:+.1f}, {100*bs['high']:+.1f}] p={pm['p_value']:.3g} (a {100*x.mean():.1f}, b {100*y.mean():.1f}, seeds {seeds})")
Path(sys.argv[1]).write_text(json.dumps(res, indent=1))
