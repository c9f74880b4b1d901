r"""k-hop subgraph retrieval through the CSR views of a :class:`~kgattn.graph.KnowledgeGraph`.

For seeds :math:`S`, hop :math:`h(v) = \min_{s \in S} d(s, v)` in the graph read as undirected,
candidates :math:`C = \{v : 0 < h(v) \le k\}`, and the kept set is
:math:`S \cup \operatorname{top}_{m - |S|}(C)` under the scorer (default: smaller :math:`h`
first, then smaller degree, then smaller index). Edges are all stored edges among kept nodes.

Expansion reads each node's distinct neighbours sorted by (degree, index). With the default
ranking, a level's best :math:`r` new nodes are among the first :math:`m` entries of each
frontier list (at most :math:`m - r` entries are already visited), and a level that reaches the
cap ends the expansion; so every node is expanded through at most ``max_nodes`` entries and the
result is exact. A custom scorer sees every candidate, so lists are read whole.

Hubs (the top 0.1% of nodes by degree whose degree exceeds ``hub_cap``) are expanded through
``hub_cap`` neighbours only: their ``hub_cap`` lowest-degree neighbours with the default ranking
(exact while ``hub_cap >= max_nodes``), an evenly strided sample whose phase is a hash of
(seed set, hub) with a custom scorer; so the cost per expanded node is bounded and a given
seed list always gets the same subgraph. Everything is vectorised numpy over the frontier
(membership through a per-thread generation-stamped scratch array, O(1) each); no per-edge
Python loop.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch

from kgattn.errors import UnknownNodeError
from kgattn.graph.strings import ranges
from kgattn.graph.subgraph import Subgraph

Scorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """splitmix64 of (a, b): a well-spread deterministic uint64 per pair."""
    with np.errstate(over="ignore"):
        x = a.astype(np.uint64) * _GOLDEN + b.astype(np.uint64)
        x ^= x >> np.uint64(30)
        x *= _MIX1
        x ^= x >> np.uint64(27)
        x *= _MIX2
        x ^= x >> np.uint64(31)
    return x


class _Scratch(threading.local):
    """Per-thread node-sized arrays reused across calls: ``stamp[v] == gen`` marks membership."""

    def __init__(self):
        self.stamp = np.zeros(0, dtype=np.int32)
        self.local = np.zeros(0, dtype=np.int64)
        self.gen = 0

    def next(self, n: int) -> int:
        if self.stamp.size < n:
            self.stamp = np.zeros(n, dtype=np.int32)
            self.local = np.zeros(n, dtype=np.int64)
            self.gen = 0
        if self.gen >= np.iinfo(np.int32).max - 1:
            self.stamp[:] = 0
            self.gen = 0
        self.gen += 1
        return self.gen


_scratch = _Scratch()


def _neighbours(kg, frontier: np.ndarray, key: np.uint64, hub_cap: int, prefix: int | None) -> np.ndarray:
    """Distinct neighbours of each frontier node (repeats across nodes), hubs capped.

    ``prefix``: read at most this many entries of each list (default ranking), else all.
    """
    nbr_ptr = kg._nbr_ptr
    start = nbr_ptr[frontier]
    deg = nbr_ptr[frontier + 1] - start
    hub = None
    if hub_cap > 0:
        hub = (kg._degree[frontier] >= kg.hub_threshold) & (deg > hub_cap)
        if not hub.any():
            hub = None
    if prefix is not None:
        lens = np.minimum(deg, prefix)
        if hub is not None:
            lens[hub] = np.minimum(lens[hub], hub_cap)
        return kg._nbr[ranges(start, lens)]
    if hub is None:
        return kg._nbr[ranges(start, deg)]
    keep = ~hub
    idx = ranges(start[keep], deg[keep])
    # Strided sample of each hub's list, phase from hash(seed set, hub).
    h_start, h_deg = start[hub], deg[hub]
    phase = (_mix(np.full(h_deg.size, key, dtype=np.uint64), frontier[hub])
             % h_deg.astype(np.uint64)).astype(np.int64)
    steps = np.arange(hub_cap, dtype=np.int64)
    pos = (phase[:, None] + (steps[None, :] * h_deg[:, None]) // hub_cap) % h_deg[:, None]
    return kg._nbr[np.concatenate([idx, (h_start[:, None] + pos).ravel()])]


def _check_seeds(kg, seeds) -> np.ndarray:
    if isinstance(seeds, torch.Tensor):
        seeds = seeds.detach().cpu().numpy()
    arr = np.asarray(seeds)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"seeds must be integer node indices, got {seeds!r} (use kg.node_index(id))")
    arr = arr.astype(np.int64, copy=False).ravel()
    if arr.size > 1:
        _, first = np.unique(arr, return_index=True)
        if first.size < arr.size:
            arr = arr[np.sort(first)]
    bad = (arr < 0) | (arr >= kg.num_nodes)
    if bad.any():
        raise UnknownNodeError(f"seed node index {int(arr[bad][0])} out of range [0, {kg.num_nodes})")
    return arr


def _distinct(x: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The distinct values of ``x`` in O(len(x)), no sort: scatter positions into the scratch
    array, keep each position that survived. Which duplicate survives does not matter: callers
    only use the set (and order it themselves)."""
    pos = np.arange(x.size, dtype=np.int64)
    local[x] = pos
    return x[local[x] == pos]


def subgraph(kg, seeds: Sequence[int], hops: int = 2, max_nodes: int = 64,
             scorer: Scorer | None = None, hub_cap: int = 256) -> Subgraph:
    """See :meth:`KnowledgeGraph.subgraph`."""
    if hops < 0 or max_nodes < 0:
        raise ValueError(f"hops and max_nodes must be >= 0, got hops={hops}, max_nodes={max_nodes}")
    seeds_u = _check_seeds(kg, seeds)
    n_seeds = seeds_u.size
    if n_seeds == 0:
        return Subgraph.empty()

    sc = _scratch
    gen = sc.next(kg.num_nodes)
    stamp = sc.stamp
    stamp[seeds_u] = gen
    key = np.uint64(0)
    if scorer is not None:  # only sampled hub lists need the seed-set hash
        key = np.uint64(int(_mix(np.sort(seeds_u), np.zeros(n_seeds, dtype=np.int64)).sum(dtype=np.uint64)))
    frontier = seeds_u
    levels: list[np.ndarray] = []
    count = n_seeds
    for _ in range(hops):
        # With the default scorer a nearer hop always wins, so once the cap is reached the
        # next hop cannot contribute: stop expanding.
        if frontier.size == 0 or (scorer is None and count >= max_nodes):
            break
        nb = _neighbours(kg, frontier, key, hub_cap, max_nodes if scorer is None else None)
        nb = nb[stamp[nb] != gen]
        if nb.size == 0:
            break
        frontier = _distinct(nb, sc.local)
        stamp[frontier] = gen
        levels.append(frontier)
        count += frontier.size

    if levels:
        room = max(0, max_nodes - n_seeds)
        if scorer is None:
            # Rank key (degree, index) as one int64; levels before the last fit whole (the loop
            # stops at the cap), the last is cut with an O(m) partition before sorting.
            n = np.int64(kg.num_nodes)
            kept = [seeds_u]
            hops_kept = [np.zeros(n_seeds, dtype=np.int64)]
            for h, lv in enumerate(levels, 1):
                if room <= 0:
                    break
                rank = kg._degree[lv] * n + lv
                if lv.size > room:
                    rank = np.partition(rank, room - 1)[:room]
                rank.sort()
                lv = rank % n
                kept.append(lv)
                hops_kept.append(np.full(lv.size, h, dtype=np.int64))
                room -= lv.size
            nodes, hop = np.concatenate(kept), np.concatenate(hops_kept)
        else:
            cand = np.concatenate(levels)
            cand_hop = np.repeat(np.arange(1, len(levels) + 1, dtype=np.int64), [lv.size for lv in levels])
            scores = scorer(torch.from_numpy(cand), torch.from_numpy(cand_hop))
            scores = np.asarray(scores.detach().cpu().float() if isinstance(scores, torch.Tensor) else scores,
                                dtype=np.float64).reshape(-1)
            if scores.shape[0] != cand.shape[0]:
                raise ValueError(f"scorer returned {scores.shape[0]} scores for {cand.shape[0]} candidate nodes")
            order = np.lexsort((cand, cand_hop, -scores))[:room]
            nodes = np.concatenate([seeds_u, cand[order]])
            hop = np.concatenate([np.zeros(n_seeds, dtype=np.int64), cand_hop[order]])
    else:
        nodes, hop = seeds_u, np.zeros(n_seeds, dtype=np.int64)

    edge_ids, local = _induced(kg, nodes)
    seed_mask = np.zeros(nodes.size, dtype=bool)
    seed_mask[:n_seeds] = True
    return Subgraph(
        nodes=torch.from_numpy(nodes),
        edge_index=torch.from_numpy(np.stack([local[kg._src[edge_ids]], local[kg._dst[edge_ids]]])),
        edge_type=torch.from_numpy(kg._rel[edge_ids]),
        hop=torch.from_numpy(hop),
        seed_mask=torch.from_numpy(seed_mask),
    )


def _induced(kg, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Increasing ids of all stored edges with both ends in ``nodes``, and the scratch array
    mapping a global node index to its position in ``nodes`` (valid for ``nodes`` only).

    Out-lists are sorted by target, so a long out-list is probed by binary search
    (``|nodes| log deg``) instead of being read whole.
    """
    sc = _scratch
    gen = sc.next(kg.num_nodes)
    stamp, local = sc.stamp, sc.local
    stamp[nodes] = gen
    local[nodes] = np.arange(nodes.size, dtype=np.int64)
    ks = np.sort(nodes)
    out_ptr, dst = kg._out_ptr, kg._dst
    start = out_ptr[ks]
    deg = out_ptr[ks + 1] - start
    long = deg > max(2048, 32 * ks.size)  # below this, reading the list beats two binary searches
    if not long.any():
        idx = ranges(start, deg)
        return idx[stamp[dst[idx]] == gen], local
    parts = []
    short_idx = ranges(start[~long], deg[~long])
    parts.append(short_idx[stamp[dst[short_idx]] == gen])
    for a, b in zip(start[long].tolist(), (start[long] + deg[long]).tolist()):
        seg = dst[a:b]
        lo = np.searchsorted(seg, ks, "left")
        hi = np.searchsorted(seg, ks, "right")
        parts.append(ranges(a + lo, hi - lo))
    return np.sort(np.concatenate(parts)), local


def induced_edges(kg, nodes) -> np.ndarray:
    """Increasing ids of all stored edges whose two ends are in ``nodes``."""
    return _induced(kg, np.asarray(nodes, dtype=np.int64))[0]
