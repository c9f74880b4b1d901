"""The typed subgraph cut around linked entities."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Subgraph:
    """A small neighbourhood of a knowledge graph, in local coordinates.

    Attributes (n = number of nodes, e = number of edges):
        nodes:      int64 [n]    global node indices into the store; seeds come first.
        edge_index: int64 [2, e] local (0..n-1) source/target positions, directed as stored.
        edge_type:  int64 [e]    relation ids (global, ``kg.relation_names[r]``).
        hop:        int64 [n]    hop distance of each node from the nearest seed (seeds 0).
        seed_mask:  bool  [n]    True for the seed nodes.
    """

    nodes: torch.Tensor
    edge_index: torch.Tensor
    edge_type: torch.Tensor
    hop: torch.Tensor
    seed_mask: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return int(self.nodes.numel())

    @property
    def num_edges(self) -> int:
        return int(self.edge_type.numel())

    @classmethod
    def empty(cls) -> "Subgraph":
        """The subgraph of a text with no linked entity."""
        long = torch.empty(0, dtype=torch.long)
        return cls(long, torch.empty(2, 0, dtype=torch.long), long.clone(), long.clone(),
                   torch.empty(0, dtype=torch.bool))
