"""Node input features of the GNN (QA-GNN style)."""
from __future__ import annotations

import torch
from torch import nn


class NodeEncoder(nn.Module):
    r"""Initial node states from frozen text features plus structural embeddings.

    .. math::
        x_i = \mathrm{LayerNorm}\big(W f_i + b + E_{\mathrm{hop}}[\min(h_i, H)] + E_{\mathrm{seed}}[s_i]\big)

    where :math:`f_i` is the node's text encoding, :math:`h_i` its hop distance from the nearest
    seed (distances of ``max_hops`` or more share one embedding) and :math:`s_i` its seed flag.

    Shapes: ``features`` [B, N, F], ``hop`` [B, N], ``seed_mask`` [B, N], ``node_mask`` [B, N]
    -> [B, N, d]; padding rows are zero.
    """

    def __init__(self, in_dim: int, out_dim: int, max_hops: int = 3, dropout: float = 0.0):
        super().__init__()
        self.in_dim, self.out_dim, self.max_hops = in_dim, out_dim, max_hops
        self.proj = nn.Linear(in_dim, out_dim)
        self.hop = nn.Embedding(max_hops + 1, out_dim)
        self.seed = nn.Embedding(2, out_dim)
        self.norm = nn.LayerNorm(out_dim)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.proj.reset_parameters()
        nn.init.normal_(self.hop.weight, std=0.02)
        nn.init.normal_(self.seed.weight, std=0.02)
        self.norm.reset_parameters()

    def forward(self, features: torch.Tensor, hop: torch.Tensor, seed_mask: torch.Tensor,
                node_mask: torch.Tensor) -> torch.Tensor:
        hop_idx = hop.clamp(0, self.max_hops)
        x = self.proj(features) + self.hop(hop_idx) + self.seed(seed_mask.long())
        x = self.dropout(self.norm(x))
        return x * node_mask.unsqueeze(-1).to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.in_dim}, {self.out_dim}, max_hops={self.max_hops}"


class RelationEmbedding(nn.Module):
    r"""A learned table :math:`R \in \mathbb{R}^{|\mathcal{R}| \times d}` of relation vectors.

    With ``inverse=True`` the table holds 2|R| rows: row ``r + |R|`` is the inverse of relation
    ``r`` (used for reversed edges inside the GNN). Shapes: ``edge_type`` [E] -> [E, d].
    """

    def __init__(self, num_relations: int, dim: int, inverse: bool = True):
        super().__init__()
        self.num_relations, self.inverse = num_relations, inverse
        self.weight = nn.Parameter(torch.empty(num_relations * (2 if inverse else 1), dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)

    def forward(self, edge_type: torch.Tensor) -> torch.Tensor:
        return self.weight[edge_type]

    @property
    def num_total(self) -> int:
        return int(self.weight.shape[0])
