"""Streaming corpus readers: CSV, TSV, JSONL and Parquet in fixed-size shards, with pyarrow.

A corpus is never loaded whole: each file is read block by block (``pyarrow.csv.open_csv``,
``pyarrow.json.open_json``, ``ParquetFile.iter_batches``) and re-cut into shards of exactly
``shard_rows`` rows. Shard ``i`` always holds global rows ``[i * shard_rows, (i + 1) * shard_rows)``,
which is what makes shard-level resume and the split of shards across DDP ranks exact.

Each shard is a ``pyarrow.Table`` with the normalised columns

    row   int64   global 0-based row number over all files
    id    string  the id column, or the row number when the corpus has none
    text  string
    split string  "train" / "val" / "test" (null for unlabelled prediction input)
    <task> string one column per task (labelled corpora only)

Problems a user can cause raise :class:`kgattn.errors.CorpusError` naming the file and the
1-based data row (header not counted): missing file or column, empty text, missing label,
unknown split value, bytes that are not UTF-8, malformed JSON.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from kgattn.corpus_files import file_format, resolve_paths  # noqa: F401 (resolve_paths: re-exported)
from kgattn.errors import CorpusError

#: Bytes per pyarrow read block; a row longer than a block makes the reader retry with larger ones.
_BLOCK_BYTES = 1 << 20


def _split_hash(seed: int, salt: str, key: str) -> float:
    """A uniform number in [0, 1) from (seed, salt, key): stable across runs and machines."""
    digest = hashlib.blake2b(f"{seed}|{salt}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class SplitRule:
    """How a row gets its split: a column (mapped through ``values``) or ratios over the id hash."""

    column: str | None = None
    values: Mapping[str, str] = field(default_factory=lambda: {s: s for s in ("train", "val", "test")})
    ratios: Mapping[str, float] | None = None
    val_fraction: float = 0.0
    seed: int = 0

    def assign(self, ids: Sequence[str], raw: Sequence[str | None] | None, path: Path,
               first_file_row: int) -> list[str]:
        inverse = {v: k for k, v in self.values.items()}
        out = []
        for i, key in enumerate(ids):
            if self.column is not None:
                value = raw[i]
                if value is None or value not in inverse:
                    raise CorpusError(
                        f"split column '{self.column}' has value {value!r}; expected one of "
                        f"{sorted(inverse)}", path, first_file_row + i)
                split = inverse[value]
            else:
                u, acc, split = _split_hash(self.seed, "split", key), 0.0, "test"
                for name in ("train", "val", "test"):
                    acc += (self.ratios or {}).get(name, 0.0)
                    if u < acc:
                        split = name
                        break
            if split == "train" and self.val_fraction > 0 and \
                    _split_hash(self.seed, "val", key) < self.val_fraction:
                split = "val"
            out.append(split)
        return out


@dataclass(frozen=True)
class CorpusReader:
    """Reads corpus files as normalised shards (see the module docstring).

    Args:
        paths: files or glob patterns, read in order.
        format: ``auto`` (from the extension), ``csv``, ``tsv``, ``jsonl`` or ``parquet``.
        id_column: column of row ids; None numbers the rows.
        text_column: column of texts; an empty or missing text is an error.
        labels: task name -> label column; an empty label is an error in labelled rows.
        split: how rows are assigned to train/val/test; None for unlabelled input.
    """

    paths: tuple[Path, ...]
    format: str = "auto"
    id_column: str | None = "id"
    text_column: str = "text"
    labels: Mapping[str, str] = field(default_factory=dict)
    split: SplitRule | None = None

    @classmethod
    def from_spec(cls, spec, with_labels: bool = True) -> "CorpusReader":
        """From a :class:`CorpusSpec` (labelled) or a :class:`PredictInputSpec` (texts only)."""
        labels = dict(getattr(spec, "labels", {}) or {}) if with_labels else {}
        split = None
        if with_labels and hasattr(spec, "split_column"):
            split = SplitRule(column=spec.split_column, values=dict(spec.split_values),
                              ratios=dict(spec.split_ratios) if spec.split_ratios else None,
                              val_fraction=spec.val_fraction, seed=spec.seed)
            if split.column is None and split.ratios is None:
                split = SplitRule(ratios={"train": 0.8, "val": 0.1, "test": 0.1},
                                  val_fraction=spec.val_fraction, seed=spec.seed)
        return cls(paths=tuple(resolve_paths(spec.paths)), format=spec.format,
                   id_column=spec.id_column, text_column=spec.text_column, labels=labels, split=split)

    # -- metadata ----------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        cols = [c for c in (self.id_column, self.text_column) if c]
        cols += [c for c in self.labels.values() if c not in cols]
        if self.split is not None and self.split.column and self.split.column not in cols:
            cols.append(self.split.column)
        return cols

    def fingerprint(self) -> list[dict]:
        """Name, size and modification time of every file: changes when the input does."""
        return [{"path": str(p.resolve()), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
                for p in self.paths]

    def count_rows(self) -> int:
        """Rows in all files: exact for Parquet, newline-based for text formats (for progress bars;
        a CSV with quoted newlines is over-counted)."""
        total = 0
        for path in self.paths:
            fmt = file_format(path, self.format)
            if fmt == "parquet":
                total += pq.ParquetFile(path).metadata.num_rows
                continue
            lines, last = 0, b"\n"
            with open(path, "rb") as fh:
                while chunk := fh.read(_BLOCK_BYTES):
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
            lines += last != b"\n"
            total += max(lines - (fmt in ("csv", "tsv")), 0)
        return total

    # -- reading -----------------------------------------------------------------------------
    def shards(self, shard_rows: int) -> Iterator[tuple[int, pa.Table]]:
        """Yield ``(shard_index, table)`` with exactly ``shard_rows`` rows (the last may be shorter)."""
        pending: list[pa.Table] = []
        pending_rows, index = 0, 0
        for table in self._tables():
            pending.append(table)
            pending_rows += table.num_rows
            while pending_rows >= shard_rows:
                merged = pa.concat_tables(pending)
                yield index, merged.slice(0, shard_rows).combine_chunks()
                index += 1
                rest = merged.slice(shard_rows)
                pending, pending_rows = [rest], rest.num_rows
        if pending_rows:
            yield index, pa.concat_tables(pending).combine_chunks()

    def _tables(self) -> Iterator[pa.Table]:
        row = 0
        for path in self.paths:
            file_row = 1
            for batch in self._raw_batches(path):
                table = self._normalise(batch, path, file_row, row)
                file_row += table.num_rows
                row += table.num_rows
                yield table
            if file_row == 1:
                raise CorpusError("corpus file has no rows", path)

    def _normalise(self, batch: pa.RecordBatch, path: Path, file_row: int, row: int) -> pa.Table:
        n = batch.num_rows
        rows = pa.array(range(row, row + n), pa.int64())
        text = _as_str(batch.column(self.text_column), path, self.text_column, file_row)
        blank = pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_trim_whitespace(text), ""))
        if pc.any(blank).as_py():
            first = pc.index(blank, True).as_py()
            raise CorpusError(f"empty text in column '{self.text_column}'", path, file_row + first)
        if self.id_column:
            ids = _as_str(batch.column(self.id_column), path, self.id_column, file_row)
            if ids.null_count:
                first = pc.index(pc.is_null(ids), True).as_py()
                raise CorpusError(f"missing id in column '{self.id_column}'", path, file_row + first)
        else:
            ids = pc.cast(rows, pa.string())
        columns = {"row": rows, "id": ids, "text": text}
        if self.split is not None:
            raw = (_as_str(batch.column(self.split.column), path, self.split.column, file_row).to_pylist()
                   if self.split.column else None)
            columns["split"] = pa.array(self.split.assign(ids.to_pylist(), raw, path, file_row), pa.string())
        else:
            columns["split"] = pa.nulls(n, pa.string())
        for task, column in self.labels.items():
            values = _as_str(batch.column(column), path, column, file_row)
            missing = pc.or_kleene(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), ""))
            if pc.any(missing).as_py():
                first = pc.index(missing, True).as_py()
                raise CorpusError(f"missing label in column '{column}' (task '{task}')", path,
                                  file_row + first)
            columns[task] = values
        return pa.table(columns)

    def _raw_batches(self, path: Path) -> Iterator[pa.RecordBatch]:
        fmt = file_format(path, self.format)
        try:
            if fmt in ("csv", "tsv"):
                yield from self._csv(path, "\t" if fmt == "tsv" else ",")
            elif fmt == "jsonl":
                yield from self._jsonl(path)
            else:
                yield from self._parquet(path)
        except CorpusError:
            raise
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            raise _diagnose(path, fmt, exc) from None

    def _check_columns(self, path: Path, names: Sequence[str]) -> None:
        for column in self.columns:
            if column not in names:
                raise CorpusError(f"column '{column}' not found; the file has columns {list(names)}", path)

    def _csv(self, path: Path, delimiter: str) -> Iterator[pa.RecordBatch]:
        with open(path, "rb") as fh:
            header_bytes = fh.readline()
        try:
            header_text = header_bytes.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"header is not UTF-8 (byte {exc.start})", path) from None
        tsv = delimiter == "\t"
        # TSV has no quoting (a text may start with a quote character); CSV follows RFC 4180.
        header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter,
                                 quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL), [])
        self._check_columns(path, header)
        parse = (pa_csv.ParseOptions(delimiter=delimiter, quote_char=False) if tsv
                 else pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True))
        convert = pa_csv.ConvertOptions(include_columns=self.columns,
                                        column_types={c: pa.string() for c in self.columns},
                                        strings_can_be_null=True, quoted_strings_can_be_null=False)
        yield from _growing_blocks(path, lambda block: pa_csv.open_csv(
            path, read_options=pa_csv.ReadOptions(block_size=block), parse_options=parse,
            convert_options=convert))

    def _jsonl(self, path: Path) -> Iterator[pa.RecordBatch]:
        def open_reader(block: int):
            reader = pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=block))
            self._check_columns(path, reader.schema.names)
            return reader

        yield from _growing_blocks(path, open_reader)

    def _parquet(self, path: Path) -> Iterator[pa.RecordBatch]:
        file = pq.ParquetFile(path)
        self._check_columns(path, file.schema_arrow.names)
        yield from file.iter_batches(batch_size=65536, columns=self.columns)


def _growing_blocks(path: Path, open_reader: Callable[[int], Iterator[pa.RecordBatch]]) -> Iterator[pa.RecordBatch]:
    """The batches of ``open_reader(block_size)``, without a limit on the size of one row.

    pyarrow's streaming readers parse in blocks (``_BLOCK_BYTES``) and refuse a row longer than
    a block ("straddling object ... increase block size"). Then the file is opened again with
    four times the block (up to the file's size) and the rows already yielded are skipped, so
    the caller sees every row once, in order. Long rows cost a re-read, short ones nothing.
    """
    block, done = _BLOCK_BYTES, 0
    limit = max(path.stat().st_size + 1, _BLOCK_BYTES)
    while True:
        seen = 0
        try:
            for batch in open_reader(block):
                start, seen = seen, seen + batch.num_rows
                if seen <= done:
                    continue          # yielded before the block grew
                yield batch.slice(done - start) if start < done else batch
                done = seen
            return
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) or block >= limit:
                raise
            block = min(block * 4, limit)


def _as_str(array: pa.Array | pa.ChunkedArray, path: Path, column: str, file_row: int) -> pa.Array:
    """A column as UTF-8 strings; bytes that are not UTF-8 name their row."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.cast(pa.string())
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        for i, value in enumerate(array.to_pylist()):
            if value is not None:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise CorpusError(f"column '{column}' holds bytes that are not UTF-8 "
                                      f"(byte {exc.start})", path, file_row + i) from None
        return array.cast(pa.string())
    if pa.types.is_floating(array.type):
        # Whole floats (a label column read as 1.0, 2.0) read back as their integer spelling.
        as_py = [None if v is None else (str(int(v)) if float(v).is_integer() else str(v))
                 for v in array.to_pylist()]
        return pa.array(as_py, pa.string())
    try:
        return array.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise CorpusError(f"column '{column}' has values of type {array.type} that are not text",
                          path) from None


def _diagnose(path: Path, fmt: str, exc: Exception) -> CorpusError:
    """Turn a reader failure into a message naming the line: find the first bad line in Python."""
    if fmt == "parquet":
        return CorpusError(f"cannot read Parquet file: {exc}", path)
    types: dict[str, str] = {}
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                return CorpusError(f"line {number} is not valid UTF-8 (byte {err.start} of the line, "
                                   f"{raw[max(err.start - 10, 0):err.start + 10]!r}); "
                                   "convert the file to UTF-8", path)
            if fmt != "jsonl" or not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                return CorpusError(f"line {number} is not valid JSON: {err.msg} at column {err.colno}", path)
            if not isinstance(record, dict):
                return CorpusError(f"line {number} is not a JSON object", path)
            for key, value in record.items():
                kind = "null" if value is None else type(value).__name__
                if kind == "null":
                    continue
                if types.setdefault(key, kind) != kind:
                    return CorpusError(f"line {number}: field '{key}' changes type from {types[key]} to "
                                       f"{kind}; give it one type in every line (quote ids)", path)
    if fmt in ("csv", "tsv"):
        row = _bad_csv_row(path, "\t" if fmt == "tsv" else ",")
        if row is not None:
            return CorpusError(row[1], path, row[0])
    return CorpusError(f"cannot read {fmt.upper()} file: {exc}", path)


def _bad_csv_row(path: Path, delimiter: str) -> tuple[int, str] | None:
    """``(data row, message)`` of the first row whose field count differs from the header's."""
    csv.field_size_limit(1 << 30)     # the reader has no limit on a field either
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh, delimiter=delimiter, quoting=quoting)
        header = next(rows, [])
        for number, fields in enumerate(rows, start=1):
            if fields and len(fields) != len(header):
                return number, f"has {len(fields)} fields, the header has {len(header)}"
    return None
