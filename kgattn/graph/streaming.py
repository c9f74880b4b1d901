"""Streaming import of N-Triples graphs larger than memory, straight to the saved-graph format.

:func:`import_ntriples` reads ``.nt`` / ``.nt.gz`` files with pyoxigraph's streaming parser and
writes the directory :meth:`KnowledgeGraph.save <kgattn.graph.KnowledgeGraph.save>` would write
for ``KnowledgeGraph.from_rdf(paths)``: the same arrays, strings, metadata (plus
``"import": "streaming"``) and fingerprint, so :meth:`KnowledgeGraph.load` (memory-mapped),
subgraphs, the linker and fingerprints work unchanged. Triples are mapped exactly as
:mod:`kgattn.graph.rdf` maps them (names, descriptions, attributes, types, schema triples,
relation names, the language filter, blank nodes, the dangling-node and duplicate warnings).

Stages (each a pass over files, never the whole graph in Python objects):

1. parse (:mod:`~kgattn.graph.stream_parse`): triples -> term ids + spill files of int32 rows;
2. node set: the subjects and edge endpoints that are not relations, sorted by IRI (final ids);
3. edges (:mod:`~kgattn.graph.stream_edges`): bucketed by node range, sorted per range, CSR;
4. strings (:mod:`~kgattn.graph.stream_strings`): ids, names, descriptions, attributes, types;
5. fingerprint (hashed from the files) and the manifest, written last;
6. the load-time range checks, run once on the result (so its first load skips them).

Memory: the term dict (about 150-250 bytes per distinct IRI: ~2 GB for 10M entities) and a few
int64 arrays per term, plus one node range (``range_edges`` edges, default 8M: ~0.7 GB of sort
temporaries). Disk: the spills (12 bytes per edge, 8 per type, 16 + value per literal) and the
edge buckets (24 bytes per edge) beside the output, removed as they are consumed. Everything is
written to a temporary sibling of ``out`` and renamed at the end
(:func:`kgattn.persistence.atomic_path`): bad input leaves nothing at ``out``.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kgattn.errors import EmptyGraphError, UnknownFormatError
from kgattn.graph.csr import inverse_name
from kgattn.graph.npy_files import content_fingerprint, npy_info, npy_pieces
from kgattn.graph.parts import GraphWarning
from kgattn.graph.rdf import DESCRIPTION_PREDICATES, NAME_PREDICATES, readable_relation
from kgattn.graph.rdf_parse import MAX_LITERAL_LENGTH, guess_format
from kgattn.graph.saved import FORMAT_VERSION, KIND, MANIFEST, read_graph
from kgattn.graph.stream_edges import predicates_used, scan_edges, write_edges
from kgattn.graph.stream_parse import RDF_TYPE, Spills, spill_ntriples
from kgattn.graph.stream_strings import PredicateTable, write_ids, write_literals, write_types
from kgattn.graph.triples import as_paths
from kgattn.persistence import atomic_path, remove_path, write_manifest

#: N-Triples inputs at least this large (bytes on disk, all files) are imported by streaming
#: when ``streaming="auto"``.
STREAMING_THRESHOLD_BYTES = 64 << 20
CHUNK_TRIPLES = 1_000_000
RANGE_EDGES = 8_000_000
RANGE_LITERALS = 4_000_000
_NOT_DERIVED = ("ids.blob", "ids.offsets", "names.ptr", "names.blob", "names.offsets", "types.ptr", "types.ids",
                "descriptions.blob", "descriptions.offsets", "attrs.ptr", "attrs.ids", "attrs.values.blob",
                "attrs.values.offsets", "src", "dst", "rel")
_DERIVED = ("out_ptr", "adj_ptr", "adj_nbr", "adj_rel", "nbr_ptr", "nbr")


def is_ntriples(paths: list[Path], format: str | None = None) -> bool:
    """Every file is N-Triples (by ``format`` or by extension, ``.gz`` allowed)."""
    try:
        return all(guess_format(p, format) == "nt" for p in paths)
    except UnknownFormatError:
        return False


def use_streaming(path_or_paths, format: str | None, streaming: bool | str) -> bool:
    """Whether an import of these files streams: ``True``/``False`` as given (``True`` for a
    non-N-Triples input is an error); ``"auto"``: N-Triples of at least
    :data:`STREAMING_THRESHOLD_BYTES` in all."""
    paths = as_paths(path_or_paths)
    if streaming == "auto":
        size = sum(p.stat().st_size for p in paths if p.is_file())
        return is_ntriples(paths, format) and size >= STREAMING_THRESHOLD_BYTES
    if streaming and not is_ntriples(paths, format):
        raise UnknownFormatError(f"{', '.join(map(str, paths))}: the streaming import reads N-Triples "
                                 "(.nt, .nt.gz) only; import other formats with streaming=False")
    return bool(streaming)


def import_ntriples(path_or_paths, out, *, language: str | None = "en", type_edges: bool = False,
                    add_inverse: bool = False, max_literal_length: int = MAX_LITERAL_LENGTH, progress: bool = False,
                    chunk_triples: int = CHUNK_TRIPLES, range_edges: int = RANGE_EDGES,
                    range_literals: int = RANGE_LITERALS, report: dict | None = None) -> dict:
    """Import N-Triples files into the saved-graph directory ``out``; returns its manifest.

    Args:
        language, type_edges, add_inverse, max_literal_length: as for :meth:`KnowledgeGraph.from_rdf`.
        progress: tqdm bars on stderr (bytes parsed, edges bucketed).
        chunk_triples: triples buffered in Python before a spill write.
        range_edges, range_literals: edge ends / literal rows per node range sorted in memory
            (the peak-memory knob; small values only cost more, smaller files).
        report: filled with ``seconds`` per stage (parse, nodes, edges, strings, fingerprint) and
            ``spill_bytes``, the scratch files' size after parsing (the edge buckets add 24 bytes per edge).
    """
    paths = as_paths(path_or_paths)
    if not is_ntriples(paths):
        raise UnknownFormatError(f"{', '.join(map(str, paths))}: the streaming import reads N-Triples "
                                 "(.nt, .nt.gz) only")
    source = ", ".join(str(p) for p in paths)

    def build(directory: Path, scratch: Path, report: dict) -> dict:
        timings = report["seconds"]
        t0 = time.perf_counter()
        spills = spill_ntriples(paths, scratch, language, type_edges, chunk_triples, max_literal_length, progress)
        timings["parse"] = time.perf_counter() - t0
        report["spill_bytes"] = sum(f.stat().st_size for f in scratch.iterdir())
        try:
            return _build(spills, directory, scratch, source, language, chunk_triples, range_edges, range_literals,
                          progress, timings, add_inverse)
        finally:
            spills.remove()

    return write_streamed(out, build, report)


def write_streamed(out, build: Callable[[Path, Path, dict], dict], report: dict | None = None) -> dict:
    """Run ``build(directory, scratch, report)`` in a temporary sibling of ``out`` (scratch files
    in ``directory/.scratch``, removed after), write the manifest it returns last, rename the
    directory to ``out`` and run the load-time range checks once on it (so that the first
    :meth:`~kgattn.graph.KnowledgeGraph.load` skips them). Returns the manifest; ``report``
    (``"seconds"`` per stage) is filled in place. On an error nothing is left at ``out``."""
    report = {} if report is None else report
    timings = report.setdefault("seconds", {})
    with atomic_path(Path(out)) as tmp:
        tmp.mkdir(parents=True)
        scratch = tmp / ".scratch"
        scratch.mkdir()
        try:
            manifest = build(tmp, scratch, report)
        finally:
            remove_path(scratch)
        write_manifest(tmp / MANIFEST, KIND, FORMAT_VERSION, **manifest)
    t0 = time.perf_counter()
    read_graph(out, mmap=True, check=True, stamp_fresh=True)  # checked once here: the first load need not
    timings["check"] = time.perf_counter() - t0
    return manifest


def streamed_manifest(directory: Path, strings_meta: dict, num_nodes: int, num_edges: int, meta: dict,
                      timings: dict) -> dict:
    """The manifest of a graph whose arrays are written in ``directory`` (fingerprint hashed from the files)."""
    clock = time.perf_counter()
    fingerprint = fingerprint_of_directory(directory, strings_meta)
    timings["fingerprint"] = time.perf_counter() - clock
    return {"arrays": sorted(_NOT_DERIVED + _DERIVED), "fingerprint": fingerprint, "num_nodes": num_nodes,
            "num_edges": num_edges, "num_relations": len(strings_meta["relation_names"]), "metadata": meta,
            **strings_meta}


def _subjects(spills: Spills, n: int, chunk: int) -> np.ndarray:
    """bool [terms]: subject of some triple (edges, types and literals, filtered ones included)."""
    is_subject = np.zeros(n, dtype=bool)
    for spill in (spills.edges, spills.types, spills.literals):
        for _, rows in spill.chunks(chunk):
            is_subject[rows[:, 0]] = True
    return is_subject


def _build(spills: Spills, directory: Path, scratch: Path, source: str, language, chunk: int,
           range_edges: int, range_literals: int, progress: bool, timings: dict, add_inverse: bool = False) -> dict:
    clock = time.perf_counter()
    terms, preds = spills.terms, list(spills.predicates)
    n_terms = len(terms)
    term_of_pred = np.array([terms.get(p, -1) for p in preds], dtype=np.int64)
    iris = list(terms)
    spills.terms = {}
    del terms  # the dict's table; the IRI strings live on in ``iris``
    rdf_type = spills.predicates[RDF_TYPE]
    is_subject = _subjects(spills, n_terms, chunk)
    # Resources used as predicates are relations; edges about them are schema (as in map_triples).
    used = predicates_used(spills.edges, len(preds), chunk)
    is_relation_term = np.zeros(n_terms, dtype=bool)
    is_relation_term[term_of_pred[used & (term_of_pred >= 0)]] = True
    scan = scan_edges(spills.edges, is_relation_term, rdf_type, len(preds), chunk)
    kept_pred_terms = term_of_pred[scan.predicate_kept & (term_of_pred >= 0)]
    is_node = is_subject & ~is_relation_term
    is_node[kept_pred_terms] = False
    is_node |= scan.is_endpoint
    node_terms = np.flatnonzero(is_node)
    keys = [iris[t] for t in node_terms.tolist()]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    del keys
    node_terms = node_terms[np.asarray(order, dtype=np.int64)]
    del order
    num_nodes = int(node_terms.shape[0])
    final_of_term = np.full(n_terms, -1, dtype=np.int64)
    final_of_term[node_terms] = np.arange(num_nodes, dtype=np.int64)
    rel_preds = sorted(np.flatnonzero(scan.predicate_kept).tolist(), key=preds.__getitem__)
    rel_iris = [preds[p] for p in rel_preds]
    rel_of_predicate = np.full(len(preds), -1, dtype=np.int64)
    rel_of_predicate[np.asarray(rel_preds, dtype=np.int64)] = np.arange(len(rel_preds))
    dangling = np.flatnonzero(scan.nontype_target & ~is_subject)
    meta = {"source": source, "named_graphs": 0, "engine": spills.engine,
            "literals_filtered_by_language": spills.lang_filtered, "schema_triples": scan.schema,
            "language": language, "dangling_nodes": int(dangling.size)}
    if dangling.size:
        first = iris[int(node_terms[final_of_term[dangling].min()])]
        warnings.warn(f"{source}: {dangling.size} of {num_nodes} nodes are only ever edge targets, "
                      f"with no name, type or triple of their own (e.g. {first}); their id is their label",
                      GraphWarning, stacklevel=3)
    if scan.kept == 0:
        raise EmptyGraphError(f"{source}: no triple between two resources ({spills.triples} triples read, "
                              f"{num_nodes} resources); a knowledge graph needs at least one edge")
    del is_subject, dangling
    write_ids(directory, iris, node_terms)
    timings["nodes"], clock = time.perf_counter() - clock, time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=scan.kept, unit="edges", unit_scale=True, desc="bucket edges", dynamic_ncols=True)
    out_raw = np.zeros(num_nodes, np.int64)
    in_raw = np.zeros(num_nodes, np.int64)
    out_raw[:] = scan.out_raw[node_terms]
    in_raw[:] = scan.in_raw[node_terms]
    del scan
    edges = write_edges(spills.edges, is_relation_term, final_of_term, rel_of_predicate, out_raw, in_raw, num_nodes,
                        directory, scratch, range_edges, chunk, bar, inverse=add_inverse)
    if bar is not None:
        bar.close()
    del out_raw, in_raw
    timings["edges"], clock = time.perf_counter() - clock, time.perf_counter()
    type_vocab = write_types(directory, spills.types, final_of_term, iris, num_nodes, chunk)
    table = PredicateTable(preds, NAME_PREDICATES, DESCRIPTION_PREDICATES)
    relation_terms = {int(t) for t in term_of_pred[rel_preds].tolist() if t >= 0}
    attr_vocab, relation_names_by_term = write_literals(directory, scratch, spills, final_of_term, relation_terms,
                                                        table, num_nodes, range_literals, chunk)
    rel_names = []
    for p in rel_preds:
        names = relation_names_by_term.get(int(term_of_pred[p]), [])
        rel_names.append(names[0].decode("utf-8") if names else readable_relation(preds[p]))
    if edges.duplicates:
        s, r, d = edges.first_duplicate
        warnings.warn(f"{source}: removed {edges.duplicates} duplicate triples (e.g. {iris[int(node_terms[s])]} "
                      f"{rel_names[r]} {iris[int(node_terms[d])]})", GraphWarning, stacklevel=3)
    if add_inverse:
        rel_names += [inverse_name(r) for r in rel_names]
        rel_iris += [inverse_name(r) for r in rel_iris]
    meta["duplicates_removed"] = edges.duplicates
    meta["import"] = "streaming"
    strings_meta = {"relation_names": rel_names, "relation_ids": rel_iris, "type_vocab": type_vocab,
                    "attr_vocab": attr_vocab}
    timings["strings"] = time.perf_counter() - clock
    return streamed_manifest(directory, strings_meta, num_nodes, edges.num_edges, meta, timings)


def fingerprint_of_directory(directory: Path, strings_meta: dict) -> str:
    """The store's fingerprint of the arrays written in ``directory``, read in pieces."""
    items = []
    for name in _NOT_DERIVED:
        dtype, shape, _ = npy_info(directory / f"{name}.npy")
        items.append((name, dtype.str, shape, npy_pieces(directory / f"{name}.npy")))
    return content_fingerprint(strings_meta, items, FORMAT_VERSION)
