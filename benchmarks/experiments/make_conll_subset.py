"""CoNLL-2003 mention-typing corpora of N training mentions (issue 6, item 2).

From ``runs/data/conll_full.parquet`` (``kgattn corpus prepare conll2003 --out ...``): N training
mentions drawn uniformly (numpy seed 0) from the 23,499 of train.txt, 500 validation mentions
drawn (seed 1) from valid.txt, and the full test.txt (5,648 mentions). Run from the repository root:

    .venv/bin/python benchmarks/experiments/make_conll_subset.py 1000   # -> runs/data/conll_1000.parquet
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

n = int(sys.argv[1])
rows = pq.read_table("runs/data/conll_full.parquet").to_pylist()
by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
train = [by_split["train"][i] for i in sorted(np.random.default_rng(0).permutation(len(by_split["train"]))[:n])]
val = [by_split["val"][i] for i in sorted(np.random.default_rng(1).permutation(len(by_split["val"]))[:500])]
out = f"runs/data/conll_{n}.parquet"
pq.write_table(pa.Table.from_pylist(train + val + by_split["test"]), out)
print(out, len(train), len(val), len(by_split["test"]))
