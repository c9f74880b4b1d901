"""Delimited triple files (``head<TAB>relation<TAB>tail``, gzip ok) and id-to-name files.

Limits: a line longer than :data:`MAX_LINE_LENGTH` characters (``max_line_length=``) is refused
with an error naming file and line, and is never read into memory whole; a truncated or
damaged ``.gz`` is a :class:`~kgattn.errors.GraphFormatError` naming the file.
"""
from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kgattn.errors import GraphFormatError
from kgattn.graph.parts import GraphParts, GraphWarning

#: Longest line (in characters, end of line excluded) of a triple or name file: 1 MiB.
MAX_LINE_LENGTH = 1 << 20


def as_paths(path_or_paths) -> list[Path]:
    if isinstance(path_or_paths, (str, Path)):
        return [Path(path_or_paths)]
    paths = [Path(p) for p in path_or_paths]
    if not paths:
        raise GraphFormatError("no input file given")
    return paths


def open_text(path: Path) -> io.TextIOBase:
    """Open a UTF-8 text file, gunzipping ``.gz``; CRLF and CR line ends read as LF."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline=None)
    return open(path, encoding="utf-8", newline=None)


def iter_fields(path: Path, sep: str, n_min: int, n_max: int, max_line_length: int = MAX_LINE_LENGTH
                ) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank line; a wrong field count or a line longer than
    ``max_line_length`` characters names file and line."""
    with open_text(path) as f:
        try:
            lineno = 0
            while line := f.readline(max_line_length + 2):  # + 2: the end of line, and one too many
                lineno += 1
                line = line.rstrip("\n")
                if len(line) > max_line_length:
                    raise GraphFormatError(f"line longer than {max_line_length} characters (max_line_length); "
                                           f"starts {line[:40]!r}", path, lineno)
                if not line.strip():
                    continue
                fields = line.split(sep, n_max - 1) if n_max < 99 else line.split(sep)
                if len(fields) < n_min or any(not x.strip() for x in fields[:n_min]):
                    raise GraphFormatError(f"expected {n_min} non-empty {sep!r}-separated fields, got "
                                           f"{len(fields)}: {line[:80]!r}", path, lineno)
                yield lineno, [x.strip() for x in fields]
        except UnicodeDecodeError as e:
            raise GraphFormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise GraphFormatError(f"unreadable compressed file (truncated or damaged): {e}", path) from None


def read_name_file(paths, sep: str, max_line_length: int = MAX_LINE_LENGTH) -> dict[str, str]:
    names: dict[str, str] = {}
    for p in as_paths(paths):
        for lineno, fields in iter_fields(p, sep, 2, 2, max_line_length):
            names.setdefault(fields[0], fields[1])
    return names


def read_triples(path, names=None, sep: str = "\t", relation_names=None, *,
                 max_line_length: int = MAX_LINE_LENGTH) -> GraphParts:
    """The parts of a graph read from triple files (see :meth:`KnowledgeGraph.from_triples
    <kgattn.graph.KnowledgeGraph.from_triples>`); nodes and relations sorted by id."""
    paths = as_paths(path)
    node_lookup: dict[str, int] = {}
    rel_lookup: dict[str, int] = {}
    heads: list[int] = []
    rels: list[int] = []
    tails: list[int] = []
    for p in paths:
        for lineno, (h, r, t) in iter_fields(p, sep, 3, 3, max_line_length):
            if sep in t:
                raise GraphFormatError(f"expected 3 {sep!r}-separated fields, got more: {t!r}", p, lineno)
            heads.append(node_lookup.setdefault(h, len(node_lookup)))
            rels.append(rel_lookup.setdefault(r, len(rel_lookup)))
            tails.append(node_lookup.setdefault(t, len(node_lookup)))
    source = ", ".join(str(p) for p in paths)
    # Canonical order: nodes and relations sorted by id, so the fingerprint does not depend on
    # the order of lines or files.
    node_ids = sorted(node_lookup)
    node_perm = np.empty(len(node_ids), dtype=np.int64)
    node_perm[np.fromiter((node_lookup[x] for x in node_ids), dtype=np.int64, count=len(node_ids))] = \
        np.arange(len(node_ids))
    rel_ids = sorted(rel_lookup)
    rel_perm = np.empty(len(rel_ids), dtype=np.int64)
    rel_perm[np.fromiter((rel_lookup[x] for x in rel_ids), dtype=np.int64, count=len(rel_ids))] = \
        np.arange(len(rel_ids))
    src = node_perm[np.asarray(heads, dtype=np.int64)] if heads else np.empty(0, np.int64)
    dst = node_perm[np.asarray(tails, dtype=np.int64)] if tails else np.empty(0, np.int64)
    rel = rel_perm[np.asarray(rels, dtype=np.int64)] if rels else np.empty(0, np.int64)
    del heads, rels, tails

    labels: list[str | None] = [None] * len(node_ids)
    meta: dict = {"source": source}
    if names is not None:
        table = read_name_file(names, sep, max_line_length)
        labels = [table.get(x) for x in node_ids]
        unnamed = sum(1 for x in labels if x is None)
        example = next((x for x, lab in zip(node_ids, labels) if lab is None), None)
        report_names(meta, source, names, len(node_ids), unnamed, len(table) - (len(node_ids) - unnamed),
                     example, stacklevel=3)
    readable = readable_relations(rel_ids, relation_names, sep, max_line_length, meta, stacklevel=3)
    return GraphParts(node_ids, src, dst, rel, readable, labels=labels, relation_ids=rel_ids, metadata=meta,
                      source=source)


def report_names(meta: dict, source, names, num_nodes: int, unnamed: int, unused: int, example: str | None,
                 stacklevel: int = 2) -> None:
    """The names file's counts into ``meta`` and its two :class:`GraphWarning` s (nodes without a name,
    ``example`` one of them; named ids in no triple). Shared by the in-memory and the streaming TSV readers."""
    meta.update(nodes_without_name=unnamed, names_not_in_graph=unused)
    if unnamed:
        warnings.warn(f"{source}: {unnamed} of {num_nodes} nodes have no name in the names file "
                      f"(e.g. {example!r}); their id is their label", GraphWarning, stacklevel=stacklevel + 1)
    if unused:
        warnings.warn(f"{names}: {unused} named ids occur in no triple and are not added as nodes",
                      GraphWarning, stacklevel=stacklevel + 1)   # + 1: this helper


def readable_relations(rel_ids: list[str], relation_names, sep: str, max_line_length: int, meta: dict,
                       stacklevel: int = 2) -> list[str]:
    """Each relation's readable name from the ``relation<sep>name`` file(s) (its id when none, with a
    :class:`GraphWarning`); ``meta["relations_without_name"]`` counts them. Shared by the in-memory
    and the streaming TSV readers."""
    if relation_names is None:
        return list(rel_ids)
    table = read_name_file(relation_names, sep, max_line_length)
    missing = sum(1 for r in rel_ids if r not in table)
    meta["relations_without_name"] = missing
    if missing:
        warnings.warn(f"{relation_names}: {missing} relations have no readable name; their id is used",
                      GraphWarning, stacklevel=stacklevel + 1)  # + 1: this helper
    return [table.get(r, r) for r in rel_ids]
