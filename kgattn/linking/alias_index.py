r"""The alias table on disk, memory-mapped: ``EntityLinker(kg, index="disk")``.

The in-RAM :class:`~kgattn.linking.gazetteer.AliasTable` keeps every key as a Python string, a
key -> id dict and an Aho-Corasick automaton over the matchable keys: fine for WordNet's 147k
names, tens of GB at Wikidata's scale. :class:`DiskAliasIndex` holds the same table in files
that are memory-mapped, so a linking process pays only for the pages it touches and forked
workers share them:

* ``keys.marisa`` -- a MARISA trie (``marisa-trie``) of the keys; the trie's key id is the key
  index of every array below. ``pieces.npy`` -- sorted 64-bit hashes of all pieces of all keys
  (the lemmatiser's vocabulary; format 1 had a trie, ``pieces.marisa``, still read).
* ``ptr.npy`` / ``nodes.npy`` / ``prior.npy`` / ``cased.npy`` / ``matchable.npy`` -- as in
  :class:`~kgattn.linking.gazetteer.AliasTable`, opened with ``numpy.load(mmap_mode="r")``.
* ``index.json`` -- the manifest (kind ``kgattn-alias-index``), written last.

:meth:`DiskAliasIndex.build` writes them straight from the graph's name arrays in bounded memory
(:mod:`kgattn.linking.alias_index_build`), never through an in-RAM table.

**Matching without an automaton.** For each piece position :math:`i` the text's pieces
:math:`i \ldots i+L-1` (:math:`L` = ``max_pieces``) are joined and the trie returns, in one
C call, every key that is a prefix of that string (``iter_prefixes_with_ids``); a prefix that
ends on a piece boundary and is matchable is a match. That is :math:`O(n L)` characters per
text of :math:`n` pieces and finds exactly the token-aligned matches of the automaton (keys
hold no leading or trailing space and pieces hold none), so linking results are identical.
"""
from __future__ import annotations

import tempfile
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from kgattn.errors import FingerprintMismatchError, SavedFileError
from kgattn.linking.alias_index_build import (ARRAYS, INDEX_KIND, INDEX_VERSION, PIECES_HASH, build_index, escape,
                                              marisa, needs_escape, piece_hash, piece_hashes, trie_of,
                                              unescape, write_index)
from kgattn.linking.gazetteer import AliasTable, PriorWeights, TableOptions
from kgattn.paths import cache_dir
from kgattn.persistence import atomic_path, read_manifest, reading


class _Vocabulary:
    """``piece in vocabulary``: a binary search in the sorted piece hashes (``pieces.npy``), or,
    for an index of format 1, a look-up in its pieces trie."""

    def __init__(self, pieces):
        self._pieces = pieces

    def __contains__(self, piece) -> bool:
        if not isinstance(piece, str):
            return False
        if not isinstance(self._pieces, np.ndarray):
            return escape(piece) in self._pieces  # format 1: a trie
        h = np.uint64(piece_hash(piece))
        i = int(np.searchsorted(self._pieces, h))
        return i < len(self._pieces) and self._pieces[i] == h


class _Keys(Sequence):
    """``keys[i]``: the string of key ``i`` (read from the trie; no list of strings in memory)."""

    def __init__(self, trie):
        self._trie = trie

    def __len__(self) -> int:
        return len(self._trie)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._trie.restore_key(j) for j in range(*i.indices(len(self)))]
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"key index {i} out of range [0, {len(self)})")
        return unescape(self._trie.restore_key(i % len(self)))


class DiskAliasIndex:
    """A memory-mapped alias table with the look-ups of :class:`~kgattn.linking.gazetteer.AliasTable`
    (``find``, ``lookup``, ``candidates``, ``vocabulary``); build with :meth:`build`, open with :meth:`load`."""

    def __init__(self, directory: Path, trie, pieces, arrays: dict[str, np.ndarray], fingerprint: str,
                 options: TableOptions):
        self.directory = directory
        self._trie, self._pieces = trie, pieces
        self.ptr, self.nodes, self.prior, self.cased, self.matchable = (arrays[a] for a in ARRAYS)
        self.fingerprint = fingerprint
        self.options = options
        self.keys = _Keys(trie)
        self._cands: dict = {}
        self._opens: dict[str, bool] = {}
        # Plain views of the same mapped pages for the hot paths: numpy.memmap's __getitem__ is
        # Python code; an ndarray view or a memoryview indexes in C (nothing is copied).
        self._is_matchable = memoryview(np.asarray(self.matchable).view(np.uint8))
        self._arrays = tuple(np.asarray(a) for a in (self.ptr, self.nodes, self.prior, self.cased))

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, kg, *, min_length: int = 2, max_pieces: int = 16, stop_words: Iterable[str] | None = None,
              counts: Mapping[str, Mapping[int, float]] | None = None, prior: PriorWeights | None = None,
              cache: bool = True, report: dict | None = None) -> "DiskAliasIndex":
        """The index of ``kg`` (arguments as :meth:`AliasTable.build <kgattn.linking.gazetteer.AliasTable.build>`).

        With ``cache`` it lives in ``$KGATTN_CACHE/alias_indexes`` keyed like the alias table and
        is opened, not built, when there; without, in a temporary folder removed with the object.
        ``report`` gets the seconds of each pass of a build (:func:`~kgattn.linking.alias_index_build.build_index`).
        """
        options, stop, counts_norm, key = AliasTable.plan(kg, min_length=min_length, max_pieces=max_pieces,
                                                          stop_words=stop_words, counts=counts, prior=prior)
        if cache:
            directory = cache_dir("alias_indexes", key)
            if (directory / "index.json").is_file():
                try:
                    return cls.load(directory, kg)
                except SavedFileError:
                    pass  # a damaged cache entry (ours) is built again
            return cls.load(build_index(kg, directory, options, stop, counts_norm, report=report))
        tmp = tempfile.TemporaryDirectory(prefix="kgattn-alias-index-")
        index = cls.load(build_index(kg, Path(tmp.name) / "index", options, stop, counts_norm, report=report))
        index._tmp = tmp
        weakref.finalize(index, tmp.cleanup)
        return index

    @classmethod
    def from_table(cls, table: AliasTable, directory: str | Path) -> "DiskAliasIndex":
        """Write ``table`` as an index in ``directory`` and open it.

        The trie numbers the keys its own way; the pair arrays are reordered to follow it.
        """
        escaped = [escape(k) for k in table.keys]
        trie = trie_of(escaped)
        # order[t] = the table's index of the key with trie id t
        order = np.empty(len(escaped), dtype=np.int64)
        order[np.fromiter(map(trie.key_id, escaped), dtype=np.int64, count=len(escaped))] = np.arange(len(escaped))
        lens = np.diff(table.ptr)[order]
        ptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lens, out=ptr[1:])
        gather = np.repeat(table.ptr[:-1][order] - ptr[:-1], lens) + np.arange(int(ptr[-1]))
        arrays = {"ptr": ptr, "nodes": table.nodes[gather], "prior": table.prior[gather],
                  "cased": table.cased[gather], "matchable": table.matchable[order]}
        write_index(Path(directory), trie, piece_hashes(table.vocabulary()), arrays,
                    table.fingerprint, table.options)
        return cls.load(directory)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Copy the index files into ``directory`` (the manifest last)."""
        import shutil

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        pieces = "pieces.npy" if isinstance(self._pieces, np.ndarray) else "pieces.marisa"
        for name in [f"{a}.npy" for a in ARRAYS] + ["keys.marisa", pieces, "index.json"]:
            with atomic_path(d / name) as tmp:
                shutil.copyfile(self.directory / name, tmp)
        return d

    @classmethod
    def load(cls, directory: str | Path, kg=None) -> "DiskAliasIndex":
        """Open (memory-map) an index written by :meth:`build`, :meth:`from_table` or :meth:`save`.

        Raises:
            SavedFileError: a missing or damaged file (named).
            FingerprintMismatchError: ``kg`` is not the graph the index was built from.
        """
        m = marisa()
        d = Path(directory)
        path = d / "index.json"
        meta = read_manifest(path, INDEX_KIND, (1, INDEX_VERSION))
        if kg is not None and meta.get("kg_fingerprint") != kg.fingerprint:
            raise FingerprintMismatchError(f"{path}: alias index of graph {str(meta.get('kg_fingerprint'))[:16]}, "
                                           f"given graph {kg.fingerprint[:16]}")
        arrays = {}
        hashed = meta.get("version") != 1
        if hashed and meta.get("pieces_hash") != PIECES_HASH:
            raise SavedFileError(f"alias index pieces hashed with {meta.get('pieces_hash')!r}, this kgattn reads "
                                 f"{PIECES_HASH!r}; build it again", path)
        for name in ARRAYS + (("pieces",) if hashed else ()):
            with reading(d / f"{name}.npy", "alias index array"):
                arrays[name] = np.load(d / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        tries = []
        for name in ("keys.marisa",) + (() if hashed else ("pieces.marisa",)):
            with reading(d / name, "alias index trie"):
                if not (d / name).is_file():
                    raise FileNotFoundError(2, "no such file", str(d / name))
                tries.append(m.Trie().mmap(str(d / name)))
        try:
            opts = dict(meta["options"])
            opts["prior"] = PriorWeights(**opts["prior"])
            options = TableOptions(**opts)
            num_keys, num_pairs = int(meta["num_keys"]), int(meta["num_pairs"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SavedFileError(f"alias index manifest lacks or garbles {exc}; the file is damaged", path) from None
        sizes = (len(tries[0]), len(arrays["ptr"]) - 1, len(arrays["matchable"]))
        if sizes != (num_keys,) * 3 or not (len(arrays["nodes"]) == len(arrays["prior"]) == num_pairs):
            raise SavedFileError(f"the index files do not belong together (keys {sizes}, manifest {num_keys})", d)
        pieces = np.asarray(arrays.pop("pieces")) if hashed else tries[1]
        return cls(d, tries[0], pieces, arrays, meta["kg_fingerprint"], options)

    # ------------------------------------------------------------------ look-ups
    @property
    def num_keys(self) -> int:
        return len(self._trie)

    def prepare(self) -> "DiskAliasIndex":
        """Nothing to build: the index is matched as it lies on disk."""
        return self

    def find(self, pieces: Sequence[str]) -> list[tuple[int, int, int]]:
        """All matches ``(first piece, stop piece, key)`` of matchable keys in a piece sequence
        (the same set as :meth:`AliasTable.find <kgattn.linking.gazetteer.AliasTable.find>`)."""
        n = len(pieces)
        if not n:
            return []
        joined = " ".join(pieces)
        if needs_escape(joined):
            pieces = [escape(p) for p in pieces]
            joined = " ".join(pieces)
        starts, pos = [], 0
        for p in pieces:
            starts.append(pos)
            pos += len(p) + 1
        stop_at = {starts[i] + len(pieces[i]): i + 1 for i in range(n)}  # piece end -> stop piece
        span = self.options.max_pieces
        prefixes, matchable, opens = self._trie.iter_prefixes_with_ids, self._is_matchable, self._opens
        out = []
        for i, piece in enumerate(pieces):
            starts_key = opens.get(piece)
            if starts_key is None:
                starts_key = self._opens_key(piece)
            if not starts_key:
                continue  # no key starts with this piece: skip the trie walk
            a = starts[i]
            last = min(n, i + span) - 1
            for key, k in prefixes(joined[a:starts[last] + len(pieces[last])]):
                stop = stop_at.get(a + len(key))
                if stop is not None and matchable[k]:
                    out.append((i, stop, k))
        return out

    def _opens_key(self, piece: str) -> bool:
        """Whether some key is ``piece`` or starts with ``piece + " "`` (memoised, bounded)."""
        found = piece in self._trie or next(self._trie.iterkeys(piece + " "), None) is not None
        if len(self._opens) >= 1_000_000:
            self._opens.clear()
        self._opens[piece] = found
        return found

    def lookup(self, pieces: Iterable[str]) -> int | None:
        """Key index of an exact piece sequence (any key, matchable or not), or None."""
        return self._trie.get(escape(" ".join(pieces)))

    def candidates(self, key: int, top_k: int) -> tuple[tuple[int, float, bool], ...]:
        """Up to ``top_k`` ``(node, prior, cased)`` of a key, best prior first (memoised, bounded)."""
        hit = self._cands.get((key, top_k))
        if hit is None:
            ptr, nodes, prior, cased = self._arrays
            a = int(ptr[key])
            b = min(int(ptr[key + 1]), a + top_k)
            hit = tuple(zip(nodes[a:b].tolist(), prior[a:b].tolist(), cased[a:b].tolist()))
            if len(self._cands) >= 1_000_000:
                self._cands.clear()
            self._cands[(key, top_k)] = hit
        return hit

    def vocabulary(self):
        """All pieces of all keys: ``piece in vocabulary`` searches the piece hashes (no set in memory)."""
        return _Vocabulary(self._pieces)
