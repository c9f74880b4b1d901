"""Paired bootstrap of the macro-F1 difference between two variants of one run dir (issue 6's CoNLL
target is in macro-F1; the pipeline's paired statistics are on accuracy). Each resample draws the
test examples with replacement; macro-F1 (over the gold classes) is computed per seed on the
resample and averaged over the seeds both variants have.
Usage: .venv/bin/python benchmarks/experiments/macro_f1_paired.py RUN_DIR TASK OUT.json A:B [A:B ...] [--slice linked|unlinked|unlinked_with_entity|unlinked_no_entity]

``--slice linked`` keeps the test examples whose [bracketed] mention (CoNLL mention typing) overlaps a
mention linked to an *entity* node of the run's graph (``kgattn.evaluation.entities.entity_nodes``),
the slice of issue 14's pseudonymised target; ``unlinked`` the rest, split further into
``unlinked_with_entity`` (another mention of the sentence links an entity) and ``unlinked_no_entity``
(``conll_slices.mention_slice``). Linking is read from the plain
texts: the pseudonymised texts' renamed mentions link back to the same nodes (checked exactly)."""
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from kgattn.evaluation.stats import seed_t_interval

args = sys.argv[1:]
slice_name = None
if "--slice" in args:
    k = args.index("--slice")
    slice_name = args[k + 1]
    del args[k:k + 2]
run, task, out, pairs = Path(args[0]), args[1], args[2], args[3:]
t = pq.read_table(run / "link/linked.parquet", filters=[("split", "=", "test")]).to_pydict()
gold_of = dict(zip(t["id"], t[task]))
preds = {p.stem: json.loads(p.read_text()) for p in (run / "evaluate/predictions").glob("*.json")}
ids = next(iter(preds.values()))["ids"]
keep = np.ones(len(ids), dtype=bool)
if slice_name is not None:
    from conll_slices import SLICES, mention_slice   # this folder: python puts a script's folder on sys.path

    from kgattn.evaluation.entities import entity_nodes
    from kgattn.graph import KnowledgeGraph

    entity = entity_nodes(KnowledgeGraph.load(run / "kg" / "graph"))
    row = {i: k for k, i in enumerate(t["id"])}

    if slice_name not in SLICES:
        sys.exit(f"--slice must be one of {', '.join(SLICES)}, got {slice_name!r}")
    names = np.array([mention_slice(t["text"][row[i]], t["mentions"][row[i]], entity) for i in ids])
    keep = np.char.startswith(names, "unlinked") if slice_name == "unlinked" else names == slice_name
    print(f"slice {slice_name}: {int(keep.sum())} of {len(ids)} test examples")
classes = sorted(set(gold_of[i] for i in ids))
index = {c: k for k, c in enumerate(classes)}
gold = np.array([index[gold_of[i]] for i in ids])[keep]


def codes(name):
    return np.array([index.get(y, -1) for y in preds[name]["predictions"][task]])[keep]


def macro_f1(g, p):
    k = len(classes)
    tp = np.bincount(g[p == g], minlength=k).astype(float)
    fp = np.bincount(p[(p != g) & (p >= 0)], minlength=k).astype(float)
    fn = np.bincount(g[p != g], minlength=k).astype(float)
    denom = 2 * tp + fp + fn
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


rng = np.random.default_rng(0)
samples = [rng.integers(0, len(gold), len(gold)) for _ in range(2000)]
res = {}
for pair in pairs:
    a, b = pair.split(":")
    seeds = sorted(s for s in range(10) if f"{a}-seed{s}" in preds and f"{b}-seed{s}" in preds)
    if not seeds:
        print(f"{a} - {b}: no seed has both variants; skipped")
        continue
    A = [codes(f"{a}-seed{s}") for s in seeds]
    B = [codes(f"{b}-seed{s}") for s in seeds]
    point = np.mean([macro_f1(gold, x) for x in A]) - np.mean([macro_f1(gold, y) for y in B])
    diffs = [np.mean([macro_f1(gold[i], x[i]) for x in A]) - np.mean([macro_f1(gold[i], y[i]) for y in B])
             for i in samples]
    low, high = np.percentile(diffs, [2.5, 97.5])
    per_seed = {s: macro_f1(gold, x) - macro_f1(gold, y) for s, x, y in zip(seeds, A, B)}
    seed_level = seed_t_interval(list(per_seed.values()))
    res[f"{a} - {b}"] = {"seeds": seeds, "macro_f1_diff": point, "low": low, "high": high, "per_seed": per_seed,
                         "seed_t_interval": seed_level, "slice": slice_name or "all", "n": int(len(gold)),
                         "macro_f1_a": float(np.mean([macro_f1(gold, x) for x in A])),
                         "macro_f1_b": float(np.mean([macro_f1(gold, y) for y in B]))}
    # Accuracy on the same resamples: on a slice where one class is rare (MISC: 65 of 2,870 linked
    # test mentions) macro-F1 moves with a handful of examples, accuracy with all of them.
    acc = lambda g, p: float(np.mean(g == p))  # noqa: E731
    acc_diffs = [np.mean([acc(gold[i], x[i]) for x in A]) - np.mean([acc(gold[i], y[i]) for y in B]) for i in samples]
    res[f"{a} - {b}"].update(
        accuracy_a=float(np.mean([acc(gold, x) for x in A])), accuracy_b=float(np.mean([acc(gold, y) for y in B])),
        accuracy_low=float(np.percentile(acc_diffs, 2.5)), accuracy_high=float(np.percentile(acc_diffs, 97.5)),
        accuracy_per_seed={s: acc(gold, x) - acc(gold, y) for s, x, y in zip(seeds, A, B)})
    t_text = (f"; seed-level t [{100 * seed_level['low']:+.2f}, {100 * seed_level['high']:+.2f}]"
              if seed_level["low"] is not None else "")
    print(f"{a} - {b}: macro-F1 {100 * point:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}] seeds {seeds}; per seed "
          + ", ".join(f"{100 * v:+.2f}" for v in per_seed.values()) + t_text)
    r = res[f"{a} - {b}"]
    print(f"    accuracy {100 * (r['accuracy_a'] - r['accuracy_b']):+.2f} [{100 * r['accuracy_low']:+.2f}, "
          f"{100 * r['accuracy_high']:+.2f}] ({100 * r['accuracy_a']:.2f} vs {100 * r['accuracy_b']:.2f}); per seed "
          + ", ".join(f"{100 * v:+.2f}" for v in r["accuracy_per_seed"].values()))
Path(out).write_text(json.dumps(res, indent=1, default=float) + "\n")
