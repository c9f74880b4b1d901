r"""Writing a :class:`~kgattn.linking.alias_index.DiskAliasIndex`: from the graph's name arrays in
bounded memory (:func:`build_index`), or from an in-RAM table (:func:`write_index`).

:meth:`AliasTable.build <kgattn.linking.gazetteer.AliasTable.build>` holds every key as a Python
string in a dict of pairs: fine for WordNet, tens of GB at 20M aliases. :func:`build_index` writes
the same files (identical arrays) without it, in four passes:

1. **keys**, a block of about ``block_names`` names at a time, read as they lie in the graph's
   string arrays: one UTF-8 decode and one NFKC + casefold per block (not per name), then each
   name's key (:func:`kgattn.linking.text.key_of_folded`). A
   block writes its distinct keys, its pairs ``(key in block, node, is label, cased)`` and the
   hashes of its pieces (:func:`piece_hash`) to spill files;
2. **trie**: the MARISA trie of the keys, fed from the spill files (never a list of all keys), in
   label order (:func:`trie_of`), so the key ids do not depend on how often a key was fed;
3. **ids**: each block's keys get their trie id, so the pairs are numbered as the index stores them
   (no reordering afterwards);
4. **arrays**: :func:`~kgattn.linking.gazetteer.prior_arrays` over all pairs (duplicates of a
   ``(key, node)`` pair merged, the prior softmax within a key, candidates best first), the
   function ``AliasTable._build`` uses, so the numbers are bit-identical.

The lemmatiser's vocabulary (every piece of every key) is a sorted array of 64-bit FNV-1a piece
hashes (``pieces.npy``; a false "known piece" has probability about :math:`n / 2^{64}`), not a trie or
a set of strings: a graph of made-up names has more distinct pieces than names.

Peak memory: the key trie's build (about 80 bytes per key) or the pair arrays (about 40 bytes per
pair); the spill files take about 40 bytes per name on disk.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kgattn.errors import ConfigError
from kgattn.graph.strings import fold_alias
from kgattn.linking.gazetteer import MatchableKeys, TableOptions, prior_arrays
from kgattn.linking.text import key_of_folded
from kgattn.persistence import atomic_path, write_manifest

INDEX_KIND = "kgattn-alias-index"
INDEX_VERSION = 2  # 2: pieces.npy (hashes) replaces pieces.marisa; version 1 is still read
PIECES_HASH = "fnv1a-64"
ARRAYS = ("ptr", "nodes", "prior", "cased", "matchable")

# MARISA keys are C strings: a NUL would cut them. Keys and texts that hold NUL (or the escape
# character) are escaped with a prefix code (\x01 -> \x01\x01, \x00 -> \x01\x02), which keeps
# "is a prefix of" and piece boundaries intact; everything else is stored as it is.
_ESCAPES = re.compile("\x01(.)", re.DOTALL)


def needs_escape(s: str) -> bool:
    return "\x00" in s or "\x01" in s


def escape(s: str) -> str:
    return s.replace("\x01", "\x01\x01").replace("\x00", "\x01\x02") if needs_escape(s) else s


def unescape(s: str) -> str:
    return _ESCAPES.sub(lambda m: "\x01" if m.group(1) == "\x01" else "\x00", s) if "\x01" in s else s


def marisa():
    try:
        import marisa_trie
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise ConfigError("index='disk' needs the marisa-trie package (pip install marisa-trie)") from exc
    return marisa_trie


def trie_of(keys):
    """The MARISA trie of (escaped) ``keys``; ids in label order, not weighted by repeats, so every
    build of the same key set numbers the keys the same way."""
    m = marisa()
    return m.Trie(keys, order=m.LABEL_ORDER)


_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
#: Pieces of up to this many UTF-8 bytes are hashed in numpy; longer ones one by one.
_HASH_BYTES = 64


def piece_hash(piece: str) -> int:
    """The 64-bit FNV-1a hash of a piece's UTF-8 bytes, as ``pieces.npy`` stores it."""
    h = _FNV_OFFSET
    for b in piece.encode("utf-8", "surrogatepass"):
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def piece_hashes(pieces) -> np.ndarray:
    """uint64 :func:`piece_hash` of ``pieces``, sorted and distinct. Vectorised: the pieces are
    encoded as one line-separated string and FNV-1a runs a byte position at a time over all pieces
    still that long (a block's 1.3M pieces in a fraction of a second, where one call each took
    1.5 s); pieces longer than 64 bytes are hashed one by one (and all, if one holds a line feed)."""
    pieces = list(pieces)
    joined = "\n".join(pieces)
    if not pieces or joined.count("\n") != len(pieces) - 1:
        hashes = np.asarray([piece_hash(q) for q in pieces], dtype=np.uint64)
    else:
        flat = np.frombuffer((joined + "\n").encode("utf-8", "surrogatepass"), dtype=np.uint8)
        ends = np.flatnonzero(flat == 10)
        starts = np.concatenate([[0], ends[:-1] + 1])
        sizes = ends - starts
        hashes = np.full(len(pieces), _FNV_OFFSET, dtype=np.uint64)
        prime = np.uint64(_FNV_PRIME)
        with np.errstate(over="ignore"):
            for j in range(min(int(sizes.max()), _HASH_BYTES)):
                byte = flat[np.minimum(starts + j, flat.size - 1)].astype(np.uint64)
                hashes = np.where(sizes > j, (hashes ^ byte) * prime, hashes)
        for i in np.flatnonzero(sizes > _HASH_BYTES).tolist():
            hashes[i] = piece_hash(pieces[i])
    return _distinct(hashes)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values by sort + mask (numpy 2's ``np.unique`` hashes: ~10x slower here)."""
    out = np.sort(values)
    keep = np.ones(out.size, dtype=bool)
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def write_index(directory: Path, trie, pieces: np.ndarray, arrays: dict[str, np.ndarray], fingerprint: str,
                options: TableOptions) -> None:
    """The index files in ``directory``: arrays (in trie order), the key trie, the sorted piece
    hashes, the manifest last."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, a in [*((n, arrays[n]) for n in ARRAYS), ("pieces", pieces)]:
        with atomic_path(directory / f"{name}.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(a))
    with atomic_path(directory / "keys.marisa") as tmp:
        trie.save(str(tmp))
    write_manifest(directory / "index.json", INDEX_KIND, INDEX_VERSION, kg_fingerprint=fingerprint,
                   options=asdict(options), num_keys=len(trie), num_pairs=int(arrays["ptr"][-1]),
                   pieces_hash=PIECES_HASH)


def _block_names(names, a: int, b: int) -> tuple[list[str], list[str]]:
    """Names of nodes ``a:b`` (flattened) and their :func:`~kgattn.graph.strings.fold_alias`
    forms, decoded and folded per block: joined by ``\\n``, folded at once and split again (see
    ``fold_alias``). A block whose names hold a line feed goes name by name.
    """
    v0, v1 = int(names.ptr[a]), int(names.ptr[b])
    offsets = np.asarray(names.values.offsets[v0:v1 + 1])
    raw = np.asarray(names.values.blob[int(offsets[0]):int(offsets[-1])])
    n = v1 - v0
    if n == 0:
        return [], []
    if not (raw == 10).any():
        joined = np.insert(raw, offsets[1:-1] - offsets[0], 10).tobytes().decode("utf-8")
        folded = fold_alias(joined).split("\n")
        if len(folded) == n:
            return joined.split("\n"), folded
    plain = [names.values[v0 + i] for i in range(n)]
    return plain, [fold_alias(s) for s in plain]


def _block_keys(folded: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Distinct keys of a block, each name's key index into them, and which names have a key."""
    local: dict[str, int] = {}
    key_of = np.empty(len(folded), dtype=np.int64)
    keep = np.ones(len(folded), dtype=bool)
    for j, f in enumerate(folded):
        key = key_of_folded(f)
        if not key:
            keep[j] = False
            continue
        k = local.get(key)
        if k is None:
            k = local[key] = len(local)
        key_of[j] = k
    return list(local), key_of, keep


def _spill_blocks(kg, spill: Path, options: TableOptions, stop: frozenset[str], block_names: int) -> list[int]:
    """Pass 1: keys, pairs and piece hashes of every block into ``spill``; the pairs per block."""
    names = kg.names_table
    ptr = np.asarray(names.ptr)
    sizes, a = [], 0
    while a < kg.num_nodes:
        b = int(np.searchsorted(ptr, ptr[a] + block_names, side="right")) - 1
        b = min(max(b, a + 1), kg.num_nodes)
        plain, folded = _block_names(names, a, b)
        counts = np.diff(ptr[a:b + 1])
        node = np.repeat(np.arange(a, b, dtype=np.int64), counts)
        first = np.zeros(len(plain), dtype=bool)
        first[(ptr[a:b][counts > 0] - ptr[a])] = True
        keys, key_of, keep = _block_keys(folded)
        cased = np.fromiter((s[:1].isupper() for s in plain), dtype=bool, count=len(plain))
        matchable = np.fromiter(map(MatchableKeys(options, stop), keys), dtype=bool, count=len(keys))
        i = len(sizes)
        (spill / f"{i}.keys").write_text("\n".join(map(escape, keys) if needs_escape("".join(keys)) else keys),
                                         encoding="utf-8")
        np.savez(spill / f"{i}.npz", matchable=matchable, pieces=piece_hashes(set(" ".join(keys).split(" ")) - {""}),
                 key=key_of[keep], node=node[keep], label=first[keep], cased=cased[keep])
        sizes.append(int(keep.sum()))
        a = b
    return sizes


def _block_spilled_keys(spill: Path, i: int) -> list[str]:
    """Block ``i``'s distinct keys (escaped), read back from its spill file."""
    text = (spill / f"{i}.keys").read_text(encoding="utf-8")
    return text.split("\n") if text else []


def _spilled_keys(spill: Path, blocks: int) -> Iterator[str]:
    """Pass 2's input: every block's keys, read back from the spill files."""
    for i in range(blocks):
        yield from _block_spilled_keys(spill, i)


def _numbered_pairs(spill: Path, sizes: list[int], trie, counts: Mapping[str, Mapping[int, float]]):
    """Pass 3: all pairs with trie key ids (int32 while they fit), ``matchable`` per trie key, and
    the vocabulary's hashes."""
    total = sum(sizes)
    small = len(trie) < 2**31 - 1
    pairs = {"key": np.empty(total, dtype=np.int32 if small else np.int64), "node": np.empty(total, dtype=np.int64),
             "label": np.empty(total, dtype=bool), "cased": np.empty(total, dtype=bool)}
    if counts:
        pairs["count"] = np.zeros(total, dtype=np.float64)
    matchable = np.zeros(len(trie), dtype=bool)
    pieces, at = [], 0
    for i, size in enumerate(sizes):
        keys = _block_spilled_keys(spill, i)
        ids = np.fromiter(map(trie.key_id, keys), dtype=np.int64, count=len(keys))
        with np.load(spill / f"{i}.npz") as z:
            block = {name: z[name] for name in z.files}
        matchable[ids] = block["matchable"]
        pieces.append(block["pieces"])
        span = slice(at, at + size)
        pairs["key"][span] = ids[block["key"]]
        for name in ("node", "label", "cased"):
            pairs[name][span] = block[name]
        if counts:
            known = {k for k, key in enumerate(keys) if unescape(key) in counts}
            for j in (np.flatnonzero(np.isin(block["key"], list(known))) if known else ()):
                per_node = counts[unescape(keys[block["key"][j]])]
                pairs["count"][at + j] = per_node.get(int(block["node"][j]), 0.0)
        at += size
    return pairs, matchable, _distinct(np.concatenate(pieces)) if pieces else np.zeros(0, dtype=np.uint64)


def build_index(kg, directory: str | Path, options: TableOptions, stop: frozenset[str],
                counts: Mapping[str, Mapping[int, float]] | None = None, *, block_names: int = 1_000_000,
                report: dict | None = None) -> Path:
    """Write the disk alias index of ``kg`` into ``directory`` (arguments as
    :meth:`AliasTable.plan <kgattn.linking.gazetteer.AliasTable.plan>` returns them); spill files
    go to a temporary folder beside it and are removed. ``report`` gets the seconds of each pass."""
    d = Path(directory)
    d.parent.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix=".alias-spill-", dir=d.parent))
    seconds = (report if report is not None else {}).setdefault("seconds", {})
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name], clock = time.perf_counter() - clock, time.perf_counter()

    try:
        sizes = _spill_blocks(kg, spill, options, stop, block_names)
        lap("keys")
        trie = trie_of(_spilled_keys(spill, len(sizes)))
        lap("trie")
        pairs, matchable, pieces = _numbered_pairs(spill, sizes, trie, counts or {})
        lap("ids")
        arrays = prior_arrays(pairs, len(trie), kg.degree, options.prior)
        del pairs
        arrays["matchable"] = matchable
        lap("arrays")
        write_index(d, trie, pieces, arrays, kg.fingerprint, options)
        lap("write")
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return d
