"""The graph-features-only baseline: a bag of subgraph nodes and relation types, no fusion."""
from __future__ import annotations

import torch
from torch import nn

from kgattn.models.inputs import GraphBatch

#: Knuth's multiplicative constant: spreads consecutive store ids over the buckets.
_HASH = 2654435761


class NodeBag(nn.Module):
    r"""A linear layer over the example's bag of graph nodes and relation types.

    .. math::
        g = W_n\,\frac{1}{|V|}\sum_{v \in V} e_{h(v)} + W_r\,\frac{c}{\max(1, |E|)}

    :math:`V` are the example's subgraph nodes (the linked seeds and their neighbours, which
    carry the seeds' types: WordNet hypernyms, Freebase classes), hashed into ``buckets``
    rows, :math:`h(v) = (v \cdot 2654435761) \bmod \mathrm{buckets}`; :math:`c \in \mathbb{N}^R`
    counts the relation types of its edges. A mean over one-hot rows times a matrix is a
    linear layer over the normalised multi-hot vector (as in graph-soft-counter baselines),
    stored as an embedding table. An example without nodes gets :math:`g = 0`.

    Shapes: ``graph`` with ``node_ids`` [B, N], ``edge_index`` [2, E], ``edge_type`` [E]
    -> [B, d].
    """

    def __init__(self, buckets: int, num_relations: int, out_dim: int, dropout: float = 0.0):
        super().__init__()
        self.buckets, self.num_relations, self.out_dim = buckets, num_relations, out_dim
        self.nodes = nn.Embedding(buckets, out_dim)
        self.relations = nn.Linear(num_relations, out_dim, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.nodes.weight, std=0.02)
        nn.init.normal_(self.relations.weight, std=0.02)

    def forward(self, graph: GraphBatch) -> torch.Tensor:
        b, n = graph.node_ids.shape
        mask = graph.node_mask.bool()
        rows = (graph.node_ids.clamp(min=0) * _HASH) % self.buckets
        emb = self.nodes(rows) * mask.unsqueeze(-1).to(self.nodes.weight.dtype)     # [B, N, d]
        count = mask.sum(1, keepdim=True).clamp(min=1).to(emb.dtype)
        node_part = emb.sum(1) / count                                               # [B, d]
        counts = torch.zeros(b, self.num_relations, dtype=emb.dtype, device=emb.device)
        if graph.edge_type.numel():
            example = graph.edge_index[0] // max(n, 1)
            counts.index_put_((example, graph.edge_type), torch.ones_like(graph.edge_type, dtype=emb.dtype),
                              accumulate=True)
        freq = counts / counts.sum(1, keepdim=True).clamp(min=1)
        return self.dropout(node_part) + self.relations(freq)
