r"""Edge order and compressed sparse rows: the index arrays of :class:`~kgattn.graph.KnowledgeGraph`.

Edges are sorted by (src, dst, rel) with duplicates removed (:func:`sort_edges`); the store then
keeps three views of them, all int64:

* ``out_ptr`` [N+1]: out-edges of ``u`` are ``out_ptr[u]:out_ptr[u+1]`` of the sorted edges;
* ``adj_ptr, adj_nbr, adj_rel`` [N+1], [2E], [2E]: both directions per node (out-neighbours
  sorted by target, then in-neighbours sorted by source) (:func:`build_csr`);
* ``nbr_ptr, nbr``: the distinct neighbours of each node sorted by (degree, index)
  (:func:`build_neighbour_sets`), read by subgraph expansion.

Pure numpy; imports nothing from the store, so readers (:mod:`kgattn.graph.merge`) use it too.
"""
from __future__ import annotations

import numpy as np


def inverse_name(name: str) -> str:
    return f"inverse of {name}"


def sort_edges(src: np.ndarray, dst: np.ndarray, rel: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges sorted by (src, dst, rel), and a mask of those repeating the edge before them."""
    order = np.lexsort((rel, dst, src))
    src, dst, rel = src[order], dst[order], rel[order]
    dup = np.zeros(src.size, dtype=bool)
    dup[1:] = (src[1:] == src[:-1]) & (dst[1:] == dst[:-1]) & (rel[1:] == rel[:-1])
    return src, dst, rel, dup


def build_csr(n: int, src: np.ndarray, dst: np.ndarray, rel: np.ndarray):
    """Out-CSR pointer and the both-directions CSR of edges sorted by (src, dst, rel)."""
    out_deg = np.bincount(src, minlength=n).astype(np.int64)
    in_deg = np.bincount(dst, minlength=n).astype(np.int64)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out_deg, out=out_ptr[1:])
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(in_deg, out=in_ptr[1:])
    adj_ptr = out_ptr + in_ptr
    e = src.size
    adj_nbr = np.empty(2 * e, dtype=np.int64)
    adj_rel = np.empty(2 * e, dtype=np.int64)
    # Out part of node u: adj_ptr[u] + (edge position within u's out-list).
    pos = np.arange(e, dtype=np.int64) - out_ptr[src] + adj_ptr[src]
    adj_nbr[pos] = dst
    adj_rel[pos] = rel
    # In part of node v, after its out part, sorted by (source, relation).
    order = np.lexsort((rel, src, dst))
    d_sorted = dst[order]
    pos = np.arange(e, dtype=np.int64) - in_ptr[d_sorted] + adj_ptr[d_sorted] + out_deg[d_sorted]
    adj_nbr[pos] = src[order]
    adj_rel[pos] = rel[order]
    return out_ptr, adj_ptr, adj_nbr, adj_rel


def build_neighbour_sets(n: int, src: np.ndarray, dst: np.ndarray, degree: np.ndarray):
    """CSR of each node's distinct neighbours (either direction, no self), sorted by (degree, index).

    Subgraph expansion reads these: with the default ranking (lower degree first) the best
    ``k`` neighbours of a node are a prefix of its list, so a node is expanded through at most
    ``max_nodes`` entries without changing the result (see :mod:`kgattn.graph.retrieval`).
    """
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    keep = a != b
    a, b = a[keep], b[keep]
    # distinct (node, neighbour) pairs
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    del order
    distinct = np.ones(a.size, dtype=bool)
    distinct[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b = a[distinct], b[distinct]
    del distinct
    order = np.lexsort((b, degree[b], a))
    nbr = b[order]
    del order
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=ptr[1:])
    return ptr, nbr
