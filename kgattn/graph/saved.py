"""A knowledge graph on disk: one ``.npy`` per array plus the manifest ``meta.json``.

Layout of a saved graph directory (written by :meth:`KnowledgeGraph.save
<kgattn.graph.KnowledgeGraph.save>`)::

    meta.json              {"kind": "kgattn-graph", "version": 2, "fingerprint", "num_nodes",
                            "num_edges", "num_relations", "arrays", "relation_names",
                            "relation_ids", "type_vocab", "attr_vocab", "metadata"}
    src.npy, dst.npy, ...  one plain array each (never pickled), see :data:`ARRAYS`

Every array is written atomically and ``meta.json`` last (:mod:`kgattn.persistence`): a
directory without it is an interrupted save and is refused. Manifests written before the
persistence layer (``"format": "kgattn-graph"``) are read too.

Reading checks, on every load, what a damaged or hostile directory could break at no more
than one vectorised pass per array: every listed file exists and holds a 1-d array of the
expected dtype (a truncated ``.npy`` is reported, not raised from numpy), every pointer array
starts at 0, never decreases and ends at the length of what it points into, and every index
array (``src``, ``dst``, ``rel``, ``adj_nbr``, ...) lies in its range. Each failure raises
:class:`~kgattn.errors.SavedFileError` naming the file. Whether the *content* was altered is
what ``verify=True`` (the fingerprint, a hash of every byte) answers.

The range checks read every index array (seconds at 100M edges), so a directory that passed them
is remembered in the cache (``$KGATTN_CACHE/graph_checks``, an empty stamp file keyed by the
fingerprint and each array file's resolved path, size, mtime and inode; files changed in the
last :data:`STAMP_SETTLE_S` seconds are not remembered): loading the same unchanged files again
skips them, and any rewrite of a file checks again. The streaming importer
checks what it wrote, so its output loads at once. Nothing is written into the graph directory.
"""
from __future__ import annotations

import hashlib
import mmap
import time
from pathlib import Path

import numpy as np

from kgattn.errors import SavedFileError
from kgattn.paths import cache_dir
from kgattn.persistence import atomic_path, read_json, read_manifest, reading, write_manifest

KIND = "kgattn-graph"
FORMAT_VERSION = 2  # 2: neighbour sets (nbr_ptr, nbr) saved
MANIFEST = "meta.json"
#: Seconds an array file must have been left alone before a passed check of it is remembered.
STAMP_SETTLE_S = 2.0

#: Every array a saved graph holds; ``id_order`` is absent when the ids are already sorted.
ARRAYS = ("ids.blob", "ids.offsets", "id_order", "names.ptr", "names.blob", "names.offsets", "types.ptr",
          "types.ids", "descriptions.blob", "descriptions.offsets", "attrs.ptr", "attrs.ids",
          "attrs.values.blob", "attrs.values.offsets", "src", "dst", "rel", "out_ptr", "adj_ptr",
          "adj_nbr", "adj_rel", "nbr_ptr", "nbr")
_OPTIONAL = {"id_order"}
_LIST_FIELDS = ("relation_names", "relation_ids", "type_vocab", "attr_vocab", "arrays")


def write_graph(directory: str | Path, arrays: dict[str, np.ndarray], **fields) -> Path:
    """Write ``arrays`` (one ``.npy`` each, atomically) and then the manifest with ``fields``.

    An existing ``meta.json`` of another kind of artefact is never overwritten; one of a saved
    graph is removed first, so that an interrupted overwrite leaves a directory that is refused
    as incomplete rather than old strings over new arrays.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    manifest = d / MANIFEST
    if manifest.exists():
        old = read_json(manifest, "manifest")
        if not isinstance(old, dict) or old.get("kind", old.get("format")) != KIND:
            raise SavedFileError(f"holds another artefact ({old.get('kind') if isinstance(old, dict) else old!r}); "
                                 "choose another directory for the graph", manifest)
        manifest.unlink()
    for name, arr in arrays.items():
        with atomic_path(d / f"{name}.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
    write_manifest(manifest, KIND, FORMAT_VERSION, arrays=sorted(arrays), **fields)
    return d


def read_graph(directory: str | Path, mmap: bool = True, check: bool = True,
               stamp_fresh: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and manifest of a saved graph, checked as the module docstring says.

    ``mmap=True`` maps each array copy-on-write (pages are read when touched). The checks read
    each index array once: measured 0.17-0.24 s for 1M nodes / 10M edges (page cache warm);
    ``check=False`` skips the range checks (files and manifest are still checked) for a
    directory the caller trusts; files that passed them before are not checked again (the stamp
    in the module docstring).
    """
    d = Path(directory)
    meta_path = d / MANIFEST
    if not d.is_dir():
        raise SavedFileError(f"not a saved knowledge graph: {d} is not a directory" if d.exists()
                             else f"not a saved knowledge graph: no directory {d}", meta_path)
    if not meta_path.is_file():
        raise SavedFileError(f"not a saved knowledge graph ({MANIFEST} is missing; an interrupted save "
                             "leaves none)", meta_path)
    meta = read_manifest(meta_path, KIND, FORMAT_VERSION)
    _check_fields(meta, meta_path)
    arrays: dict[str, np.ndarray] = {}
    for name in meta["arrays"]:
        path = d / f"{name}.npy"
        if not path.is_file():
            raise SavedFileError(f"array file listed in {MANIFEST} is missing", path)
        with reading(path, "graph array"):
            arr = np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
        # A plain ndarray view of the map: slicing a np.memmap costs a Python-level
        # __array_finalize__ per access, which dominates small subgraph queries.
        arrays[name] = arr.view(np.ndarray) if isinstance(arr, np.memmap) else arr
    for name in ARRAYS:
        if name not in arrays and name not in _OPTIONAL:
            raise SavedFileError(f"{MANIFEST} lists no array {name!r}; the save is incomplete", meta_path)
    if check:
        stamp, newest = _check_stamp(d, meta)
        if not stamp.is_file():
            check_arrays(arrays, meta, d)
            # File times tick in milliseconds: a file written in the last seconds could be rewritten
            # within the same tick and look unchanged, so only settled files (or our own fresh
            # output, ``stamp_fresh``) are remembered.
            if stamp_fresh or newest < time.time() - STAMP_SETTLE_S:
                try:
                    stamp.touch()
                except OSError:
                    pass  # a read-only cache only costs the next load the checks again
    return arrays, meta


def _check_stamp(d: Path, meta: dict) -> tuple[Path, float]:
    """The cache file that says these exact array files passed :func:`check_arrays`, and the
    newest of their modification times."""
    h = hashlib.sha256(meta["fingerprint"].encode())
    newest = 0.0
    for name in sorted(meta["arrays"]):
        path = (d / f"{name}.npy").resolve()
        st = path.stat()
        newest = max(newest, st.st_mtime)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return cache_dir("graph_checks") / h.hexdigest()[:32], newest


def _check_fields(meta: dict, path: Path) -> None:
    for key in _LIST_FIELDS:
        value = meta.get(key)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise SavedFileError(f"field {key!r} must be a list of strings", path)
    for key in ("num_nodes", "num_edges"):
        if not isinstance(meta.get(key), int) or meta[key] < 0:
            raise SavedFileError(f"field {key!r} must be a non-negative integer", path)
    if not isinstance(meta.get("fingerprint"), str):
        raise SavedFileError("field 'fingerprint' must be a string", path)
    unknown = sorted(set(meta["arrays"]) - set(ARRAYS))
    if unknown:
        raise SavedFileError(f"unknown array names {unknown}", path)
    if len(meta["relation_ids"]) != len(meta["relation_names"]):
        raise SavedFileError(f"{len(meta['relation_ids'])} relation ids for {len(meta['relation_names'])} "
                             "relation names", path)


def check_arrays(a: dict[str, np.ndarray], meta: dict, directory: Path) -> None:
    """Shapes, dtypes, pointer ends and index ranges of a saved graph's arrays (see module doc)."""
    def where(name):
        return directory / f"{name}.npy"

    for name, arr in a.items():
        blob = name.endswith(".blob")
        if arr.ndim != 1 or (arr.dtype != np.uint8 if blob else arr.dtype.kind != "i"):
            raise SavedFileError(f"expected a 1-d {'uint8' if blob else 'signed integer'} array, found shape "
                                 f"{arr.shape} dtype {arr.dtype}", where(name))
    n = a["ids.offsets"].shape[0] - 1
    e = a["src"].shape[0]
    if n != meta["num_nodes"] or e != meta["num_edges"]:
        raise SavedFileError(f"the arrays hold {n} nodes / {e} edges, {MANIFEST} says "
                             f"{meta['num_nodes']} / {meta['num_edges']}", directory / MANIFEST)
    num_rel = len(meta["relation_names"])
    pointers = (("ids.offsets", n, len(a["ids.blob"])),
                ("names.ptr", n, len(a["names.offsets"]) - 1),
                ("names.offsets", len(a["names.offsets"]) - 1, len(a["names.blob"])),
                ("types.ptr", n, len(a["types.ids"])),
                ("descriptions.offsets", n, len(a["descriptions.blob"])),
                ("attrs.ptr", n, len(a["attrs.ids"])),
                ("attrs.values.offsets", len(a["attrs.ids"]), len(a["attrs.values.blob"])),
                ("out_ptr", n, e), ("adj_ptr", n, 2 * e), ("nbr_ptr", n, len(a["nbr"])))
    for name, rows, total in pointers:
        ptr = a[name]
        if ptr.shape[0] != rows + 1 or ptr[0] != 0 or ptr[-1] != total:
            raise SavedFileError(f"pointer array of length {ptr.shape[0]} (from {ptr[0] if ptr.size else None} "
                                 f"to {ptr[-1] if ptr.size else None}); expected {rows + 1} entries from 0 to "
                                 f"{total}", where(name))
        if rows > 1 and np.any(ptr[1:] < ptr[:-1]):
            raise SavedFileError("pointer array decreases somewhere; the file is damaged", where(name))
        release_pages(ptr)
    indices = (("src", e, n), ("dst", e, n), ("rel", e, num_rel), ("adj_nbr", 2 * e, n),
               ("adj_rel", 2 * e, num_rel), ("nbr", None, n), ("id_order", n, n),
               ("types.ids", None, len(meta["type_vocab"])), ("attrs.ids", None, len(meta["attr_vocab"])))
    for name, size, hi in indices:
        arr = a.get(name)
        if arr is None:
            continue
        if size is not None and arr.shape[0] != size:
            raise SavedFileError(f"holds {arr.shape[0]} entries, expected {size}", where(name))
        # One pass: viewed as unsigned, a negative index is larger than any valid one.
        if arr.size and int(arr.view(f"u{arr.itemsize}").max()) >= hi:
            k = int(np.flatnonzero((arr < 0) | (arr >= hi))[0])
            raise SavedFileError(f"entry {k} is {int(arr[k])}, outside [0, {hi}); the file is damaged",
                                 where(name))
        release_pages(arr)


def release_pages(arr: np.ndarray) -> None:
    """Unmap the pages of a memory-mapped array that were read (a check reads every page), so that
    they stop counting in the process's resident set; they stay in the kernel's page cache and a
    later access maps them again. Only for mappings nothing has written to yet (a load's own
    check). No-op for arrays in memory, or where ``madvise`` is missing."""
    base = arr
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    if base is not None and hasattr(mmap, "MADV_DONTNEED"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass  # only the resident set is at stake
