"""Where kgattn reads shared data and keeps its caches (both overridable by environment)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Public data sets (TREC, CoNLL-2003, FB15k-237): ``$KGATTN_DATA``, default ``../shared/data``."""
    return Path(os.environ.get("KGATTN_DATA", "../shared/data")).expanduser()


def cache_dir(*parts: str) -> Path:
    """A sub-folder of the cache (``$KGATTN_CACHE``, default ``~/.cache/kgattn``), created on demand.

    Everything in it is keyed by content hashes and safe to delete.
    """
    root = Path(os.environ.get("KGATTN_CACHE", "~/.cache/kgattn")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
