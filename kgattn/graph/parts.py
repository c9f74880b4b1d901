"""What a reader hands the store: a graph as plain lists and index arrays, before it is a store.

Readers (:mod:`~kgattn.graph.rdf`, :mod:`~kgattn.graph.triples`, :mod:`~kgattn.graph.networkx_io`,
:mod:`~kgattn.graph.merge`) return one of two records and never
import the store; :class:`~kgattn.graph.KnowledgeGraph` turns the record into a store:

* :class:`GraphParts`: node ids, edge index arrays and per-node Python lists, the arguments of
  :meth:`KnowledgeGraph.from_arrays <kgattn.graph.KnowledgeGraph.from_arrays>`;
* :class:`EncodedParts`: the same content already encoded as string tables
  (:mod:`kgattn.graph.strings`), what :func:`encode` makes of a :class:`GraphParts` and what the
  union of stores (:mod:`kgattn.graph.merge`) gathers directly from their arrays.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kgattn.errors import EmptyGraphError, GraphFormatError
from kgattn.graph.strings import RaggedIds, RaggedStrings, StringTable


class GraphWarning(UserWarning):
    """Input that was repaired while loading a graph (duplicates removed, names unused, ...)."""


@dataclass
class GraphParts:
    """A graph as node ids, edge arrays and per-node lists (see ``KnowledgeGraph.from_arrays``)."""

    node_ids: Sequence[str]
    src: object
    dst: object
    rel: object
    relation_names: Sequence[str]
    labels: Sequence[str | None] | None = None
    aliases: Sequence[Sequence[str]] | None = None
    types: Sequence[Sequence[str]] | None = None
    descriptions: Sequence[str | None] | None = None
    attributes: Sequence[Mapping[str, Sequence[str]]] | None = None
    relation_ids: Sequence[str] | None = None
    metadata: dict = field(default_factory=dict)
    source: str | None = None


@dataclass
class EncodedParts:
    """A graph as string tables and unsorted edge arrays, ready for the store's assembly.

    ``id_order`` sorts the ids (None: already sorted); ``src, dst, rel`` are int64 [E] in any
    order and may repeat an edge (the store sorts and de-duplicates them).
    """

    ids: StringTable
    id_order: np.ndarray | None
    names: RaggedStrings
    types: RaggedIds
    descriptions: StringTable
    attr_keys: RaggedIds
    attr_values: StringTable
    src: np.ndarray
    dst: np.ndarray
    rel: np.ndarray
    relation_names: list[str]
    relation_ids: list[str]
    metadata: dict = field(default_factory=dict)
    source: str | None = None


def encode(parts: GraphParts) -> EncodedParts:
    """Check a :class:`GraphParts` (lengths, index ranges, unique ids) and encode its strings.

    Raises :class:`~kgattn.errors.EmptyGraphError` for a graph without nodes or edges and
    :class:`~kgattn.errors.GraphFormatError` (naming ``parts.source``) for anything inconsistent.
    """
    source = parts.source
    where = f"{source}: " if source else ""
    ids_list = list(parts.node_ids)
    n = len(ids_list)
    src = as_index_array(parts.src, "src")
    dst = as_index_array(parts.dst, "dst")
    rel = as_index_array(parts.rel, "rel")
    if not (src.shape == dst.shape == rel.shape):
        raise GraphFormatError(f"src, dst and rel differ in length: {src.size}, {dst.size}, {rel.size}", source)
    if n == 0 or src.size == 0:
        raise EmptyGraphError(f"{where}the graph has {n} nodes and {src.size} edges; "
                              "a knowledge graph needs at least one edge")
    num_rel = len(parts.relation_names)
    for name, arr, hi in (("src", src, n), ("dst", dst, n), ("rel", rel, num_rel)):
        bad = np.flatnonzero((arr < 0) | (arr >= hi))
        if bad.size:
            what = "node" if name != "rel" else "relation"
            raise GraphFormatError(f"edge {int(bad[0])}: {name} {what} index {int(arr[bad[0]])} out of range "
                                   f"[0, {hi}) ({bad.size} such edges)", source)
    labels, aliases, types, descriptions, attributes = (parts.labels, parts.aliases, parts.types,
                                                        parts.descriptions, parts.attributes)
    for name, seq in (("labels", labels), ("aliases", aliases), ("types", types),
                      ("descriptions", descriptions), ("attributes", attributes)):
        if seq is not None and len(seq) != n:
            raise GraphFormatError(f"{name} has {len(seq)} entries for {n} nodes", source)
    rel_names = list(parts.relation_names)
    rel_ids = list(parts.relation_ids) if parts.relation_ids is not None else list(rel_names)
    if len(rel_ids) != num_rel:
        raise GraphFormatError(f"relation_ids has {len(rel_ids)} entries for {num_rel} relations", source)

    names_rows = []
    for i in range(n):
        row: list[str] = []
        label = labels[i] if labels is not None else None
        if label:
            row.append(label)
        if aliases is not None:
            for a in aliases[i]:
                if a and a not in row:
                    row.append(a)
        names_rows.append(row)
    type_rows = [list(dict.fromkeys(t)) for t in types] if types is not None else [[] for _ in range(n)]
    desc = [d or "" for d in descriptions] if descriptions is not None else [""] * n
    key_rows, value_rows = [], []
    for i in range(n):
        attrs = attributes[i] if attributes is not None else {}
        keys = []
        for k in sorted(attrs):
            for v in attrs[k]:
                keys.append(k)
                value_rows.append(v)
        key_rows.append(keys)
    return EncodedParts(
        ids=StringTable.from_strings(ids_list), id_order=sorted_order(ids_list, source),
        names=RaggedStrings.from_lists(names_rows), types=RaggedIds.from_lists(type_rows),
        descriptions=StringTable.from_strings(desc), attr_keys=RaggedIds.from_lists(key_rows),
        attr_values=StringTable.from_strings(value_rows), src=src, dst=dst, rel=rel,
        relation_names=rel_names, relation_ids=rel_ids, metadata=dict(parts.metadata or {}), source=source)


def as_index_array(x, name: str) -> np.ndarray:
    """An int64 [E] copy-free view of a 1-d integer array-like (tensor, list, ndarray)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise GraphFormatError(f"{name} must be a 1-d integer array, got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def sorted_order(ids: list[str], source) -> np.ndarray | None:
    """Permutation sorting the ids (None when already sorted); duplicate ids are an error."""
    if all(a < b for a, b in zip(ids, ids[1:])):
        return None
    order = sorted(range(len(ids)), key=ids.__getitem__)
    for a, b in zip(order, order[1:]):
        if ids[a] == ids[b]:
            raise GraphFormatError(f"duplicate node id {ids[a]!r} (nodes {min(a, b)} and {max(a, b)})", source)
    return np.asarray(order, dtype=np.int64)
