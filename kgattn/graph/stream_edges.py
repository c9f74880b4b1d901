r"""The edge arrays of a saved graph, built from an edge spill file in bounded memory.

Input: the spill ``edges`` int32 [E_raw, 3] of ``(subject term, predicate, object term)`` rows
(:mod:`kgattn.graph.stream_parse`). Output: the arrays :meth:`KnowledgeGraph.save
<kgattn.graph.KnowledgeGraph.save>` writes, byte for byte the same as
:func:`~kgattn.graph.csr.sort_edges`, :func:`~kgattn.graph.csr.build_csr` and
:func:`~kgattn.graph.csr.build_neighbour_sets` would make of the whole graph in memory:
``src, dst, rel`` int64 [E] sorted by (src, dst, rel) without duplicates, ``out_ptr`` [N+1],
``adj_ptr`` [N+1], ``adj_nbr, adj_rel`` [2E], ``nbr_ptr`` [N+1], ``nbr``.

How, with :math:`K` node ranges :math:`[a_k, a_{k+1})` chosen so that each holds about
``range_edges`` edge ends (out + in degree, counted in :func:`scan_edges`):

1. *scatter* (one pass over the spill): each kept edge, renumbered to final node and relation
   ids, goes to the bucket file of its source's range and to that of its target's range;
2. *sweep 1*, per range: sort the source bucket by (src, dst, rel) and drop repeats: that is the
   range's slice of ``src, dst, rel`` (appended to the ``.npy`` files) and its out-degrees; sort
   the target bucket by (dst, src, rel) and drop repeats: its in-edges (spilled) and in-degrees;
3. *sweep 2*, per range, once every degree is known: node :math:`u`'s slice of
   ``adj_nbr``/``adj_rel`` is its out-edges (targets in order) then its in-edges (sources in
   order), at ``adj_ptr[u] = out_ptr[u] + in_ptr[u]``; its neighbour set is the distinct
   non-self entries of that slice sorted by (degree, index), the degree being the global
   ``diff(adj_ptr)``.

Peak memory is O(N) for the degree and id arrays plus O(``range_edges``) for one range; every
pass reads files with ``read`` (no memory map, see :mod:`kgattn.graph.npy_files`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgattn.graph.npy_files import NpyWriter, PointerWriter, SpillFile, read_npy_slice


@dataclass
class EdgeScan:
    """What one pass over the raw edge spill tells (all indexed by term or predicate id)."""

    is_endpoint: np.ndarray        # bool [terms]: endpoint of a kept (non-schema) edge
    nontype_target: np.ndarray     # bool [terms]: target of a kept edge whose predicate is not rdf:type
    predicate_kept: np.ndarray     # bool [predicates]: predicate of a kept edge
    out_raw: np.ndarray            # int64 [terms]: kept out-edges, repeats included
    in_raw: np.ndarray             # int64 [terms]: kept in-edges, repeats included
    kept: int                      # kept edges, repeats included
    schema: int                    # edges whose subject is itself used as a predicate


def predicates_used(edges: SpillFile, num_predicates: int, chunk_rows: int) -> np.ndarray:
    """bool [predicates]: used by some edge (schema edges included)."""
    used = np.zeros(num_predicates, dtype=bool)
    for _, rows in edges.chunks(chunk_rows):
        used[rows[:, 1]] = True
    return used


def scan_edges(edges: SpillFile, is_relation_term: np.ndarray, rdf_type_predicate: int,
               num_predicates: int, chunk_rows: int) -> EdgeScan:
    """Drop schema edges (subject used as a predicate, as ``map_triples`` does) and count the rest."""
    n = is_relation_term.shape[0]
    scan = EdgeScan(np.zeros(n, bool), np.zeros(n, bool), np.zeros(num_predicates, bool),
                    np.zeros(n, np.int64), np.zeros(n, np.int64), 0, 0)
    for _, rows in edges.chunks(chunk_rows):
        keep = ~is_relation_term[rows[:, 0]]
        scan.schema += int(keep.size - np.count_nonzero(keep))
        rows = rows[keep]
        s, p, o = rows[:, 0], rows[:, 1], rows[:, 2]
        scan.kept += int(s.size)
        scan.is_endpoint[s] = True
        scan.is_endpoint[o] = True
        scan.nontype_target[o[p != rdf_type_predicate]] = True
        scan.predicate_kept[p] = True
        scan.out_raw += np.bincount(s, minlength=n)
        scan.in_raw += np.bincount(o, minlength=n)
    return scan


def node_ranges(weights: np.ndarray, budget: int) -> np.ndarray:
    """Boundaries ``[0, ..., N]`` of consecutive node ranges holding about ``budget`` weight each."""
    n = weights.shape[0]
    cum = np.cumsum(weights, dtype=np.int64)
    total = int(cum[-1]) if n else 0
    cuts = np.searchsorted(cum, np.arange(budget, total, max(1, budget), dtype=np.int64), side="right")
    return np.unique(np.concatenate([[0], cuts, [n]])).astype(np.int64)


@dataclass
class EdgeResult:
    num_edges: int
    duplicates: int
    first_duplicate: tuple[int, int, int] | None   # (src, rel, dst) of the first repeat, final ids
    ranges: int


def _sorted_unique(major: np.ndarray, minor: np.ndarray, rel: np.ndarray, base: int, n: int, num_rel: int):
    """Rows ``(major, minor, rel)`` sorted and without repeats, and the mask of repeats (over the
    sorted rows with repeats).

    With ``major`` in ``[base, base + span)``, one int64 key ``((major - base) * n + minor) *
    num_rel + rel`` orders rows as the three columns do; sorting it (and decoding) is ~3x faster
    than ``lexsort`` over three columns. Falls back to ``lexsort`` when the key could overflow.
    """
    span = int(major.max()) - base + 1 if major.size else 0
    if span * n * max(num_rel, 1) < 2**62:
        key = (major - base) * n
        key += minor
        key *= num_rel
        key += rel
        key.sort()
        dup = np.zeros(key.size, dtype=bool)
        np.equal(key[1:], key[:-1], out=dup[1:])
        key = key[~dup]
        rel_out = key % num_rel
        key //= num_rel
        minor_out = key % n
        key //= n
        key += base
        return key, minor_out, rel_out, dup
    order = np.lexsort((rel, minor, major))
    major, minor, rel = major[order], minor[order], rel[order]
    dup = np.zeros(major.size, dtype=bool)
    dup[1:] = (major[1:] == major[:-1]) & (minor[1:] == minor[:-1]) & (rel[1:] == rel[:-1])
    keep = ~dup
    return major[keep], minor[keep], rel[keep], dup


def _neighbour_order(rows: np.ndarray, other: np.ndarray, degree: np.ndarray, base: int, n: int):
    """Distinct ``(row, other)`` pairs sorted by (row, degree[other], other)."""
    span = int(rows.max()) - base + 1 if rows.size else 0
    top = int(degree.max()) + 1 if degree.size else 1
    if span * n * top < 2**62:
        pairs = (rows - base) * n + other
        pairs.sort()  # not np.unique: numpy 2's hash-based unique is ~80x slower on 4M int64
        distinct = np.ones(pairs.size, dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=distinct[1:])
        pairs = pairs[distinct]
        rows, other = pairs // n + base, pairs % n
        key = ((rows - base) * top + degree[other]) * n + other
        key.sort()
        return key // (top * n) + base, key % n
    order = np.lexsort((other, rows))
    rows, other = rows[order], other[order]
    distinct = np.ones(rows.size, dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (other[1:] != other[:-1])
    rows, other = rows[distinct], other[distinct]
    order = np.lexsort((other, degree[other], rows))
    return rows[order], other[order]


def write_edges(edges: SpillFile, is_relation_term: np.ndarray, final_of_term: np.ndarray,
                rel_of_predicate: np.ndarray, out_raw: np.ndarray, in_raw: np.ndarray, num_nodes: int,
                directory: Path, scratch: Path, range_edges: int, chunk_rows: int, bar=None,
                inverse: bool = False) -> EdgeResult:
    """Write every edge array of the saved graph (see the module docstring); ``out_raw``/``in_raw``
    are the repeat-included degrees per final node, used only to size the ranges.

    ``inverse``: every edge ``(s, r, o)`` also as ``(o, r + R, s)`` (``R`` relations), as
    ``from_parts(add_inverse=True)`` adds them after removing repeats; an inverse row repeats
    exactly when its edge does, so repeats are counted (and the first one named) on the edges."""
    bounds = node_ranges((out_raw + in_raw) * (2 if inverse else 1), range_edges)
    num_edge_rel = int(rel_of_predicate.max()) + 1 if rel_of_predicate.size else 1
    num_rel = num_edge_rel * (2 if inverse else 1)
    k = bounds.shape[0] - 1
    bucket_of_node = np.repeat(np.arange(k, dtype=np.int32), np.diff(bounds))
    by_src = [SpillFile(scratch / f"by_src_{i}.i32", np.int32, 3) for i in range(k)]
    by_dst = [SpillFile(scratch / f"by_dst_{i}.i32", np.int32, 3) for i in range(k)]
    # 1. scatter
    for _, rows in edges.chunks(chunk_rows):
        rows = rows[~is_relation_term[rows[:, 0]]]
        renumbered = np.empty_like(rows)
        renumbered[:, 0] = final_of_term[rows[:, 0]]
        renumbered[:, 1] = final_of_term[rows[:, 2]]
        renumbered[:, 2] = rel_of_predicate[rows[:, 1]]
        if inverse:
            flipped = renumbered[:, [1, 0, 2]]
            flipped[:, 2] += num_edge_rel
            renumbered = np.concatenate([renumbered, flipped])
            del flipped
        for column, buckets in ((0, by_src), (1, by_dst)):
            which = bucket_of_node[renumbered[:, column]]
            order = np.argsort(which, kind="stable")
            ends = np.cumsum(np.bincount(which, minlength=k))
            for i in np.flatnonzero(np.diff(np.concatenate([[0], ends]))):
                part = order[(ends[i - 1] if i else 0):ends[i]]
                buckets[i].append(renumbered[part])
            del order
        if bar is not None:
            bar.update(int(rows.shape[0]))
    # 2. sweep 1: sorted, repeat-free out-edges (the src/dst/rel arrays) and in-edges (spilled)
    out_deg = np.zeros(num_nodes, np.int64)
    in_deg = np.zeros(num_nodes, np.int64)
    writers = {name: NpyWriter(directory / f"{name}.npy", np.int64) for name in ("src", "dst", "rel")}
    in_edges = SpillFile(scratch / "in_edges.i32", np.int32, 2)
    duplicates, first_dup = 0, None
    for i in range(k):
        a, b = int(bounds[i]), int(bounds[i + 1])
        rows = by_src[i].read(0, by_src[i].rows).astype(np.int64)
        by_src[i].remove()
        s, d, r = rows[:, 0], rows[:, 1], rows[:, 2]
        del rows
        s, d, r, dup = _sorted_unique(s, d, r, a, num_nodes, num_rel)
        if dup.any():
            # the k-th repeat (sorted order) repeats the kept edge just before its position
            kept_before = np.flatnonzero(dup) - np.cumsum(dup)[dup]
            forward = r[kept_before] < num_edge_rel  # not an inverse row
            if first_dup is None and forward.any():
                j = int(kept_before[forward][0])
                first_dup = (int(s[j]), int(r[j]), int(d[j]))
            duplicates += int(forward.sum())
        del dup
        for name, arr in (("src", s), ("dst", d), ("rel", r)):
            writers[name].append(arr)
        out_deg[a:b] = np.bincount(s - a, minlength=b - a)
        del s, d, r
        rows = by_dst[i].read(0, by_dst[i].rows).astype(np.int64)
        by_dst[i].remove()
        s, d, r = rows[:, 0], rows[:, 1], rows[:, 2]
        del rows
        d, s, r, _ = _sorted_unique(d, s, r, a, num_nodes, num_rel)
        in_deg[a:b] = np.bincount(d - a, minlength=b - a)
        in_edges.append(np.stack([s, r], axis=1))
        del s, d, r
    num_edges = writers["src"].length
    for w in writers.values():
        w.close()
    in_edges.finish()
    # 3. sweep 2: both-directions CSR and neighbour sets, range by range
    out_ptr = np.zeros(num_nodes + 1, np.int64)
    np.cumsum(out_deg, out=out_ptr[1:])
    in_ptr = np.zeros(num_nodes + 1, np.int64)
    np.cumsum(in_deg, out=in_ptr[1:])
    adj_ptr = out_ptr + in_ptr
    degree = out_deg + in_deg
    del in_deg
    np.save(directory / "out_ptr.npy", out_ptr)
    np.save(directory / "adj_ptr.npy", adj_ptr)
    adj_nbr_w, adj_rel_w = NpyWriter(directory / "adj_nbr.npy", np.int64), NpyWriter(directory / "adj_rel.npy", np.int64)
    nbr_w, nbr_ptr_w = NpyWriter(directory / "nbr.npy", np.int64), PointerWriter(directory / "nbr_ptr.npy")
    for i in range(k):
        a, b = int(bounds[i]), int(bounds[i + 1])
        nodes = np.arange(a, b, dtype=np.int64)
        o0, o1 = int(out_ptr[a]), int(out_ptr[b])
        out_dst = read_npy_slice(directory / "dst.npy", o0, o1)
        out_rel = read_npy_slice(directory / "rel.npy", o0, o1)
        inc = in_edges.read(int(in_ptr[a]), int(in_ptr[b])).astype(np.int64)
        local_adj = adj_ptr[a:b + 1] - adj_ptr[a]
        size = int(local_adj[-1])
        nbr_slice = np.empty(size, np.int64)
        rel_slice = np.empty(size, np.int64)
        u = np.repeat(nodes, out_deg[a:b])
        pos = np.arange(o1 - o0, dtype=np.int64) - (out_ptr[u] - o0) + local_adj[u - a]
        nbr_slice[pos], rel_slice[pos] = out_dst, out_rel
        v = np.repeat(nodes, np.diff(in_ptr[a:b + 1]))
        i0 = int(in_ptr[a])
        pos = np.arange(v.size, dtype=np.int64) - (in_ptr[v] - i0) + local_adj[v - a] + out_deg[v]
        nbr_slice[pos], rel_slice[pos] = inc[:, 0], inc[:, 1]
        del u, v, pos, inc, out_dst, out_rel
        adj_nbr_w.append(nbr_slice)
        adj_rel_w.append(rel_slice)
        del rel_slice
        # neighbour sets: distinct non-self neighbours, sorted by (degree, index)
        rows = np.repeat(nodes, degree[a:b])
        keep = rows != nbr_slice
        rows, other = rows[keep], nbr_slice[keep]
        del keep, nbr_slice
        rows, other = _neighbour_order(rows, other, degree, a, num_nodes)
        nbr_w.append(other)
        nbr_ptr_w.add_counts(np.bincount(rows - a, minlength=b - a))
        del rows, other
    for w in (adj_nbr_w, adj_rel_w, nbr_w, nbr_ptr_w):
        w.close()
    in_edges.remove()
    return EdgeResult(num_edges, duplicates, first_dup, k)
