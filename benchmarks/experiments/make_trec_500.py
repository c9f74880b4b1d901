# Exact copy of this script is in benchmarks/RESULTS.md. Makes the TREC-500 corpus:
# 500 training questions drawn uniformly (numpy seed 0) from the official 5,452 train split,
# 200 validation questions drawn from the remaining 4,952 whose fine label occurs in the 500
# (the classifier refuses validation labels it has never seen), and the official 500 TREC-10 test.
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table("runs/data/trec_full.parquet").to_pylist()
train = [r for r in t if r["split"] == "train"]; test = [r for r in t if r["split"] == "test"]
rng = np.random.default_rng(0); order = rng.permutation(len(train))
tr = [dict(train[i], split="train") for i in order[:500]]
seen = {r["fine"] for r in tr}
va = [dict(r, split="val") for r in (train[i] for i in order[500:]) if r["fine"] in seen][:200]
pq.write_table(pa.Table.from_pylist(tr + va + test), "runs/data/trec_500.parquet")
print(len(tr), len(va), len(test), "fine classes in train:", len(seen),
      "test rows with an unseen fine label:", sum(r["fine"] not in seen for r in test))
