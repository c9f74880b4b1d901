"""Compact string storage: one UTF-8 blob plus offsets, decoded lazily.

A graph with millions of nodes keeps its ids, names and descriptions as a handful of
numpy arrays (memory-mappable ``.npy`` files) instead of millions of Python objects, so
loading costs nothing until a string is asked for.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np


def fold_alias(s: str) -> str:
    """NFKC, casefolded, ``_`` read as a space: :func:`normalize_alias` before its whitespace
    collapse. Character by character except NFKC's composition, which never crosses a line feed,
    so a block of names joined by ``\n`` can be folded at once and split again."""
    return unicodedata.normalize("NFKC", s).casefold().replace("_", " ")


def normalize_alias(s: str) -> str:
    """The form under which names are matched: NFKC, casefolded, ``_`` read as a space,
    whitespace runs collapsed to one space, stripped. The entity linker uses the same function."""
    return " ".join(fold_alias(s).split())


class StringTable(Sequence):
    """An immutable sequence of ``n`` strings: ``blob`` uint8 [total bytes], ``offsets`` int64 [n+1].

    ``table[i]`` decodes string ``i``; nothing is decoded until asked for.
    """

    __slots__ = ("blob", "offsets")

    def __init__(self, blob: np.ndarray, offsets: np.ndarray):
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> "StringTable":
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
        return cls(blob, offsets)

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def raw(self, i: int) -> bytes:
        """The UTF-8 bytes of string ``i``."""
        return self.blob[self.offsets[i]:self.offsets[i + 1]].tobytes()

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"string index {i} out of range [0, {n})")
        return self.raw(i).decode("utf-8")

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, indices: np.ndarray) -> "StringTable":
        """A new table holding strings ``indices`` in that order (vectorised byte gather)."""
        indices = np.asarray(indices, dtype=np.int64)
        starts, ends = self.offsets[indices], self.offsets[indices + 1]
        lens = ends - starts
        offsets = np.zeros(indices.size + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        return StringTable(self.blob[ranges(starts, lens)], offsets)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.blob": self.blob, f"{prefix}.offsets": self.offsets}


class RaggedStrings:
    """A list of string lists: ``ptr`` int64 [n+1] into a :class:`StringTable` of all values.

    Row ``i`` is ``values[ptr[i]:ptr[i+1]]`` (e.g. the names of node ``i``, label first).
    """

    __slots__ = ("ptr", "values")

    def __init__(self, ptr: np.ndarray, values: StringTable):
        self.ptr = ptr
        self.values = values

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[str]]) -> "RaggedStrings":
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        if len(rows):
            np.cumsum(np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)), out=ptr[1:])
        return cls(ptr, StringTable.from_strings(s for row in rows for s in row))

    def __len__(self) -> int:
        return int(self.ptr.shape[0]) - 1

    def row(self, i: int) -> list[str]:
        return [self.values[j] for j in range(int(self.ptr[i]), int(self.ptr[i + 1]))]

    def count(self, i: int) -> int:
        return int(self.ptr[i + 1] - self.ptr[i])

    def first(self, i: int) -> str | None:
        a = int(self.ptr[i])
        return self.values[a] if a < int(self.ptr[i + 1]) else None

    def rows_of_values(self) -> np.ndarray:
        """int64 [num values]: the row each value belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.ptr))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.ptr": self.ptr, **self.values.arrays(prefix)}


class RaggedIds:
    """A list of int lists over a small vocabulary: ``ptr`` int64 [n+1], ``ids`` int32, ``vocab``.

    Used for node types (few distinct IRIs / lexnames shared by many nodes).
    """

    __slots__ = ("ptr", "ids", "vocab")

    def __init__(self, ptr: np.ndarray, ids: np.ndarray, vocab: list[str]):
        self.ptr, self.ids, self.vocab = ptr, ids, vocab

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[str]]) -> "RaggedIds":
        vocab = sorted({t for row in rows for t in row})
        lookup = {t: k for k, t in enumerate(vocab)}
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        if len(rows):
            np.cumsum(np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)), out=ptr[1:])
        ids = np.fromiter((lookup[t] for row in rows for t in row), dtype=np.int32, count=int(ptr[-1]))
        return cls(ptr, ids, vocab)

    def row(self, i: int) -> list[str]:
        return [self.vocab[k] for k in self.ids[int(self.ptr[i]):int(self.ptr[i + 1])]]


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each pair, vectorised (int64)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    # Each output position = its range start + (position - where its range begins in the output).
    out = np.arange(total, dtype=np.int64)
    out += np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
    return out


class SortedView:
    """The node ids in sorted order as a lazy sequence of bytes, for ``bisect``."""

    __slots__ = ("ids", "order")

    def __init__(self, ids: StringTable, order: np.ndarray | None):
        self.ids, self.order = ids, order

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k: int) -> bytes:
        return self.ids.raw(int(self.order[k]) if self.order is not None else k)


def alias_index(names: RaggedStrings) -> dict[str, list[int]]:
    """``normalize_alias(name) -> sorted row indices`` over every name of every row."""
    index: dict[str, list[int]] = {}
    values = names.values
    blob, offsets = values.blob.tobytes(), values.offsets.tolist()
    for j, node in enumerate(names.rows_of_values().tolist()):
        key = normalize_alias(blob[offsets[j]:offsets[j + 1]].decode("utf-8"))
        if not key:
            continue
        lst = index.setdefault(key, [])
        if not lst or lst[-1] != node:  # rows come in node order, so lists stay sorted
            lst.append(node)
    return index
