"""Corpus preparation: raw public data sets -> one Parquet corpus (id, text, labels, split).

- TREC (Li & Roth): ``train_5500.label`` -> train, ``TREC_10.label`` -> test; tasks ``coarse``
  (6 classes) and ``fine`` (50, spelled ``COARSE:fine``).
- CoNLL-2003 mention typing: one row per gold mention, the mention marked in its sentence with
  brackets (``EU rejects [German] call to boycott British lamb .``), label PER/LOC/ORG/MISC;
  ``train.txt``/``valid.txt``/``test.txt`` -> train/val/test. ``mention_start``/``mention_end``
  locate the mention (without brackets) in the marked text.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kgattn.errors import DatasetNotFoundError
from kgattn.paths import data_dir
from kgattn.pipeline.rundir import atomic_path

DATASETS = ("trec", "conll2003")
_DEFAULT_DIRS = {"trec": "trec", "conll2003": "conll2003"}
#: The raw files each data set is prepared from (checked by ``kgattn check`` before a run).
DATASET_FILES = {"trec": ("train_5500.label", "TREC_10.label"), "conll2003": ("train.txt", "valid.txt", "test.txt")}


def default_dir(name: str) -> Path:
    return data_dir() / _DEFAULT_DIRS[name]


def _need(path: Path, name: str) -> Path:
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path}: {name} file not found; put the data set under $KGATTN_DATA (now {data_dir()}) "
            f"or give corpus.dataset_dir")
    return path


def trec_table(directory: str | Path | None = None) -> pa.Table:
    from kgattn.datasets.trec import read_trec

    d = Path(directory) if directory is not None else default_dir("trec")
    rows: dict[str, list] = {"id": [], "text": [], "coarse": [], "fine": [], "split": []}
    for split, name in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        for i, q in enumerate(read_trec(_need(d / name, "TREC"))):
            rows["id"].append(f"{split}-{i:05d}")
            rows["text"].append(q.text)
            rows["coarse"].append(q.coarse)
            rows["fine"].append(q.label)
            rows["split"].append(split)
    return pa.table(rows)


def mark_mention(text: str, start: int, end: int, left: str = "[", right: str = "]") -> tuple[str, int, int]:
    """``text`` with ``text[start:end]`` wrapped in markers; returns the new text and the
    mention's offsets in it (markers excluded)."""
    marked = text[:start] + left + text[start:end] + right + text[end:]
    return marked, start + len(left), end + len(left)


def conll_table(directory: str | Path | None = None) -> pa.Table:
    from kgattn.datasets.conll import conll_mentions, read_conll

    d = Path(directory) if directory is not None else default_dir("conll2003")
    rows: dict[str, list] = {"id": [], "text": [], "label": [], "split": [], "mention": [],
                             "mention_start": [], "mention_end": []}
    for split, name in (("train", "train.txt"), ("val", "valid.txt"), ("test", "test.txt")):
        for i, m in enumerate(conll_mentions(read_conll(_need(d / name, "CoNLL-2003")))):
            text, start, end = mark_mention(m.sentence_text, m.start, m.end)
            rows["id"].append(f"{split}-{i:05d}")
            rows["text"].append(text)
            rows["label"].append(m.type)
            rows["split"].append(split)
            rows["mention"].append(m.text)
            rows["mention_start"].append(start)
            rows["mention_end"].append(end)
    return pa.table(rows)


def prepare_corpus(name: str, out: str | Path, directory: str | Path | None = None) -> Path:
    """Write the Parquet corpus of a built-in data set to ``out`` (atomically); returns ``out``."""
    table = {"trec": trec_table, "conll2003": conll_table}[name](directory)
    out = Path(out)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return out
