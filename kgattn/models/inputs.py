"""The graph side of a model batch: every example's subgraph padded to [B, N]."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass(frozen=True)
class GraphBatch:
    """Subgraphs of a batch of B examples, padded to N nodes each.

    Shapes (B examples, N padded nodes, F node-feature size, E edges in the whole batch):
        node_features: float [B, N, F]  frozen text encodings of the nodes (zeros at padding).
        node_mask:     bool  [B, N]     True for real nodes.
        hop:           int64 [B, N]     hop distance from the nearest seed (0 for seeds and padding).
        seed_mask:     bool  [B, N]     True for seed (linked) nodes.
        edge_index:    int64 [2, E]     positions into the flattened B*N node axis; an edge
                                        never joins two examples.
        edge_type:     int64 [E]        relation ids.
        node_ids:      int64 [B, N]     global node indices in the store (-1 at padding), used
                                        only for explanations and auxiliary targets.
        mention_nodes: int64 [B, T] or None  for each token, the local node position of the
                                        mention it belongs to (-1 when none); the target of the
                                        mention-node alignment loss.
    An example with no linked entity has an all-False row of ``node_mask``; the model's learned
    null node keeps its attention well defined.
    """

    node_features: torch.Tensor
    node_mask: torch.Tensor
    hop: torch.Tensor
    seed_mask: torch.Tensor
    edge_index: torch.Tensor
    edge_type: torch.Tensor
    node_ids: torch.Tensor
    mention_nodes: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.node_mask.shape[0])

    @property
    def max_nodes(self) -> int:
        return int(self.node_mask.shape[1])

    def to(self, device: torch.device | str) -> "GraphBatch":
        moved = {f.name: (v.to(device) if isinstance(v := getattr(self, f.name), torch.Tensor) else v)
                 for f in fields(self)}
        return GraphBatch(**moved)

    def with_features(self, node_features: torch.Tensor) -> "GraphBatch":
        return replace(self, node_features=node_features)
