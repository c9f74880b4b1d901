"""Neighbourhoods of a stored graph: adjacency lists and subgraph cutting.

:class:`Neighbourhoods` is the part of :class:`~kgattn.graph.KnowledgeGraph` that reads the
CSR views (:mod:`kgattn.graph.csr`); the store mixes it in. It needs from the store:
``num_nodes``, ``_check(i)`` (an index in range, else
:class:`~kgattn.errors.UnknownNodeError`), ``_out_ptr``, ``_adj_ptr``, ``_adj_nbr``,
``_adj_rel``, ``_degree`` and a ``_hub_threshold`` cache slot; the expansion itself is
:mod:`kgattn.graph.retrieval`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from kgattn.graph.retrieval import Scorer, subgraph as _subgraph
from kgattn.graph.subgraph import Subgraph

#: Share of nodes, by degree, that count as hubs in subgraph expansion.
HUB_FRACTION = 0.001
#: Neighbours sampled when a hub is expanded.
DEFAULT_HUB_CAP = 256


class Neighbourhoods:
    """Adjacency and subgraph methods of the store (see the module docstring)."""

    def neighbors(self, i: int, direction: str = "both") -> tuple[torch.Tensor, torch.Tensor]:
        """(neighbour node indices, relation ids) of node ``i``, O(degree) through the CSR.

        ``direction``: ``"out"`` (targets of edges from ``i``), ``"in"`` (sources of edges into
        ``i``) or ``"both"`` (out then in).
        """
        i = self._check(i)
        a, b = int(self._adj_ptr[i]), int(self._adj_ptr[i + 1])
        if direction == "both":
            pass
        elif direction in ("out", "in"):
            mid = a + int(self._out_ptr[i + 1] - self._out_ptr[i])
            a, b = (a, mid) if direction == "out" else (mid, b)
        else:
            raise ValueError(f"direction must be 'out', 'in' or 'both', got {direction!r}")
        return (torch.from_numpy(np.array(self._adj_nbr[a:b], dtype=np.int64)),
                torch.from_numpy(np.array(self._adj_rel[a:b], dtype=np.int64)))

    # ------------------------------------------------------------------ subgraphs
    @property
    def hub_threshold(self) -> int:
        """Smallest degree of the top 0.1% of nodes by degree (hubs, when above the hub cap)."""
        if self._hub_threshold is None:
            k = max(1, int(np.ceil(self.num_nodes * HUB_FRACTION)))
            deg = np.asarray(self._degree)
            self._hub_threshold = int(np.partition(deg, deg.size - k)[deg.size - k])
        return self._hub_threshold

    def subgraph(self, seeds: Sequence[int], hops: int = 2, max_nodes: int = 64,
                 scorer: Scorer | None = None, *, hub_cap: int = DEFAULT_HUB_CAP) -> Subgraph:
        """The ``hops``-hop neighbourhood of ``seeds`` (both edge directions), capped at ``max_nodes``.

        Seeds are always kept, first, in the given order, de-duplicated. Other nodes are ranked by
        ``scorer(nodes [m], hop [m]) -> scores [m]`` (higher first; ties by hop, then index) or by
        default by hop, then lower degree (more specific), then index. Edges: all stored edges
        among kept nodes, in local indices. Hubs (top 0.1% by degree) are expanded through
        ``hub_cap`` neighbours: their lowest-degree ones with the default ranking (exact while
        ``hub_cap >= max_nodes``), a deterministic sample per (seed set, hub) with a scorer;
        ``hub_cap=0`` turns capping off. See :mod:`kgattn.graph.retrieval`.
        """
        return _subgraph(self, seeds, hops=hops, max_nodes=max_nodes, scorer=scorer, hub_cap=hub_cap)

    def subgraphs(self, seed_lists: Sequence[Sequence[int]], hops: int = 2, max_nodes: int = 64,
                  scorer: Scorer | None = None, *, hub_cap: int = DEFAULT_HUB_CAP) -> list[Subgraph]:
        """:meth:`subgraph` for each seed list (an empty list gives :meth:`Subgraph.empty`)."""
        return [_subgraph(self, s, hops=hops, max_nodes=max_nodes, scorer=scorer, hub_cap=hub_cap)
                for s in seed_lists]
