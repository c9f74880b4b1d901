"""Finding corpus files and telling their format (shared by the pipeline's and the pretraining's
readers; ground floor: imports nothing of kgattn but its errors)."""
from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from kgattn.errors import CorpusError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def resolve_paths(patterns: Sequence[str | Path]) -> list[Path]:
    """Expand globs (sorted, so the row order is stable); a pattern matching nothing or a missing
    file is a :class:`~kgattn.errors.CorpusError` naming it."""
    out: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        if glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not matches:
                raise CorpusError("no corpus file matches this pattern", text)
            out.extend(matches)
        else:
            path = Path(text)
            if not path.is_file():
                raise CorpusError("corpus file does not exist", path)
            out.append(path)
    return out


def file_format(path: Path, fmt: str = "auto", key: str = "format") -> str:
    """``fmt``, or for ``"auto"`` the format its extension names (``.csv.gz`` is csv)."""
    if fmt != "auto":
        return fmt
    for suffix in reversed([s.lower() for s in path.suffixes]):
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    raise CorpusError(f"cannot tell the format from the extension; set {key} to one of {', '.join(FORMATS)}",
                      path)
