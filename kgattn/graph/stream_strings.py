"""The string arrays of a saved graph (ids, names, descriptions, attributes, types) from spill files.

Same content, byte for byte, as :func:`kgattn.graph.rdf.map_triples` followed by
:func:`kgattn.graph.parts.encode` makes in memory, per node :math:`u` (final ids, sorted by IRI):

* names: ``(rank of the name predicate, untagged, value)`` sorted, repeats and empty strings
  dropped: label first, then aliases;
* description: the first of ``(rank of the description predicate, untagged, value)`` sorted
  (``""`` when none); the others become attributes under their predicate;
* attributes ``{predicate: [values]}``: keys in IRI order, under a key first the further
  descriptions (in the order above) then the other literals sorted by value;
* types: the distinct ``rdf:type`` classes in IRI order, as ids into the sorted class vocabulary.

UTF-8 byte order is code-point order, so values are sorted as ``bytes`` without decoding.
Literal rows are grouped per node by scattering them into bucket files of consecutive node
ranges (about ``range_literals`` rows each), then each bucket is sorted and walked in Python;
memory is O(N) for the id arrays plus one bucket.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kgattn.graph.npy_files import NpyWriter, PointerWriter, SpillFile, StringsWriter
from kgattn.graph.stream_edges import node_ranges
from kgattn.graph.stream_parse import Spills
from kgattn.graph.strings import ranges

NAME, DESCRIPTION, ATTRIBUTE = 0, 1, 2


def write_ids(directory: Path, iris: list[str], node_terms: np.ndarray, piece: int = 1 << 20) -> None:
    """``ids.blob``/``ids.offsets``: the IRIs of ``node_terms`` (term ids in final node order)."""
    out = StringsWriter(directory, "ids")
    for start in range(0, node_terms.shape[0], piece):
        out.add([iris[t].encode("utf-8") for t in node_terms[start:start + piece].tolist()])
    out.close()


def write_types(directory: Path, types: SpillFile, final_of_term: np.ndarray, iris: list[str],
                num_nodes: int, chunk_rows: int) -> list[str]:
    """``types.ptr``/``types.ids`` of the nodes; returns the class vocabulary (sorted IRIs).

    Holds the type rows of the nodes in memory (16 bytes each), which the issue's scale allows
    (1-2 types per entity); everything else about them is vectorised.
    """
    nodes, classes = [], []
    for _, rows in types.chunks(chunk_rows):
        node = final_of_term[rows[:, 0]]
        keep = node >= 0
        nodes.append(node[keep])
        classes.append(rows[keep, 1].astype(np.int64))
    node = np.concatenate(nodes) if nodes else np.empty(0, np.int64)
    cls = np.concatenate(classes) if classes else np.empty(0, np.int64)
    distinct = np.sort(cls)  # not np.unique: numpy 2's hash-based unique is far slower on large arrays
    if distinct.size:
        distinct = distinct[np.concatenate([[True], distinct[1:] != distinct[:-1]])]
    names = [iris[t] for t in distinct.tolist()]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(names))
    code = rank[np.searchsorted(distinct, cls)] if cls.size else cls
    order_rows = np.lexsort((code, node))
    node, code = node[order_rows], code[order_rows]
    first = np.ones(node.size, dtype=bool)
    first[1:] = (node[1:] != node[:-1]) | (code[1:] != code[:-1])
    node, code = node[first], code[first]
    ptr = np.zeros(num_nodes + 1, np.int64)
    np.cumsum(np.bincount(node, minlength=num_nodes), out=ptr[1:])
    np.save(directory / "types.ptr.npy", ptr)
    np.save(directory / "types.ids.npy", code.astype(np.int32))
    return [names[i] for i in order]


class PredicateTable:
    """Per predicate id: its kind (name, description, attribute), its rank among the name or
    description predicates, and its rank in IRI order (the attribute-key order)."""

    def __init__(self, predicates: list[str], name_predicates, description_predicates):
        names = {p: k for k, p in enumerate(name_predicates)}
        descs = {p: k for k, p in enumerate(description_predicates)}
        self.iris = predicates
        self.kind = [NAME if p in names else DESCRIPTION if p in descs else ATTRIBUTE for p in predicates]
        self.rank = [names.get(p, descs.get(p, 0)) for p in predicates]
        order = sorted(range(len(predicates)), key=predicates.__getitem__)
        self.iri_rank = [0] * len(predicates)
        for r, p in enumerate(order):
            self.iri_rank[p] = r


def node_literals(codes: list[int], values: list[bytes], preds: PredicateTable, keep_empty: bool = False):
    """One node's literal rows -> (names, description, [(key predicate, value)]) as the module says
    (``keep_empty``: keep empty names, as a relation's name is its first name even when empty)."""
    names, descs, attrs = [], [], []
    kind, rank = preds.kind, preds.rank
    for c, v in zip(codes, values):
        if c < 0:
            continue
        p, untagged = c >> 1, c & 1
        k = kind[p]
        if k == NAME:
            names.append((rank[p], untagged, v))
        elif k == DESCRIPTION:
            descs.append((rank[p], untagged, v, p))
        else:
            attrs.append((preds.iri_rank[p], v, p))
    names.sort()
    row = [v for v in dict.fromkeys(v for _, _, v in names) if v or keep_empty]
    description = b""
    keyed: dict[int, list[bytes]] = {}
    if descs:
        descs.sort()
        description = descs[0][2]
        for _, _, v, p in descs[1:]:
            keyed.setdefault(p, []).append(v)
    attrs.sort()
    for _, v, p in attrs:
        keyed.setdefault(p, []).append(v)
    pairs = [(p, v) for p in sorted(keyed, key=preds.iri_rank.__getitem__) for v in keyed[p]]
    return row, description, pairs


def _literal_chunks(spills: Spills, chunk_rows: int):
    """``(rows [n, 2] int32, lengths int64 [n], value bytes)`` pieces of the literal spill."""
    byte_start = 0
    for start, rows in spills.literals.chunks(chunk_rows):
        lengths = spills.literal_lengths.read(start, start + rows.shape[0])
        byte_end = byte_start + int(lengths.sum())
        yield rows, lengths, spills.literal_blob.read(byte_start, byte_end)
        byte_start = byte_end


def write_literals(directory: Path, scratch: Path, spills: Spills, final_of_term: np.ndarray,
                   relation_terms: set[int], preds: PredicateTable, num_nodes: int, range_literals: int,
                   chunk_rows: int) -> tuple[list[str], dict[int, list[bytes]]]:
    """Names, descriptions and attributes of every node; returns the attribute-key vocabulary
    and, per relation term, its names (for the relation names)."""
    counts = np.zeros(num_nodes, np.int64)
    for rows, _, _ in _literal_chunks(spills, chunk_rows):
        node = final_of_term[rows[:, 0]]
        counts += np.bincount(node[node >= 0], minlength=num_nodes)
    bounds = node_ranges(counts, range_literals)
    del counts
    k = bounds.shape[0] - 1
    bucket_of_node = np.repeat(np.arange(k, dtype=np.int32), np.diff(bounds))
    rows_out = [SpillFile(scratch / f"lit_{i}.i64", np.int64, 3) for i in range(k)]
    blobs_out = [SpillFile(scratch / f"lit_{i}.u8", np.uint8) for i in range(k)]
    relation_rows: dict[int, list] = {}
    for rows, lengths, blob in _literal_chunks(spills, chunk_rows):
        starts = np.zeros(lengths.size, np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        if relation_terms:
            for j in np.flatnonzero(np.isin(rows[:, 0], list(relation_terms))).tolist():
                relation_rows.setdefault(int(rows[j, 0]), []).append(
                    (int(rows[j, 1]), blob[starts[j]:starts[j] + lengths[j]].tobytes()))
        node = final_of_term[rows[:, 0]]
        keep = np.flatnonzero(node >= 0)
        which = bucket_of_node[node[keep]]
        order = keep[np.argsort(which, kind="stable")]
        ends = np.cumsum(np.bincount(which, minlength=k))
        for i in np.flatnonzero(np.diff(np.concatenate([[0], ends]))).tolist():
            part = order[(ends[i - 1] if i else 0):ends[i]]
            rows_out[i].append(np.stack([node[part], rows[part, 1].astype(np.int64), lengths[part]], axis=1))
            blobs_out[i].append(blob[ranges(starts[part], lengths[part])])
    names_ptr, names = PointerWriter(directory / "names.ptr.npy"), StringsWriter(directory, "names")
    descriptions = StringsWriter(directory, "descriptions")
    attrs_ptr, attr_values = PointerWriter(directory / "attrs.ptr.npy"), StringsWriter(directory, "attrs.values")
    attr_keys = SpillFile(scratch / "attr_keys.i32", np.int32)
    for i in range(k):
        a, b = int(bounds[i]), int(bounds[i + 1])
        rows = rows_out[i].read(0, rows_out[i].rows)
        data = blobs_out[i].read(0, blobs_out[i].rows).tobytes()
        rows_out[i].remove()
        blobs_out[i].remove()
        offsets = np.zeros(rows.shape[0] + 1, np.int64)
        np.cumsum(rows[:, 2], out=offsets[1:])
        order = np.argsort(rows[:, 0], kind="stable")
        node, codes = rows[order, 0], rows[order, 1].tolist()
        offs = offsets.tolist()
        values = [data[offs[j]:offs[j + 1]] for j in order.tolist()]
        name_counts, attr_counts = np.zeros(b - a, np.int64), np.zeros(b - a, np.int64)
        desc_row = [b""] * (b - a)
        name_values, key_ids, pair_values = [], [], []
        cuts = np.flatnonzero(np.diff(node)) + 1
        for g0, g1 in zip([0, *cuts.tolist()], [*cuts.tolist(), node.size]):
            if g0 == g1:
                continue
            u = int(node[g0]) - a
            row, desc, pairs = node_literals(codes[g0:g1], values[g0:g1], preds)
            name_counts[u], attr_counts[u], desc_row[u] = len(row), len(pairs), desc
            name_values.extend(row)
            key_ids.extend(preds.iri_rank[p] for p, _ in pairs)
            pair_values.extend(v for _, v in pairs)
        names_ptr.add_counts(name_counts)
        names.add(name_values)
        descriptions.add(desc_row)
        attrs_ptr.add_counts(attr_counts)
        attr_values.add(pair_values)
        attr_keys.append(np.asarray(key_ids, dtype=np.int32))
    for w in (names_ptr, names, descriptions, attrs_ptr, attr_values):
        w.close()
    # attribute keys: IRI ranks -> ids into the sorted vocabulary of the keys used
    used = np.zeros(len(preds.iris), dtype=bool)
    for _, ids in attr_keys.chunks(chunk_rows):
        used[ids] = True
    by_rank = sorted(range(len(preds.iris)), key=preds.iri_rank.__getitem__)
    vocab_ranks = np.flatnonzero(used)
    vocab = [preds.iris[by_rank[r]] for r in vocab_ranks.tolist()]
    out = NpyWriter(directory / "attrs.ids.npy", np.int32)
    for _, ids in attr_keys.chunks(chunk_rows):
        out.append(np.searchsorted(vocab_ranks, ids).astype(np.int32))
    out.close()
    attr_keys.remove()
    relation_names = {t: node_literals([c for c, _ in rows], [v for _, v in rows], preds, True)[0]
                      for t, rows in relation_rows.items()}
    return vocab, relation_names
