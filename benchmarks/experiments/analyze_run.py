"""Tables for benchmarks/RESULTS.md from an evaluate run dir (any data set): metrics.json plus the
paired comparisons of shuffled / graph-removed / the knowledge baselines against no-graph (not in
metrics.json, which compares every variant with the full model), with kgattn.evaluation.stats.
Usage: .venv/bin/python benchmarks/experiments/analyze_run.py runs/<name>-<hash>"""
import json, sys
from pathlib import Path
import numpy as np
from kgattn.evaluation.stats import paired_bootstrap_ci, permutation_test, mcnemar_exact
from kgattn.evaluation.metrics import correctness

run = Path(sys.argv[1])
m = json.loads((run / "evaluate/metrics.json").read_text())
preds = {p.stem: json.loads(p.read_text()) for p in (run / "evaluate/predictions").glob("*.json")}
seeds = m["seeds"]
out = {}
for task, tm in m["tasks"].items():
    gold = None
    print(f"\n### {task}\n")
    print("| variant | accuracy % (mean ± std) | macro-F1 % (mean ± std) | per seed acc % |")
    print("|---|---|---|---|")
    for v, vm in tm["variants"].items():
        a, f = vm["accuracy"], vm["macro_f1"]
        print(f"| {v} | {100*a['mean']:.1f} ± {100*a['std']:.1f} | {100*f['mean']:.1f} ± {100*f['std']:.1f} | "
              + ", ".join(f"{100*x:.1f}" for x in a["values"]) + " |")
    print("\n| comparison | diff (points) | 95% CI | sign-flip p | McNemar p per seed |")
    print("|---|---|---|---|---|")
    for k, p in tm["paired"].items():
        b = p["bootstrap"]
        print(f"| {k} | {100*b['diff']:+.1f} | [{100*b['low']:+.1f}, {100*b['high']:+.1f}] | "
              f"{p['permutation']['p_value']:.3g} | " + ", ".join(f"s{s}: {q['p_value']:.3g}" for s, q in p['mcnemar_per_seed'].items()) + " |")
    # shuffled vs no-graph, same statistics as the pipeline's (seed 0 of the bootstrap)
    ids = preds[f"full-seed{seeds[0]}"]["ids"]
    import pyarrow.parquet as pq
    t = pq.read_table(run / "link/linked.parquet", filters=[("split", "=", m.get("split", "test"))]).to_pydict()
    gmap = dict(zip(t["id"], t[task])); gold = [gmap[i] for i in ids]
    out[task] = {}
    for va, vb in (("shuffled_graph", "no_graph"), ("graph_removed", "no_graph"),
                   ("knowledge_as_text", "no_graph"), ("graph_features", "no_graph")):
        common = [s for s in seeds if f"{va}-seed{s}" in preds and f"{vb}-seed{s}" in preds]
        if not common:
            continue
        ca = {s: correctness(gold, preds[f"{va}-seed{s}"]["predictions"][task]) for s in common}
        cb = {s: correctness(gold, preds[f"{vb}-seed{s}"]["predictions"][task]) for s in common}
        a, b = np.mean(list(ca.values()), axis=0), np.mean(list(cb.values()), axis=0)
        bs, pm = paired_bootstrap_ci(a, b, 10000, 0.95, 0), permutation_test(a, b, 10000, 0)
        mc = {s: mcnemar_exact(ca[s], cb[s])["p_value"] for s in common}
        print(f"| {va}_vs_{vb} | {100*bs['diff']:+.1f} | [{100*bs['low']:+.1f}, {100*bs['high']:+.1f}] | "
              f"{pm['p_value']:.3g} | " + ", ".join(f"s{s}: {q:.3g}" for s, q in mc.items()) + " |")
        out[task][f"{va}_vs_{vb}"] = {"seeds": common, "bootstrap": bs, "permutation": pm, "mcnemar_per_seed": mc}
print("\nseconds per run:", json.dumps(m["seconds"]))
(run / "evaluate/extra_paired.json").write_text(json.dumps(out, indent=1))
