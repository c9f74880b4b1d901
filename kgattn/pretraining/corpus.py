"""An unlabelled corpus, read in shards and linked to the graph once, with shard-level resume.

Texts are read block by block with pyarrow (CSV, TSV, JSONL, Parquet; only the text column),
empty texts are skipped, and the stream is cut into shards of ``shard_rows`` texts. Each shard
is linked with :meth:`EntityLinker.link_batch` and saved as ``link/shard-<i>.parquet`` (texts +
mentions) atomically, so a killed run re-links only the unfinished shards; under ``torchrun``
rank ``r`` links the shards ``i % world == r`` and every rank then reads them all.

(The pipeline's :mod:`kgattn.pipeline.corpus` reads labelled corpora the same way; this module
does not import it because the pipeline may import :mod:`kgattn.pretraining`.)
"""
from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from kgattn.corpus_files import file_format, resolve_paths
from kgattn.errors import CorpusError
from kgattn.linking.types import Mention
from kgattn.persistence import atomic_path, read_json, remove_path, write_json

_BLOCK_BYTES = 1 << 24
MENTION_TYPE = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()),
                          ("node", pa.int64()), ("ner_label", pa.string())])
LINK_MANIFEST = "manifest.json"


def _missing(path: Path, column: str, names: Sequence[str]) -> CorpusError:
    return CorpusError(f"text column '{column}' not found; the file has columns {list(names)} "
                       "(set corpus.text_column)", path)


def _batches(path: Path, column: str, fmt: str) -> Iterator[pa.Array]:
    """The text column of one file, block by block, as string arrays."""
    fmt = file_format(path, fmt, key="corpus.format")
    try:
        if fmt in ("csv", "tsv"):
            delimiter = "\t" if fmt == "tsv" else ","
            with open(path, "rb") as fh:
                header_text = fh.readline().decode("utf-8-sig")
            header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter,
                                     quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL), [])
            if column not in header:
                raise _missing(path, column, header)
            parse = (pa_csv.ParseOptions(delimiter=delimiter, quote_char=False) if fmt == "tsv"
                     else pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True))
            reader = pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=_BLOCK_BYTES),
                                     parse_options=parse,
                                     convert_options=pa_csv.ConvertOptions(include_columns=[column],
                                                                           column_types={column: pa.string()}))
            for batch in reader:
                yield batch.column(0)
        elif fmt == "jsonl":
            reader = pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=_BLOCK_BYTES))
            if column not in reader.schema.names:
                raise _missing(path, column, reader.schema.names)
            for batch in reader:
                yield batch.column(column)
        else:
            file = pq.ParquetFile(path)
            if column not in file.schema_arrow.names:
                raise _missing(path, column, file.schema_arrow.names)
            for batch in file.iter_batches(batch_size=65536, columns=[column]):
                yield batch.column(0)
    except CorpusError:
        raise
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not valid UTF-8 (byte {exc.start} of the header); convert the file to UTF-8",
                          path) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorpusError(f"cannot read the {fmt.upper()} file: {exc}", path) from None


def iter_text_shards(paths: Sequence[str | Path], text_column: str = "text", fmt: str = "auto",
                     shard_rows: int = 5000, max_rows: int | None = None) -> Iterator[list[str]]:
    """Shards of ``shard_rows`` non-empty texts (the last may be shorter), in file order.

    A text column of another type than strings is a CorpusError naming the file.
    """
    shard: list[str] = []
    taken = 0
    for path in resolve_paths(paths):
        for array in _batches(path, text_column, fmt):
            if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
                    or pa.types.is_null(array.type)):
                raise CorpusError(f"text column '{text_column}' holds {array.type} values, not text", path)
            for text in array.to_pylist():
                if text is None or not text.strip():
                    continue
                shard.append(text)
                taken += 1
                if len(shard) == shard_rows:
                    yield shard
                    shard = []
                if max_rows is not None and taken >= max_rows:
                    if shard:
                        yield shard
                    return
    if shard:
        yield shard


def mentions_to_arrow(mentions: Sequence[Sequence[Mention]]) -> pa.Array:
    rows = [[{"start": m.start, "end": m.end, "text": m.text, "node": m.node, "ner_label": m.ner_label}
             for m in ms] for ms in mentions]
    return pa.array(rows, pa.list_(MENTION_TYPE))


def mentions_from_arrow(column: pa.ChunkedArray | pa.Array) -> list[list[Mention]]:
    return [[Mention(m["start"], m["end"], m["text"], node=m["node"], ner_label=m["ner_label"]) for m in ms or ()]
            for ms in column.to_pylist()]


def _wait_for(paths: list[Path], timeout_s: float = 24 * 3600) -> None:
    """Wait until every file exists (ranks link their own shards and then read all of them)."""
    deadline = time.monotonic() + timeout_s
    while not all(p.is_file() for p in paths):
        if time.monotonic() > deadline:
            missing = [str(p) for p in paths if not p.is_file()][:3]
            raise CorpusError(f"timed out waiting for other ranks to link shards {missing}")
        time.sleep(1.0)


class LinkedCorpus:
    """Texts and their linked mentions, linked shard by shard into ``directory`` (resumable).

    Args:
        directory: where ``shard-<i>.parquet`` files and ``manifest.json`` live.
        key: a hash of everything the shards depend on (corpus, graph, linker); shards of another
            key are stale and linked again.
    """

    def __init__(self, directory: str | Path, key: str):
        self.directory = Path(directory)
        self.key = key
        self.linked_now = 0   # texts linked by the last call of link() (0 when every shard was done)

    def shard_path(self, index: int) -> Path:
        return self.directory / f"shard-{index:05d}.parquet"

    def _prepare_directory(self, rank: int) -> None:
        manifest = self.directory / LINK_MANIFEST
        if manifest.is_file() and read_json(manifest, "link manifest").get("key") != self.key:
            if rank == 0:  # linked with other settings: these are our own stale files
                for old in self.directory.glob("shard-*.parquet"):
                    remove_path(old)
                remove_path(manifest)
        if rank == 0 and not manifest.is_file():
            write_json(manifest, {"key": self.key})
        while rank != 0 and not (manifest.is_file() and read_json(manifest, "link manifest").get("key") == self.key):
            time.sleep(1.0)  # rank 0 clears stale shards first

    def link(self, shards: Iterator[list[str]], linker, batch_size: int = 256, n_process: int = 1,
             rank: int = 0, world: int = 1, log=None) -> tuple[list[str], list[list[Mention]]]:
        """Link every shard not yet linked (this rank's share), then read all shards back."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._prepare_directory(rank)
        kwargs = {"batch_size": batch_size, **({"n_process": n_process} if n_process > 1 else {})}
        paths, linked_now = [], 0
        for index, texts in enumerate(shards):
            path = self.shard_path(index)
            paths.append(path)
            if index % world != rank or path.is_file():
                continue
            mentions = [list(ms) for ms in linker.link_batch(texts, **kwargs)]
            if len(mentions) != len(texts):
                raise RuntimeError(f"the linker returned {len(mentions)} results for {len(texts)} texts")
            table = pa.table({"text": pa.array(texts, pa.string()), "mentions": mentions_to_arrow(mentions)})
            with atomic_path(path) as tmp:
                pq.write_table(table, tmp)
            linked_now += len(texts)
            if log is not None:
                log(f"linked shard {index} ({len(texts)} texts)")
        if world > 1:
            _wait_for(paths)
        texts: list[str] = []
        mentions: list[list[Mention]] = []
        for path in paths:
            table = pq.read_table(path)
            texts += table.column("text").to_pylist()
            mentions += mentions_from_arrow(table.column("mentions"))
        self.linked_now = linked_now
        return texts, mentions


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` from the variables torchrun sets, else ``(0, 1)``."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
