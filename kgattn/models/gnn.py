"""Relational GNN encoders over the (flattened) subgraphs of a batch."""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv, RGCNConv, TransformerConv

from kgattn.models.registry import GNN_CONVS
from kgattn.models.sync import values_are_free


class BasisRGCNConv(RGCNConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.RGCNConv` with basis decomposition, without its per-relation loop.

    .. math::
        x_i' = \Theta_{\mathrm{root}} x_i + b + \sum_{r} \Big(\frac{1}{|\mathcal{N}_r(i)|}
               \sum_{j \in \mathcal{N}_r(i)} x_j\Big) W_r,\qquad W_r = \sum_{k=1}^{K} a_{rk} V_k

    Same parameters (``weight`` = bases V [K, in, out], ``comp`` = a [R, K], ``root``, ``bias``)
    and the same function as the parent (tested against it). The parent runs one propagate over
    all n nodes per relation (~R sparse ops and R dense [n, in] x [in, out] products per layer; R =
    474 for FB15k-237 with inverses). Two cheaper orders of the same sums, picked per call by
    their multiply-add count (``path="auto"``; ``"relation"`` or ``"basis"`` force one):

    * ``"relation"``: mean the sources of each (target, relation) pair first (P pairs), then one
      [P_r, in] x [in, out] product per relation present: O(P d^2 + R_present K d^2). Cheapest
      when few relations occur in a batch (WordNet: 32 with inverses);
    * ``"basis"``: :math:`x V_k` once for all K bases, then each edge mixes them with its
      relation's coefficients :math:`a_{rk}/|\mathcal{N}_r(i)|`: O(n K d^2 + E K d), whatever R is.

    Shapes: ``x`` [n, in], ``edge_index`` [2, E], ``edge_type`` [E] -> [n, out].
    """

    PATHS = ("auto", "relation", "basis")
    #: Per-relation cost of the "relation" path's Python loop, in multiply-adds (~10 us on a CPU core).
    LOOP_COST = 1 << 19

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, num_bases: int, **kwargs):
        super().__init__(in_channels, out_channels, num_relations, num_bases=num_bases, **kwargs)
        self.path = "auto"

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        if not (isinstance(x, torch.Tensor) and x.is_floating_point() and isinstance(edge_index, torch.Tensor)
                and self.aggr in ("mean", "add", "sum")):
            return super().forward(x, edge_index, edge_type)
        if self.path not in self.PATHS:
            raise ValueError(f"unknown BasisRGCNConv path {self.path!r}; expected one of {self.PATHS}")
        n, e = x.size(0), edge_type.numel()
        out = self._root(x)
        if not e:
            return out
        src, dst = edge_index[0], edge_index[1]
        if not values_are_free(edge_type):
            # Device path (no sync): the in-degree of each (relation, target) pair counted into a
            # dense [R * n] array, then the basis path; torch.unique's output size would need one.
            key = edge_type * n + dst
            degree = x.new_zeros(self.num_relations * n).index_add_(0, key, x.new_ones(e))
            return self._basis(x, out, src, dst, edge_type, degree[key])
        # Unique (relation, target) pairs, sorted by relation: RGCN normalises by the in-degree of
        # each pair, and the relation path needs its pairs grouped by relation.
        pair, inverse, counts = torch.unique(edge_type * n + dst, return_inverse=True, return_counts=True)
        pair_rel = torch.div(pair, n, rounding_mode="floor")
        relations, per_relation = torch.unique_consecutive(pair_rel, return_counts=True)
        k, d_in, d_out = self.num_bases, self.in_channels_l, self.out_channels
        relation_cost = (pair.numel() + relations.numel() * k) * d_in * d_out + relations.numel() * self.LOOP_COST
        basis_cost = n * k * d_in * d_out + e * k * d_out
        path = self.path if self.path != "auto" else ("relation" if relation_cost < basis_cost else "basis")
        if path == "relation":
            pooled = x.new_zeros(pair.numel(), x.size(1)).index_add_(0, inverse, x.index_select(0, src))
            if self.aggr == "mean":
                pooled = pooled / counts.unsqueeze(-1).to(pooled.dtype)
            weight = (self.comp[relations] @ self.weight.view(k, -1)).view(-1, d_in, d_out)   # [R', in, out]
            msg = torch.cat([part @ weight[i] for i, part in enumerate(pooled.split(per_relation.tolist()))])
            return out.index_add_(0, pair - pair_rel * n, msg.to(out.dtype))
        return self._basis(x, out, src, dst, edge_type, counts[inverse])

    def _basis(self, x, out, src, dst, edge_type, degree):
        """Messages through the K bases, ``out + sum_e coef_e (x_src W_b)``; ``degree`` [E] is the
        in-degree of each edge's (relation, target) pair (the "mean" normaliser)."""
        coef = self.comp[edge_type]                                               # [E, K]
        if self.aggr == "mean":
            coef = coef / degree.unsqueeze(-1).to(coef.dtype)
        xb = torch.einsum("ni,kio->nko", x, self.weight)                          # [n, K, out]
        # One [1, K] x [K, out] mix per edge; measured faster on CPU than aggregating per basis first.
        msg = torch.bmm(coef.unsqueeze(1).to(xb.dtype), xb[src]).squeeze(1)       # [E, out]
        return out.index_add_(0, dst, msg.to(out.dtype))

    def _root(self, x: torch.Tensor) -> torch.Tensor:
        """Root weight and bias, ``x @ root + bias``: a fresh tensor (messages are added into it in place)."""
        if self.root is not None and self.bias is not None:
            return torch.addmm(self.bias, x, self.root)
        if self.root is not None:
            return x @ self.root
        out = x.new_zeros(x.size(0), self.out_channels)
        return out + self.bias if self.bias is not None else out


def rgcn_conv(*, dim, num_relations, num_bases, heads, dropout):
    return BasisRGCNConv(dim, dim, num_relations, num_bases=num_bases)


def gatv2_conv(*, dim, num_relations, num_bases, heads, dropout):
    return GATv2Conv(dim, dim // heads, heads=heads, edge_dim=dim, dropout=dropout, add_self_loops=True,
                     fill_value="mean")


def transformer_conv(*, dim, num_relations, num_bases, heads, dropout):
    return TransformerConv(dim, dim // heads, heads=heads, edge_dim=dim, dropout=dropout, root_weight=True)


class GraphEncoder(nn.Module):
    r"""A stack of 1-3 relational graph convolutions with residuals, LayerNorm and dropout.

    .. math::
        x^{(l+1)} = \mathrm{LayerNorm}\big(x^{(l)} + \mathrm{Dropout}(\mathrm{GELU}(
                    \mathrm{Conv}^{(l)}(x^{(l)}, \mathcal{E}, r)))\big)

    ``kind`` names a convolution of :data:`kgattn.models.registry.GNN_CONVS`: ``"rgcn"``
    (:class:`BasisRGCNConv`, relation-specific weights from ``num_bases`` shared bases), ``"gatv2"`` (:class:`~torch_geometric.nn.GATv2Conv` with the
    relation embeddings as edge features) or ``"transformer"``
    (:class:`~torch_geometric.nn.TransformerConv`, relation embeddings added to keys and values).

    Shapes: ``x`` [n, d], ``edge_index`` [2, E], ``edge_type`` [E], ``edge_attr`` [E, d]
    (relation embeddings; unused by R-GCN) -> [n, d].
    """

    def __init__(self, kind: str, dim: int, num_layers: int, num_relations: int, num_bases: int = 8,
                 heads: int = 4, dropout: float = 0.1):
        super().__init__()
        self.kind = kind
        if kind not in GNN_CONVS:
            raise ValueError(f"unknown GNN kind {kind!r}; registered: {sorted(GNN_CONVS)}")
        entry = GNN_CONVS[kind]
        #: Whether the convolution takes relation ids (R-GCN) or relation embeddings as edge features.
        self.typed = entry.typed
        convs = [entry.build(dim=dim, num_relations=num_relations, num_bases=num_bases, heads=heads, dropout=dropout)
                 for _ in range(num_layers)]
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.act = nn.GELU()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv, norm in zip(self.convs, self.norms):
            conv.reset_parameters()
            norm.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            if self.typed:
                h = conv(x, edge_index, edge_type)
            else:
                h = conv(x, edge_index, edge_attr=edge_attr)
            x = norm(x + self.dropout(self.act(h)))
        return x
