"""How much can the graph tell about a CoNLL mention's type? (issue 14: why the pseudonymised linked
slice gains +0.8 and not +5.)

For the test mentions whose [bracketed] span overlaps a mention linked to an *entity* node (the
linked slice of ``macro_f1_paired.py --slice linked``), three classifiers that see no text at all:

* ``node_purity``: the best any node-level rule can do, an oracle that predicts each node's most
  frequent gold type *over the test mentions themselves* (CoNLL types a node by its use:
  "Germany" is LOC in politics and ORG as a football team).
* ``graph_only``: logistic regression on the linked node's relation bag (``out:r`` / ``in:r`` for
  every incident edge, plus its node types), trained on the training split's linked mentions:
  the knowledge the graph holds about the entity, read by the simplest model.
* ``seen_node``: the training mentions' majority type for the node when the node occurs in
  training (what a text-only model can learn from the one invented name a node keeps in every
  split), else nothing (counted wrong).

Usage: .venv/bin/python benchmarks/experiments/graph_ceiling.py RUN_DIR TASK OUT.json [VARIANT ...]
Variants (e.g. ``full no_graph``) are scored on the same slice from ``evaluate/predictions``.
"""
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from conll_slices import bracket_entity_node   # this folder: python puts a script's folder on sys.path

from kgattn.evaluation.entities import entity_nodes
from kgattn.graph import KnowledgeGraph

run, task, out, variants = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
kg = KnowledgeGraph.load(run / "kg" / "graph")
entity = entity_nodes(kg)
table = pq.read_table(run / "link/linked.parquet").to_pydict()


def features(node: int) -> dict:
    """Presence of each relation on the node's edges (``out:r`` / ``in:r``) and of its types."""
    bag = {f"{d}:{kg.relation_names[r]}" for d in ("out", "in") for r in kg.neighbors(node, d)[1].tolist()}
    return dict.fromkeys(bag | {f"type:{t}" for t in kg.types(node)}, 1.0)


rows = defaultdict(list)   # split -> [(id, node, gold)]
for i, text, split, gold, ms in zip(table["id"], table["text"], table["split"], table[task], table["mentions"]):
    node = bracket_entity_node(text, ms, entity)
    if node is not None:
        rows[split].append((i, node, gold))

train, test = rows["train"], rows["test"]
gold = [g for _, _, g in test]
labels = sorted(set(gold) | {g for _, _, g in train})
result = {"run": str(run), "task": task, "test_gold_counts": dict(sorted(Counter(gold).items())),
          "n_train_linked": len(train), "n_test_linked": len(test),
          "test_nodes": len({n for _, n, _ in test}),
          "test_nodes_seen_in_training": len({n for _, n, _ in test} & {n for _, n, _ in train})}


def score(pred) -> dict:
    per_class = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    return {"macro_f1": round(100 * float(per_class.mean()), 2), "accuracy": round(100 * accuracy_score(gold, pred), 2),
            "f1": {c: round(100 * float(f), 1) for c, f in zip(labels, per_class)}}


by_node = defaultdict(Counter)
for _, n, g in test:
    by_node[n][g] += 1
result["node_purity"] = score([by_node[n].most_common(1)[0][0] for _, n, _ in test])

vec = DictVectorizer()
x_train = vec.fit_transform([features(n) for _, n, _ in train])
clf = LogisticRegression(max_iter=2000, C=1.0).fit(x_train, [g for _, _, g in train])
result["graph_only"] = score(list(clf.predict(vec.transform([features(n) for _, n, _ in test]))))

train_majority = defaultdict(Counter)
for _, n, g in train:
    train_majority[n][g] += 1
result["seen_node"] = score([train_majority[n].most_common(1)[0][0] if n in train_majority else "-"
                             for _, n, _ in test])
result["test_mentions_of_seen_nodes"] = sum(n in train_majority for _, n, _ in test)

store = run / "evaluate" / "predictions"
position = None
for variant in variants:
    per_seed = {}
    for path in sorted(store.glob(f"{variant}-seed*.json")):
        data = json.loads(path.read_text())
        position = position or {i: k for k, i in enumerate(data["ids"])}
        per_seed[path.stem] = score([data["predictions"][task][position[i]] for i, _, _ in test])
    if per_seed:
        result[variant] = {"per_seed": per_seed, **{f"mean_{k}": round(float(np.mean(
            [s[k] for s in per_seed.values()])), 2) for k in ("macro_f1", "accuracy")},
            "mean_f1": {c: round(float(np.mean([s["f1"][c] for s in per_seed.values()])), 1) for c in labels}}

Path(out).parent.mkdir(parents=True, exist_ok=True)
Path(out).write_text(json.dumps(result, indent=1) + "\n")
print(json.dumps(result, indent=1))
