r"""The union of several knowledge graphs (:meth:`KnowledgeGraph.union`), as parts for the store.

For inputs :math:`G_1, \dots, G_k` with node ids :math:`V_j` (optionally prefixed, :math:`p_j + v`),
the union has nodes :math:`V = \bigcup_j V_j` (sorted by id, like every importer), relations
:math:`R = \bigcup_j R_j` keyed by relation id (in order of first appearance, so the relation
indices of :math:`G_1` are kept) and edges :math:`E = \bigcup_j \{(\pi_j(u), \rho_j(r),
\pi_j(v))\}` where :math:`\pi_j, \rho_j` map local to union indices; an edge present in several
inputs is stored once.

A node present in several inputs gets the names of all of them (label: the first input's that
has one; duplicates removed), the union of their types, the first non-empty description, and
every (key, value) attribute pair once. Relations with the same identifier (``relation_ids``,
e.g. an IRI such as ``rdfs:subClassOf``) are one relation, which is right for shared
vocabularies; ``relations="separate"`` keeps every input's relations apart instead. Relations
with different identifiers stay distinct even when their readable names agree.

Everything is numpy over the stores' arrays (string blobs are gathered, not decoded); only node
ids are hashed in Python, and only nodes present in several inputs are merged in Python. The
result is a pure function of the inputs (in their order) and so is its fingerprint.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from kgattn.errors import EmptyGraphError
from kgattn.graph.csr import sort_edges
from kgattn.graph.parts import EncodedParts
from kgattn.graph.strings import RaggedIds, RaggedStrings, StringTable

if TYPE_CHECKING:
    from kgattn.graph.store import KnowledgeGraph

RelationMode = Literal["shared", "separate"]


def merge_graphs(graphs: Sequence["KnowledgeGraph"], prefixes: Sequence[str] | None = None, *,
                 relations: RelationMode = "shared") -> EncodedParts:
    """The parts of one graph holding every node, edge, relation, name, type, description and attribute of ``graphs``.

    Args:
        graphs: the inputs, in priority order (the first non-empty label/description wins).
        prefixes: one string per input prepended to its node ids (``"fb:"``, ``"wn:"``), so that
            equal ids in different inputs stay different nodes; ``None``: equal ids are one node.
        relations: ``"shared"``: relations are keyed by their identifier (``relation_ids``), so
            equal identifiers in several inputs are one relation (named as in the first input);
            ``"separate"``: each input keeps its own relations, their identifiers prefixed with the
            input's prefix (``"<k>:"`` for input ``k`` without prefixes).

    ``metadata`` records ``dataset="union"`` and, per input, its fingerprint, counts, prefix and
    metadata, plus how many nodes and edges were merged. Raises ``ValueError`` on a bad argument
    and :class:`~kgattn.errors.EmptyGraphError` for no inputs.
    """
    graphs = list(graphs)
    if not graphs:
        raise EmptyGraphError("the union of no graphs is empty; give at least one graph")
    if prefixes is not None:
        prefixes = list(prefixes)
        if len(prefixes) != len(graphs):
            raise ValueError(f"prefixes has {len(prefixes)} entries for {len(graphs)} graphs")
        if not all(isinstance(p, str) for p in prefixes):
            raise ValueError(f"prefixes must be strings, got {prefixes!r}")
    if relations not in ("shared", "separate"):
        raise ValueError(f"relations must be 'shared' or 'separate', got {relations!r}")

    # ---- nodes: ids as UTF-8 bytes (bytes order == str order), sorted, each occurrence mapped
    keys = []
    for j, kg in enumerate(graphs):
        raw = _raw(kg._ids)
        p = prefixes[j].encode("utf-8") if prefixes else b""
        keys.append([p + r for r in raw] if p else raw)
    node_keys = sorted(set().union(*keys))
    n = len(node_keys)
    lookup = {k: i for i, k in enumerate(node_keys)}
    occ_per = [np.fromiter(map(lookup.__getitem__, ks), dtype=np.int64, count=len(ks)) for ks in keys]
    del keys, lookup
    occ = np.concatenate(occ_per)                 # [sum N_j]: union node of each input node
    multi = np.bincount(occ, minlength=n) > 1     # nodes present in several inputs
    ids = _from_raw(node_keys)
    del node_keys

    # ---- names: concatenated rows in input order; merged nodes drop repeated names
    names_values = _concat([kg._names.values for kg in graphs])
    value_node = np.repeat(occ, np.concatenate([np.diff(kg._names.ptr) for kg in graphs]))
    order = np.argsort(value_node, kind="stable")
    order, ptr = _dedupe_rows(order, value_node, n, multi, lambda g: names_values.raw(g))
    names = RaggedStrings(ptr, _take(names_values, order))
    del names_values, value_node, order

    # ---- types: ids remapped into the sorted union vocabulary
    type_vocab, type_ids = _remap_vocab([kg._types for kg in graphs])
    value_node = np.repeat(occ, np.concatenate([np.diff(kg._types.ptr) for kg in graphs]))
    order = np.argsort(value_node, kind="stable")
    order, ptr = _dedupe_rows(order, value_node, n, multi, lambda g: int(type_ids[g]))
    types = RaggedIds(ptr, type_ids[order], type_vocab)

    # ---- attributes: (key, value) pairs sorted by key within a node, as from_arrays stores them
    attr_vocab, attr_ids = _remap_vocab([kg._attr_keys for kg in graphs])
    attr_values = _concat([kg._attr_values for kg in graphs])
    value_node = np.repeat(occ, np.concatenate([np.diff(kg._attr_keys.ptr) for kg in graphs]))
    order = np.lexsort((np.arange(value_node.size), attr_ids, value_node))
    order, ptr = _dedupe_rows(order, value_node, n, multi, lambda g: (int(attr_ids[g]), attr_values.raw(g)))
    attr_keys = RaggedIds(ptr, attr_ids[order], attr_vocab)
    attr_values = _take(attr_values, order)

    # ---- descriptions: the first non-empty one in input order
    desc_all = _concat([kg._desc for kg in graphs])
    _, first_occ = np.unique(occ, return_index=True)
    choice = first_occ.astype(np.int64)
    has = np.flatnonzero(desc_all.lengths() > 0)
    described, first_has = np.unique(occ[has], return_index=True)
    choice[described] = has[first_has]
    descriptions = _take(desc_all, choice)
    del desc_all

    # ---- relations
    rel_key: dict = {}
    rel_names: list[str] = []
    rel_ids: list[str] = []
    rel_maps = []
    shared = set()
    for j, kg in enumerate(graphs):
        tag = (prefixes[j] if prefixes and prefixes[j] else f"{j}:") if relations == "separate" else ""
        local = np.empty(kg.num_relations, dtype=np.int64)
        for r, (rid, name) in enumerate(zip(kg.relation_ids, kg.relation_names)):
            key = tag + rid
            if key in rel_key:
                shared.add(key)
            else:
                rel_key[key] = len(rel_ids)
                rel_ids.append(key)
                rel_names.append(name)
            local[r] = rel_key[key]
        rel_maps.append(local)

    # ---- edges: mapped, concatenated, edges present in several inputs kept once
    src = np.concatenate([occ_per[j][kg._src] for j, kg in enumerate(graphs)])
    dst = np.concatenate([occ_per[j][kg._dst] for j, kg in enumerate(graphs)])
    rel = np.concatenate([rel_maps[j][kg._rel] for j, kg in enumerate(graphs)])
    src, dst, rel, dup = sort_edges(src, dst, rel)
    edges_merged = int(dup.sum())
    if edges_merged:
        src, dst, rel = src[~dup], dst[~dup], rel[~dup]
    del dup

    metadata = {
        "dataset": "union",
        "relations": relations,
        "sources": [{"fingerprint": kg.fingerprint, "num_nodes": kg.num_nodes, "num_edges": kg.num_edges,
                     "num_relations": kg.num_relations, "prefix": prefixes[j] if prefixes else None,
                     "metadata": kg.metadata} for j, kg in enumerate(graphs)],
        "nodes_merged": int(occ.size - n),
        "edges_merged": edges_merged,
        "relations_shared": len(shared),
    }
    return EncodedParts(ids=ids, id_order=None, names=names, types=types, descriptions=descriptions,
                        attr_keys=attr_keys, attr_values=attr_values, src=src, dst=dst, rel=rel,
                        relation_names=rel_names, relation_ids=rel_ids, metadata=metadata, source="union")


def _raw(table: StringTable) -> list[bytes]:
    """Every string of ``table`` as UTF-8 bytes (one bytes copy of the blob, then slices)."""
    blob, offsets = table.blob.tobytes(), table.offsets.tolist()
    return [blob[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _from_raw(values: list[bytes]) -> StringTable:
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    if values:
        np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
    return StringTable(np.frombuffer(b"".join(values), dtype=np.uint8).copy(), offsets)


def _concat(tables: Sequence[StringTable]) -> StringTable:
    """The strings of ``tables`` one after the other (blobs concatenated, offsets shifted)."""
    blobs, parts, shift = [], [np.zeros(1, dtype=np.int64)], 0
    for t in tables:
        a, b = int(t.offsets[0]), int(t.offsets[-1])
        blobs.append(np.asarray(t.blob[a:b], dtype=np.uint8))
        parts.append(np.asarray(t.offsets[1:], dtype=np.int64) - a + shift)
        shift += b - a
    return StringTable(np.concatenate(blobs), np.concatenate(parts))


def _take(table: StringTable, indices: np.ndarray) -> StringTable:
    """``table.take(indices)`` copying runs of consecutive strings as whole blocks.

    The indices of a union are long ascending runs (one per input, or per stretch of ids that
    sort together), so one ``memcpy`` per run beats the per-byte gather of ``StringTable.take``.
    """
    indices = np.asarray(indices, dtype=np.int64)
    starts, ends = table.offsets[indices], table.offsets[indices + 1]
    offsets = np.zeros(indices.size + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    if indices.size == 0:
        return StringTable(np.empty(0, dtype=np.uint8), offsets)
    brk = np.flatnonzero(indices[1:] != indices[:-1] + 1) + 1
    first = np.concatenate([[0], brk])
    last = np.concatenate([brk, [indices.size]]) - 1
    blob = table.blob
    parts = [blob[a:b] for a, b in zip(starts[first].tolist(), ends[last].tolist())]
    return StringTable(np.concatenate(parts).astype(np.uint8, copy=False), offsets)


def _remap_vocab(ragged: Sequence[RaggedIds]) -> tuple[list[str], np.ndarray]:
    """The sorted union vocabulary and every input's ids (concatenated) mapped into it."""
    vocab = sorted(set().union(*(r.vocab for r in ragged)))
    index = {t: k for k, t in enumerate(vocab)}
    mapped = [np.asarray([index[t] for t in r.vocab], dtype=np.int32)[np.asarray(r.ids, dtype=np.int64)]
              if len(r.vocab) else np.empty(0, dtype=np.int32) for r in ragged]
    return vocab, np.concatenate(mapped).astype(np.int32, copy=False)


def _dedupe_rows(order: np.ndarray, value_node: np.ndarray, n: int, multi: np.ndarray,
                 key: Callable[[int], object]) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated values (by ``key``) within the rows of merged nodes; rows' CSR pointer.

    ``order`` lists the global value indices grouped by node; only values of nodes present in
    several inputs are looked at (an input never repeats a value within one row).
    """
    nodes = value_node[order]
    look = np.flatnonzero(multi[nodes])
    if look.size:
        keep = np.ones(order.size, dtype=bool)
        seen: set = set()
        for pos, g, node in zip(look.tolist(), order[look].tolist(), nodes[look].tolist()):
            k = (node, key(g))
            if k in seen:
                keep[pos] = False
            else:
                seen.add(k)
        order, nodes = order[keep], nodes[keep]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(nodes, minlength=n), out=ptr[1:])
    return order, ptr
