"""TREC training-size corpora: ``runs/data/trec_<N>.parquet`` with N training questions drawn
uniformly (numpy seed 0) from the official 5,452 train split, 200 validation questions drawn
from the rest whose fine label occurs in the N (the classifier refuses validation labels it
has never seen), and the official 500 TREC-10 test questions. N = 500 reproduces
make_trec_500.py's corpus row for row; a larger N contains the smaller ones' training rows.

    .venv/bin/python benchmarks/experiments/make_trec_subset.py 1000
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

n = int(sys.argv[1])
t = pq.read_table("runs/data/trec_full.parquet").to_pylist()
train = [r for r in t if r["split"] == "train"]
test = [r for r in t if r["split"] == "test"]
order = np.random.default_rng(0).permutation(len(train))
tr = [dict(train[i], split="train") for i in order[:n]]
seen = {r["fine"] for r in tr}
va = [dict(r, split="val") for r in (train[i] for i in order[n:]) if r["fine"] in seen][:200]
out = f"runs/data/trec_{n}.parquet"
pq.write_table(pa.Table.from_pylist(tr + va + test), out)
print(out, len(tr), len(va), len(test), "fine classes in train:", len(seen),
      "test rows with an unseen fine label:", sum(r["fine"] not in seen for r in test))
