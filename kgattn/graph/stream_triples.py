"""Streaming import of delimited triple files (``head<TAB>relation<TAB>tail``) larger than memory.

:func:`import_triples` writes the directory that ``KnowledgeGraph.from_triples(paths, names=...,
relation_names=..., add_inverse=...).save(out)`` would write -- the same arrays, strings and
fingerprint; the metadata adds ``"import": "streaming"`` -- without holding the triples or the
names in Python objects:

1. parse: each line becomes a row ``(head term, relation, tail term)`` of an int32 spill file;
   node ids get term ids in a dict (the one structure that grows with the graph, about 150-250
   bytes per distinct node id), relation ids in a small dict of their own;
2. nodes: every head and tail, sorted by id (the final node ids); relations sorted by id;
3. edges: :func:`kgattn.graph.stream_edges.write_edges` (bucketed by node range, CSR);
4. names: the names file read line by line, the first name of each node kept (as
   :func:`~kgattn.graph.triples.read_name_file` keeps it), written by
   :func:`kgattn.graph.stream_strings.write_literals` as the values of a single name predicate;
5. the fingerprint from the files, the manifest last, the range checks once
   (:func:`kgattn.graph.streaming.write_streamed`).

Errors and warnings are those of :func:`kgattn.graph.triples.read_triples` (a bad line names its
file and line; nodes without a name, names of no node, relations without a readable name,
duplicate triples), raised or warned as the lines are read.
"""
from __future__ import annotations

import time
import warnings
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgattn.errors import EmptyGraphError, GraphFormatError
from kgattn.graph.csr import inverse_name
from kgattn.graph.npy_files import SpillFile
from kgattn.graph.parts import GraphWarning
from kgattn.graph.stream_edges import write_edges
from kgattn.graph.stream_parse import Spills
from kgattn.graph.stream_strings import PredicateTable, write_ids, write_literals, write_types
from kgattn.graph.streaming import (CHUNK_TRIPLES, RANGE_EDGES, RANGE_LITERALS, STREAMING_THRESHOLD_BYTES,
                                    streamed_manifest, write_streamed)
from kgattn.graph.triples import MAX_LINE_LENGTH, as_paths, iter_fields, readable_relations, report_names

_NAME = "name"  # the one name predicate of a triple file's names (never stored)


def use_streaming_triples(path_or_paths, streaming: bool | str) -> bool:
    """Whether an import of these triple files streams: as given, or under ``"auto"`` when they
    hold :data:`~kgattn.graph.streaming.STREAMING_THRESHOLD_BYTES` or more on disk."""
    if streaming == "auto":
        return sum(p.stat().st_size for p in as_paths(path_or_paths) if p.is_file()) >= STREAMING_THRESHOLD_BYTES
    return bool(streaming)


def import_triples(path_or_paths, out, *, names=None, sep: str = "\t", relation_names=None,
                   add_inverse: bool = False, max_line_length: int = MAX_LINE_LENGTH, progress: bool = False,
                   chunk_triples: int = CHUNK_TRIPLES, range_edges: int = RANGE_EDGES,
                   range_literals: int = RANGE_LITERALS, report: dict | None = None) -> dict:
    """Import triple files into the saved-graph directory ``out``; returns its manifest.

    Args:
        names, sep, relation_names, add_inverse, max_line_length: as for
            :meth:`KnowledgeGraph.from_triples <kgattn.graph.KnowledgeGraph.from_triples>`.
        progress: a tqdm bar of the triples read and one of the edges bucketed.
        chunk_triples, range_edges, range_literals: as for :func:`kgattn.graph.streaming.import_ntriples`.
        report: filled with ``seconds`` per stage (parse, nodes, edges, strings, fingerprint, check).
    """
    paths = as_paths(path_or_paths)
    o = _Options(", ".join(str(p) for p in paths), names, sep, relation_names, add_inverse, max_line_length,
                 max(1, int(chunk_triples)), range_edges, range_literals, progress)

    def build(directory: Path, scratch: Path, report: dict) -> dict:
        timings = report["seconds"]
        clock = time.perf_counter()
        edges = SpillFile(scratch / "edges.i32", np.int32, 3)
        try:
            terms, relations = _spill_edges(paths, edges, o)
            timings["parse"], clock = time.perf_counter() - clock, time.perf_counter()
            return _build(directory, scratch, edges, terms, relations, o, timings, clock)
        finally:
            edges.remove()

    return write_streamed(out, build, report)


@dataclass(frozen=True)
class _Options:
    """One import's settings, as :func:`import_triples` takes them (``source`` names the files)."""

    source: str
    names: object
    sep: str
    relation_names: object
    add_inverse: bool
    max_line_length: int
    chunk: int
    range_edges: int
    range_literals: int
    progress: bool


def _spill_edges(paths: list[Path], edges: SpillFile, o: _Options) -> tuple[dict[str, int], dict[str, int]]:
    """Pass 1: term ids of the node ids, relation ids, and the edge rows in ``edges``."""
    terms: dict[str, int] = {}
    relations: dict[str, int] = {}
    rows = array("i")
    bar = None
    if o.progress:
        from tqdm import tqdm

        bar = tqdm(unit="triples", unit_scale=True, desc="parse", dynamic_ncols=True)
    term, relation, add, sep = terms.setdefault, relations.setdefault, rows.extend, o.sep
    for p in paths:
        for lineno, (h, r, t) in iter_fields(p, sep, 3, 3, o.max_line_length):
            if sep in t:
                raise GraphFormatError(f"expected 3 {sep!r}-separated fields, got more: {t!r}", p, lineno)
            add((term(h, len(terms)), relation(r, len(relations)), term(t, len(terms))))
            if len(rows) >= 3 * o.chunk:
                edges.append(np.frombuffer(rows, dtype=np.int32))
                if bar is not None:
                    bar.update(len(rows) // 3)
                del rows[:]
    edges.append(np.frombuffer(rows, dtype=np.int32))
    if bar is not None:
        bar.update(len(rows) // 3)
        bar.close()
    edges.finish()
    return terms, relations


def _build(directory: Path, scratch: Path, edges: SpillFile, terms: dict[str, int], relations: dict[str, int],
           o: _Options, timings: dict, clock: float) -> dict:
    if edges.rows == 0:
        raise EmptyGraphError(f"{o.source}: the graph has {len(terms)} nodes and 0 edges; "
                              "a knowledge graph needs at least one edge")
    # 2. nodes and relations in id order (as read_triples orders them)
    iris = list(terms)
    n = len(iris)
    node_terms = np.asarray(sorted(range(n), key=iris.__getitem__), dtype=np.int64)
    final_of_term = np.empty(n, dtype=np.int64)
    final_of_term[node_terms] = np.arange(n, dtype=np.int64)
    rel_ids = sorted(relations)
    rel_of_predicate = np.empty(len(rel_ids), dtype=np.int64)
    rel_of_predicate[[relations[r] for r in rel_ids]] = np.arange(len(rel_ids))
    write_ids(directory, iris, node_terms)
    out_raw, in_raw = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for _, rows in edges.chunks(o.chunk):
        out_raw += np.bincount(rows[:, 0], minlength=n)
        in_raw += np.bincount(rows[:, 2], minlength=n)
    timings["nodes"], clock = time.perf_counter() - clock, time.perf_counter()
    # 3. edges
    bar = None
    if o.progress:
        from tqdm import tqdm

        bar = tqdm(total=edges.rows, unit="edges", unit_scale=True, desc="bucket edges", dynamic_ncols=True)
    result = write_edges(edges, np.zeros(n, dtype=bool), final_of_term, rel_of_predicate, out_raw[node_terms],
                         in_raw[node_terms], n, directory, scratch, o.range_edges, o.chunk, bar, inverse=o.add_inverse)
    if bar is not None:
        bar.close()
    del out_raw, in_raw
    timings["edges"], clock = time.perf_counter() - clock, time.perf_counter()
    # 4. strings: no types, descriptions or attributes; names from the names file
    types = SpillFile(scratch / "types.i32", np.int32, 2).finish()
    type_vocab = write_types(directory, types, final_of_term, iris, n, o.chunk)
    types.remove()
    meta: dict = {"source": o.source}
    spills = Spills(terms={}, predicates={_NAME: 0}, edges=edges, types=types,
                    literals=SpillFile(scratch / "names.i32", np.int32, 2),
                    literal_lengths=SpillFile(scratch / "name_lengths.i64", np.int64),
                    literal_blob=SpillFile(scratch / "name_blob.u8", np.uint8))
    try:
        has_name, unused = _spill_names(terms, spills, o)
        del terms
        attr_vocab, _ = write_literals(directory, scratch, spills, final_of_term, set(),
                                       PredicateTable([_NAME], [_NAME], []), n, o.range_literals, o.chunk)
    finally:
        for spill in (spills.literals, spills.literal_lengths, spills.literal_blob):
            spill.remove()
    if o.names is not None:
        _warn_names(meta, o, has_name, unused, node_terms, iris)
    readable = readable_relations(rel_ids, o.relation_names, o.sep, o.max_line_length, meta, stacklevel=5)
    if result.duplicates:
        s, r, d = result.first_duplicate
        warnings.warn(f"{o.source}: removed {result.duplicates} duplicate triples (e.g. {iris[int(node_terms[s])]} "
                      f"{readable[r]} {iris[int(node_terms[d])]})", GraphWarning, stacklevel=5)
    if o.add_inverse:
        readable += [inverse_name(r) for r in readable]
        rel_ids += [inverse_name(r) for r in rel_ids]
    meta.update(duplicates_removed=result.duplicates, **{"import": "streaming"})
    strings_meta = {"relation_names": readable, "relation_ids": rel_ids, "type_vocab": type_vocab,
                    "attr_vocab": attr_vocab}
    timings["strings"] = time.perf_counter() - clock
    return streamed_manifest(directory, strings_meta, n, result.num_edges, meta, timings)


def _spill_names(terms: dict[str, int], spills: Spills, o: _Options) -> tuple[np.ndarray, int]:
    """The first name of each node from the ``id<sep>name`` file(s) into the literal spills;
    returns bool [terms] (has a name) and the number of distinct ids that name no node (counted
    by their hashes, 8 bytes per such line, not kept as strings)."""
    has_name = np.zeros(len(terms), dtype=bool)
    unknown = array("q")
    if o.names is not None:
        rows, values = array("i"), []
        for p in as_paths(o.names):
            for _, (node, name) in iter_fields(p, o.sep, 2, 2, o.max_line_length):
                t = terms.get(node)
                if t is None:
                    unknown.append(hash(node))
                elif not has_name[t]:
                    has_name[t] = True
                    rows.extend((t, 1))  # code 2 * predicate 0 + untagged
                    values.append(name.encode("utf-8"))
                    if len(values) >= o.chunk:
                        _flush_names(spills, rows, values)
        _flush_names(spills, rows, values)
    for spill in (spills.literals, spills.literal_lengths, spills.literal_blob):
        spill.finish()
    return has_name, int(np.unique(np.frombuffer(unknown, dtype=np.int64)).size) if unknown else 0


def _flush_names(spills: Spills, rows: array, values: list[bytes]) -> None:
    spills.literals.append(np.frombuffer(rows, dtype=np.int32))
    spills.literal_lengths.append(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
    spills.literal_blob.append_bytes(b"".join(values))
    del rows[:]
    values.clear()


def _warn_names(meta: dict, o: _Options, has_name: np.ndarray, unused: int, node_terms: np.ndarray,
                iris: list[str]) -> None:
    """The names-file counts and warnings of :func:`~kgattn.graph.triples.read_triples`."""
    n = has_name.shape[0]
    unnamed = int(n - np.count_nonzero(has_name))
    example = iris[int(node_terms[np.flatnonzero(~has_name[node_terms])[0]])] if unnamed else None
    report_names(meta, o.source, o.names, n, unnamed, unused, example, stacklevel=6)
