"""Priority-2 diagnostic: what the trained full model attends to on the TREC test questions.
Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/experiments/diagnose_attention.py runs/<run dir> [seed]
Loads train/model (the full model, train.seed), predicts the 500 test questions with their
stored mentions, and reports: gates and null-node attention per fusion layer (explain() on 40
questions), how often the most attended node is a linked (seed) node, and examples."""
import json, sys, collections
from pathlib import Path
import numpy as np
import pyarrow.parquet as pq
from kgattn.api import KGClassifier
from kgattn.graph import KnowledgeGraph
from kgattn.pipeline.stages import mentions_from_arrow

run = Path(sys.argv[1])
kg = KnowledgeGraph.load(run / "kg/graph")
clf = KGClassifier.load(run / "train/model", kg=kg)
t = pq.read_table(run / "link/linked.parquet", filters=[("split", "=", "test")])
texts, ids = t.column("text").to_pylist(), t.column("id").to_pylist()
fine = t.column("fine").to_pylist()
mentions = mentions_from_arrow(t.column("mentions"))
batches = list(clf.predict_batches(texts, mentions, top_k=5))
top = [ns for b in batches for ns in b.top_nodes]
pred = [y for b in batches for y in b.labels["fine"]]
preds_dir = run / "evaluate/predictions"
ng = json.loads((preds_dir / "no_graph-seed0.json").read_text())["predictions"]["fine"] if (preds_dir / "no_graph-seed0.json").exists() else None
linked_top1 = linked_in_top5 = n = 0
top_weight = []
for i, ns in enumerate(top):
    seeds = {m.node for m in mentions[i] if m.node is not None}
    if not ns or not seeds:
        continue
    n += 1
    linked_top1 += ns[0].node in seeds
    linked_in_top5 += any(x.node in seeds for x in ns)
    top_weight.append(ns[0].weight)
out = {"questions_with_linked_nodes": n, "top1_is_linked_node": linked_top1 / n,
       "a_linked_node_in_top5": linked_in_top5 / n, "median_top1_weight": float(np.median(top_weight)),
       "fine_accuracy_recomputed": float(np.mean([p == g for p, g in zip(pred, fine)]))}
gates, nulls = collections.defaultdict(list), collections.defaultdict(list)
examples = []
rng = np.random.default_rng(0)
for i in rng.choice(len(texts), 40, replace=False):
    e = clf.explain(texts[i], mentions=mentions[i], top_k=5)
    for l in e.layers:
        gates[l.layer].append(l.gate); nulls[l.layer].append(l.null_weight)
    if len(examples) < 12:
        examples.append({"text": texts[i], "gold": fine[i], "full": str(e.prediction["fine"]),
                         "no_graph": ng[i] if ng else None,
                         "linked": [f"{m.text}->{m.label}" for m in e.mentions],
                         "layers": [{"layer": l.layer, "gate": round(l.gate, 4), "null": round(l.null_weight, 3),
                                     "top": [f"{x.label}:{x.weight:.3f}" for x in l.top_nodes]} for l in e.layers]})
out["gate_per_layer"] = {str(k): float(np.mean(v)) for k, v in gates.items()}
out["null_weight_per_layer_mean"] = {str(k): float(np.mean(v)) for k, v in nulls.items()}
out["examples"] = examples
print(json.dumps(out, indent=1))
