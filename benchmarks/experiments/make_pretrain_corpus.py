"""The unlabelled pretraining corpus of issue 15: CoNLL-2003 train + valid sentences and the
TREC training questions (labels dropped), one ``text`` column, written as Parquet.

    python benchmarks/experiments/make_pretrain_corpus.py [--out runs/data/pretrain_trec_conll.parquet]
    python benchmarks/experiments/make_pretrain_corpus.py --sources trec --out runs/data/pretrain_trec.parquet

Test sentences and questions are left out (the fine-tuning evaluations test on them). CoNLL's
``-DOCSTART-`` lines are not sentences and are skipped; sentences are the tokens joined by spaces
(the text the CoNLL corpora of the experiments use).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kgattn.datasets.conll import read_conll  # noqa: E402
from kgattn.datasets.trec import read_trec  # noqa: E402
from kgattn.paths import data_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "runs" / "data" / "pretrain_trec_conll.parquet"))
    ap.add_argument("--data", default=str(data_dir()))
    ap.add_argument("--sources", nargs="+", choices=("conll", "trec"), default=["conll", "trec"])
    args = ap.parse_args()
    data = Path(args.data)
    rows: dict[str, list[str]] = {"id": [], "text": [], "source": []}
    for split in ("train", "valid") if "conll" in args.sources else ():
        for i, sentence in enumerate(read_conll(data / "conll2003" / f"{split}.txt")):
            if not sentence.tokens or sentence.tokens[0] == "-DOCSTART-":
                continue
            rows["id"].append(f"conll-{split}-{i:05d}")
            rows["text"].append(sentence.text)
            rows["source"].append(f"conll2003/{split}")
    trec = read_trec(data / "trec" / "train_5500.label") if "trec" in args.sources else []
    for i, question in enumerate(trec):
        rows["id"].append(f"trec-train-{i:05d}")
        rows["text"].append(question.text)
        rows["source"].append("trec/train")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), out)
    print(f"wrote {len(rows['text']):,} texts to {out}")


if __name__ == "__main__":
    main()
