"""Corpus preparation on the real public data sets (skipped when they are absent)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kgattn.paths import data_dir
from kgattn.pipeline.corpus import CorpusReader
from kgattn.pipeline.prepare import prepare_corpus
from kgattn.pipeline.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.data


def _need(name: str) -> Path:
    d = data_dir() / name
    if not d.is_dir():
        pytest.skip(f"{d} not present")
    return d


def test_trec_official_split_two_tasks_and_carved_validation(tmp_path):
    out = prepare_corpus("trec", tmp_path / "trec.parquet", _need("trec"))
    table = pq.read_table(out)
    assert Counter(table.column("split").to_pylist()) == {"train": 5452, "test": 500}
    assert len(set(table.column("coarse").to_pylist())) == 6 and len(set(table.column("fine").to_pylist())) == 50
    spec = load_spec(REPO / "pipelines" / "trec_wordnet.yaml")
    reader = CorpusReader.from_spec(spec.corpus.model_copy(update={"paths": [out], "format": "parquet"}))
    splits = Counter(s for _, t in reader.shards(2000) for s in t.column("split").to_pylist())
    assert splits["test"] == 500 and splits["train"] + splits["val"] == 5452
    assert 0.08 < splits["val"] / 5452 < 0.12


def test_conll_gold_mentions_marked_in_their_sentences(tmp_path):
    out = prepare_corpus("conll2003", tmp_path / "conll.parquet", _need("conll2003"))
    table = pq.read_table(out)
    counts = Counter(table.column("split").to_pylist())
    assert counts["train"] == 23499 and counts["test"] == 5648
    assert set(table.column("label").to_pylist()) == {"PER", "LOC", "ORG", "MISC"}
    for row in table.slice(0, 200).to_pylist():
        s, e = row["mention_start"], row["mention_end"]
        assert row["text"][s - 1] == "[" and row["text"][e] == "]" and row["text"][s:e] == row["mention"]
