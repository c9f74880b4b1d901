"""Imported graphs saved under the cache, keyed by the source files' stats and the import options."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from kgattn.errors import SavedFileError
from kgattn.graph.parts import GraphWarning
from kgattn.graph.saved import FORMAT_VERSION
from kgattn.graph.store import KnowledgeGraph
from kgattn.paths import cache_dir
from kgattn.persistence import remove_path


def source_key(name: str, sources: Iterable[Path], options: dict) -> str:
    """Hash of (importer, each source's resolved path, size and mtime, options, store format)."""
    stats = []
    for p in sorted(Path(s).resolve() for s in sources):
        st = p.stat()
        stats.append([str(p), st.st_size, st.st_mtime_ns])
    raw = json.dumps({"importer": name, "sources": stats, "options": options, "format": FORMAT_VERSION},
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def cached_graph(name: str, sources: Iterable[Path], options: dict, build: Callable, mmap: bool = True):
    """Load the graph cached for these sources and options, or ``build()`` it and cache it.

    The directory is written under a temporary name and renamed, so a concurrent or interrupted
    import never leaves a half-written graph where a later call would read it. A cached graph
    that fails the load checks (a damaged disk, a truncated copy) is rebuilt with a
    :class:`~kgattn.graph.GraphWarning` naming the file; the cache is kgattn's own, so the damaged
    entry is replaced.
    """
    root = cache_dir("graphs")
    target = root / f"{name}-{source_key(name, sources, options)}"
    if (target / "meta.json").is_file():
        try:
            return KnowledgeGraph.load(target, mmap=mmap)
        except SavedFileError as exc:
            warnings.warn(f"damaged cached graph, rebuilding it: {exc}", GraphWarning, stacklevel=2)
            remove_path(target)
    kg = build()
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        kg.save(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race: its copy is equivalent
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return kg
