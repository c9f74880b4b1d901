"""Arrays written and read a piece at a time: ``.npy`` files that grow, spill files, chunked hashing.

The streaming importer (:mod:`kgattn.graph.streaming`) writes graphs larger than memory, so it
never holds a whole array: it appends pieces to files and reads slices back with explicit
``read`` calls. It never memory-maps what it reads: a mapped page counts towards the process's
resident set (RSS) for as long as the map lives, a page read with ``read`` only towards the
kernel's page cache.

* :class:`NpyWriter`: a 1-d ``.npy`` file of unknown final length. It reserves the header,
  appends pieces, and on :meth:`~NpyWriter.close` writes the header with the real length
  (numpy pads every version-1 header to a multiple of 64 bytes, so the 128 bytes reserved hold
  the header of any 1-d shape below 10**40 entries).
* :class:`SpillFile`: a headerless file of fixed-width rows (``dtype``, ``width`` columns) with
  :meth:`~SpillFile.read` of a row range and :meth:`~SpillFile.chunks`.
* :func:`read_npy_slice`: entries ``[start, stop)`` of a 1-d ``.npy`` file.
* :func:`content_fingerprint`: the graph fingerprint (SHA-256 over the string metadata, then over
  every non-derived array: ``name:dtype:shape`` and its bytes, by name), computed from pieces so
  that the store (arrays in memory) and the streaming importer (files) share one definition.

Pure numpy and the standard library; imports nothing from kgattn.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

HEADER_BYTES = 128
#: Bytes hashed or copied per read when a file is processed piecewise (64 MiB).
PIECE_BYTES = 64 << 20


def _header(dtype: np.dtype, length: int) -> bytes:
    d = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (length,)}
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, d)
    return buf.getvalue()


class NpyWriter:
    """A 1-d ``.npy`` file of ``dtype`` written by :meth:`append`; :meth:`close` fixes its length."""

    def __init__(self, path: str | Path, dtype):
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._fh = open(self.path, "wb")
        self._fh.write(b"\0" * HEADER_BYTES)

    def append(self, values) -> None:
        arr = np.ascontiguousarray(values, dtype=self.dtype)
        arr = arr.reshape(-1)
        if arr.size:
            self._fh.write(arr.view(np.uint8))
        self.length += arr.shape[0]

    def close(self) -> int:
        """Write the header for the final length and close; returns the length."""
        if self._fh.closed:
            return self.length
        header = _header(self.dtype, self.length)
        if len(header) != HEADER_BYTES:  # pragma: no cover - only for absurd lengths
            raise ValueError(f"npy header of {len(header)} bytes does not fit the {HEADER_BYTES} reserved")
        self._fh.seek(0)
        self._fh.write(header)
        self._fh.close()
        return self.length


class PointerWriter:
    """A CSR pointer array ``[0, c0, c0+c1, ...]`` (int64 ``.npy``) written from counts piecewise."""

    def __init__(self, path: str | Path):
        self._out = NpyWriter(path, np.int64)
        self._out.append(np.zeros(1, dtype=np.int64))
        self.total = 0

    def add_counts(self, counts: np.ndarray) -> None:
        if counts.size:
            ptr = np.cumsum(counts, dtype=np.int64)
            ptr += self.total
            self._out.append(ptr)
            self.total = int(ptr[-1])

    def close(self) -> int:
        self._out.close()
        return self.total


class StringsWriter:
    """A string table (``<prefix>.blob`` uint8 + ``<prefix>.offsets`` int64 [n+1]) written piecewise."""

    def __init__(self, directory: Path, prefix: str):
        self._blob = NpyWriter(directory / f"{prefix}.blob.npy", np.uint8)
        self._offsets = PointerWriter(directory / f"{prefix}.offsets.npy")
        self.count = 0

    def add(self, encoded: list[bytes]) -> None:
        """Append UTF-8 encoded strings."""
        if encoded:
            self._blob.append(np.frombuffer(b"".join(encoded), dtype=np.uint8))
            self._offsets.add_counts(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
            self.count += len(encoded)

    def close(self) -> None:
        self._blob.close()
        self._offsets.close()


class SpillFile:
    """Rows of ``width`` values of ``dtype`` appended to a headerless file, read back by range."""

    def __init__(self, path: str | Path, dtype, width: int = 1):
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.width = width
        self.rows = 0
        self._fh = open(self.path, "wb")

    def append(self, rows) -> None:
        arr = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1)
        if arr.size:
            self._fh.write(arr.view(np.uint8))
        self.rows += arr.size // self.width

    def append_bytes(self, data: bytes) -> None:
        """Raw bytes (``dtype`` uint8, width 1): a value blob."""
        self._fh.write(data)
        self.rows += len(data)

    def finish(self) -> "SpillFile":
        if not self._fh.closed:
            self._fh.close()
        return self

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` as an array [rows, width] (or [rows] for width 1)."""
        self.finish()
        count = max(0, stop - start) * self.width
        with open(self.path, "rb") as fh:
            fh.seek(start * self.width * self.dtype.itemsize)
            arr = np.fromfile(fh, dtype=self.dtype, count=count)
        return arr.reshape(-1, self.width) if self.width > 1 else arr

    def chunks(self, rows_per_chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, rows)`` pieces of at most ``rows_per_chunk`` rows, in order."""
        for start in range(0, self.rows, max(1, rows_per_chunk)):
            yield start, self.read(start, min(self.rows, start + rows_per_chunk))

    def remove(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)


def npy_info(path: str | Path) -> tuple[np.dtype, tuple, int]:
    """dtype, shape and data offset (bytes) of a ``.npy`` file, from its header."""
    with open(path, "rb") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        if fortran and len(shape) > 1:
            raise ValueError(f"{path}: Fortran-ordered arrays are not read piecewise")
        return dtype, shape, fh.tell()


def read_npy_slice(path: str | Path, start: int, stop: int) -> np.ndarray:
    """Entries ``[start, stop)`` of a 1-d ``.npy`` file, read (not mapped)."""
    dtype, _, offset = npy_info(path)
    with open(path, "rb") as fh:
        fh.seek(offset + start * dtype.itemsize)
        return np.fromfile(fh, dtype=dtype, count=max(0, stop - start))


def npy_pieces(path: str | Path, piece_bytes: int = PIECE_BYTES) -> Iterator[bytes]:
    """The data bytes of a ``.npy`` file in pieces (for hashing without mapping it)."""
    _, _, offset = npy_info(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        while piece := fh.read(piece_bytes):
            yield piece


def content_fingerprint(strings_meta: dict, arrays: Iterable[tuple[str, str, tuple, Iterable]],
                        format_version: int) -> str:
    """SHA-256 hex digest of a graph's content.

    ``strings_meta``: relation names/ids and vocabularies (hashed as sorted-key JSON with the
    format version); ``arrays``: ``(name, dtype.str, shape, pieces of bytes)`` of every
    non-derived array, hashed in name order as ``"name:dtype:shape"`` then the bytes.
    """
    h = hashlib.sha256()
    h.update(json.dumps({"v": format_version, **strings_meta}, sort_keys=True).encode())
    for name, dtype_str, shape, pieces in sorted(arrays, key=lambda item: item[0]):
        h.update(f"{name}:{dtype_str}:{shape}".encode())
        for piece in pieces:
            h.update(piece)
    return h.hexdigest()
