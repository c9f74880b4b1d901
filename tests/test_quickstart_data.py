"""The shipped quickstart data is exactly what its generator writes, and is self-consistent."""
from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generator_reproduces_shipped_files():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_quickstart.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_corpus_is_balanced_with_three_splits():
    with open(ROOT / "data" / "quickstart" / "corpus.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 400
    assert set(rows[0]) == {"id", "text", "label", "split"}
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {"technology", "finance", "energy", "health"}
    assert max(labels.values()) - min(labels.values()) <= 0.05 * len(rows)
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    assert len({r["id"] for r in rows}) == len(rows)
