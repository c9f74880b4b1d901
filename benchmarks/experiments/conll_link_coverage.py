"""How the gold CoNLL mention (the [bracketed] span) is linked, per label, on the test split.
Usage (repository root): .venv/bin/python benchmarks/experiments/conll_link_coverage.py RUN_DIR CORPUS OUT.json
e.g. runs/conll_1000-6c9dbc2786f3 runs/data/conll_1000.parquet benchmarks/results/experiments/conll_1000_linking.json"""
import collections
import json
import sys

import pyarrow.parquet as pq

run, corpus, out = sys.argv[1:4]
rows = pq.read_table(f"{run}/link/linked.parquet", filters=[("split", "=", "test")]).to_pylist()
src = {r["id"]: r for r in pq.read_table(corpus).to_pylist()}
overall, per_label, exact, spans = collections.Counter(), collections.defaultdict(collections.Counter), 0, 0
for r in rows:
    s = src[r["id"]]
    a, b = s["mention_start"], s["mention_end"]
    linked = [m for m in r["mentions"] if m.get("node_id")]
    spans += len(linked)
    hit = [m for m in linked if m["start"] < b and m["end"] > a]   # linked spans overlapping the gold one
    exact += any(m["start"] == a and m["end"] == b for m in hit)
    kind = ("freebase entity" if any(m["node_id"].startswith("/m/") for m in hit)
            else "wordnet synset only" if hit else "nothing linked")
    overall[kind] += 1
    per_label[s["label"]][kind] += 1
n = len(rows)
res = {"test_mentions": n, "linked_spans_per_sentence": spans / n, "gold_span_linked_exactly": exact / n,
       "gold_span_overlap": {k: v / n for k, v in overall.items()},
       "per_label": {lab: {"n": sum(c.values()), **{k: v / sum(c.values()) for k, v in c.items()}}
                     for lab, c in sorted(per_label.items())}}
open(out, "w").write(json.dumps(res, indent=1) + "\n")
print(json.dumps(res, indent=1))
