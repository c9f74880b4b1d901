"""Streaming corpus readers: every format gives the same rows, shards are exact, bad input is named."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kgattn.errors import CorpusError
from kgattn.pipeline.corpus import CorpusReader, SplitRule, resolve_paths

ROWS = [{"id": f"r{i}", "text": f'"text" number {i}, with a comma and quotes', "label": "ab"[i % 2],
         "split": ("train", "val", "test")[i % 3]} for i in range(23)]


def _write_all(tmp_path):
    import csv

    paths = {}
    with open(tmp_path / "c.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "label", "split"])
        w.writeheader()
        w.writerows(ROWS)
    paths["csv"] = tmp_path / "c.csv"
    with open(tmp_path / "c.tsv", "w") as fh:
        fh.write("id\ttext\tlabel\tsplit\n")
        fh.writelines("\t".join(r.values()) + "\n" for r in ROWS)
    paths["tsv"] = tmp_path / "c.tsv"
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    paths["jsonl"] = tmp_path / "c.jsonl"
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "c.parquet", row_group_size=5)
    paths["parquet"] = tmp_path / "c.parquet"
    return paths


def _reader(path, **kw):
    kw.setdefault("labels", {"label": "label"})
    kw.setdefault("split", SplitRule(column="split"))
    return CorpusReader(paths=(path,), **kw)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_formats_read_identically_in_exact_shards(tmp_path, fmt):
    path = _write_all(tmp_path)[fmt]
    reader = _reader(path)
    shards = list(reader.shards(4))
    assert [i for i, _ in shards] == list(range(6))
    assert [t.num_rows for _, t in shards] == [4, 4, 4, 4, 4, 3]
    rows = [r for _, t in shards for r in t.to_pylist()]
    assert [r["row"] for r in rows] == list(range(23))
    assert [{k: r[k] for k in ("id", "text", "label", "split")} for r in rows] == ROWS
    assert reader.count_rows() == 23


def test_multiple_files_globs_and_numbered_ids(tmp_path):
    paths = _write_all(tmp_path)
    reader = CorpusReader(paths=tuple(resolve_paths([tmp_path / "c.cs?", paths["tsv"]])), id_column=None,
                          labels={"label": "label"})
    rows = [r for _, t in reader.shards(10) for r in t.to_pylist()]
    assert len(rows) == 46 and [r["id"] for r in rows] == [str(i) for i in range(46)]
    assert all(r["split"] is None for r in rows)   # no split rule: unlabelled input
    with pytest.raises(CorpusError, match="no corpus file matches"):
        resolve_paths([tmp_path / "*.xml"])
    with pytest.raises(CorpusError, match="does not exist"):
        resolve_paths([tmp_path / "missing.csv"])


def test_split_ratios_and_val_fraction_are_stable_hashes(tmp_path):
    path = _write_all(tmp_path)["csv"]
    rule = SplitRule(ratios={"train": 0.6, "val": 0.2, "test": 0.2}, seed=3)
    first = [r["split"] for _, t in _reader(path, split=rule).shards(7) for r in t.to_pylist()]
    again = [r["split"] for _, t in _reader(path, split=rule).shards(5) for r in t.to_pylist()]
    assert first == again and set(first) <= {"train", "val", "test"} and "train" in first
    carved = SplitRule(column="split", val_fraction=0.5, seed=0)
    splits = [r["split"] for _, t in _reader(path, split=carved).shards(50) for r in t.to_pylist()]
    originally_train = [r["split"] == "train" for r in ROWS]
    # Only train rows move to val, and some do.
    assert all(s == r["split"] for s, r in zip(splits, ROWS) if r["split"] != "train")
    assert 0 < sum(s == "val" for s, t in zip(splits, originally_train) if t) < sum(originally_train)


def _error(path, **kw):
    with pytest.raises(CorpusError) as err:
        for _ in _reader(path, **kw).shards(100):
            pass
    return str(err.value)


def test_missing_column_names_file_and_columns(tmp_path):
    path = _write_all(tmp_path)["csv"]
    msg = _error(path, labels={"topic": "topic"})
    assert str(path) in msg and "column 'topic' not found" in msg and "'text'" in msg
    assert "column 'body' not found" in _error(_write_all(tmp_path)["parquet"], text_column="body")


def test_empty_text_missing_label_bad_split_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,text,label,split\n1,fine,a,train\n2,  ,b,train\n")
    assert _error(path) == f"{path} row 2: empty text in column 'text'"
    path.write_text("id,text,label,split\n1,fine,a,train\n2,ok,b,train\n3,ok,,test\n")
    assert _error(path) == f"{path} row 3: missing label in column 'label' (task 'label')"
    path.write_text("id,text,label,split\n1,fine,a,training\n")
    assert "split column 'split' has value 'training'" in _error(path)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"id": "1", "text": "a", "label": "x", "split": "train"}\n'
                     '{"id": "2", "label": "x", "split": "train"}\n')
    assert _error(jsonl) == f"{jsonl} row 2: empty text in column 'text'"


def test_non_utf8_and_malformed_json_name_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,text,label,split\n1,ok,a,train\n2,caf\xe9,b,train\n")
    msg = _error(path)
    assert str(path) in msg and "line 3 is not valid UTF-8" in msg
    jsonl = tmp_path / "broken.jsonl"
    jsonl.write_text('{"id": "1", "text": "a", "label": "x", "split": "train"}\n{"id": "2", "text": oops}\n')
    assert "line 2 is not valid JSON" in _error(jsonl)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps({"id": i, "text": "t", "label": "x", "split": "train"}) + "\n"
                             for i in range(3)) + json.dumps({"id": "x", "text": "t", "label": "x",
                                                              "split": "train"}) + "\n")
    assert "line 4: field 'id' changes type from int to str" in _error(mixed)
    numbers = tmp_path / "numbers.jsonl"   # consistently numeric ids and labels read as text
    numbers.write_text("".join(json.dumps({"id": i, "text": "t", "label": i % 2, "split": "train"}) + "\n"
                               for i in range(3)))
    rows = [r for _, t in _reader(numbers).shards(10) for r in t.to_pylist()]
    assert [(r["id"], r["label"]) for r in rows] == [("0", "0"), ("1", "1"), ("2", "0")]
    empty = tmp_path / "empty.csv"
    empty.write_text("id,text,label,split\n")
    assert "no rows" in _error(empty)
