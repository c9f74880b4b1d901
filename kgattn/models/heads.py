"""Graph pooling and per-task classification heads."""
from __future__ import annotations

import math

import torch
from torch import nn


class GraphAttentionPooling(nn.Module):
    r"""Pool node states into one graph vector with [CLS] as the query.

    .. math::
        \beta_j = \mathrm{softmax}_j\big((W_q h_{\mathrm{CLS}})^\top W_k n_j / \sqrt{d}\big),\qquad
        g = \textstyle\sum_j \beta_j n_j,\quad j \in \{\varnothing\} \cup \text{real nodes}

    A learned null node keeps the softmax defined for an example without nodes (then
    :math:`g = n_\varnothing`), so the no-graph model has the same head shapes.

    Shapes: ``cls`` [B, H], ``nodes`` [B, N, d], ``node_mask`` [B, N] -> ([B, d], weights [B, 1+N]).
    """

    def __init__(self, hidden_size: int, node_dim: int):
        super().__init__()
        self.hidden_size, self.node_dim = hidden_size, node_dim
        self.null = nn.Parameter(torch.empty(node_dim))
        self.q = nn.Linear(hidden_size, node_dim)
        self.k = nn.Linear(node_dim, node_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.null, std=0.02)
        self.q.reset_parameters()
        self.k.reset_parameters()

    def forward(self, cls: torch.Tensor, nodes: torch.Tensor, node_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        b = nodes.shape[0]
        kv = torch.cat([self.null.to(nodes.dtype).expand(b, 1, -1), nodes], dim=1)
        mask = torch.cat([node_mask.new_ones(b, 1), node_mask.bool()], dim=1)
        scores = torch.einsum("bd,bnd->bn", self.q(cls).float(), self.k(kv).float()) / math.sqrt(self.node_dim)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        pooled = torch.einsum("bn,bnd->bd", weights, kv.float())
        return pooled.to(kv.dtype), weights


class TaskHeads(nn.Module):
    r"""One linear classifier per task on :math:`[h_{\mathrm{CLS}}; g]`.

    .. math:: \mathrm{logits}_\tau = W_\tau\, \mathrm{Dropout}([h_{\mathrm{CLS}}; g]) + b_\tau

    Shapes: ``features`` [B, H + d] -> ``{task: [B, C_task]}``.
    """

    def __init__(self, in_dim: int, tasks: dict[str, int], dropout: float = 0.1):
        super().__init__()
        self.in_dim = in_dim
        self.task_names = list(tasks)
        # ModuleDict keys may not contain "."; index by position and keep the names alongside.
        self.heads = nn.ModuleList(nn.Linear(in_dim, n) for n in tasks.values())
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for head in self.heads:
            nn.init.normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.dropout(features)
        return {name: head(x) for name, head in zip(self.task_names, self.heads)}
