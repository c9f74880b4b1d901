"""Fusion of token states with node states inside the backbone."""
from __future__ import annotations

import math

import torch
from torch import nn


class GatedCrossAttention(nn.Module):
    r"""Tokens attend over their own example's nodes plus a learned null node; gated residual.

    .. math::
        K = W_k [n_\varnothing; n_1..n_N],\quad V = W_v [n_\varnothing; n_1..n_N],\quad
        Q = W_q \mathrm{LN}(h)

        \alpha_{tj} = \mathrm{softmax}_j\big(s(q_t, k_j)\big) \text{ over the null node and real nodes}

        h' = h + \tanh(g)\, W_o \textstyle\sum_j \alpha_{tj} v_j

    with per-head score :math:`s(q, k) = q^\top k / \sqrt{d_h}` (``attention="dot"``) or
    :math:`s(q, k) = w^\top \tanh(q + k)` (``attention="additive"``, Bahdanau). ``g`` starts at 0,
    so an untrained block returns ``h`` bit for bit. The null node is always a valid key, so an
    example with no nodes attends only to it (no empty softmax, no NaN).

    Shapes: ``hidden`` [B, T, H], ``nodes`` [B, N, d], ``node_mask`` [B, N] ->
    (``hidden`` [B, T, H], attention weights [B, heads, T, 1 + N], index 0 = null node).
    """

    def __init__(self, hidden_size: int, node_dim: int, heads: int = 4, attention: str = "dot",
                 dropout: float = 0.1):
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {heads} fusion heads")
        if attention not in ("dot", "additive"):
            raise ValueError(f"unknown attention scoring {attention!r}")
        self.hidden_size, self.node_dim, self.heads, self.attention = hidden_size, node_dim, heads, attention
        self.head_dim = hidden_size // heads
        self.null = nn.Parameter(torch.empty(node_dim))
        self.norm = nn.LayerNorm(hidden_size)
        self.q = nn.Linear(hidden_size, hidden_size)
        self.k = nn.Linear(node_dim, hidden_size)
        self.v = nn.Linear(node_dim, hidden_size)
        self.o = nn.Linear(hidden_size, hidden_size)
        self.score = nn.Parameter(torch.empty(heads, self.head_dim)) if attention == "additive" else None
        self.gate = nn.Parameter(torch.zeros(()))
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.null, std=0.02)
        self.norm.reset_parameters()
        for lin in (self.q, self.k, self.v, self.o):
            lin.reset_parameters()
        if self.score is not None:
            nn.init.normal_(self.score, std=1.0 / math.sqrt(self.head_dim))
        nn.init.zeros_(self.gate)

    def keys(self, nodes: torch.Tensor, node_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepend the null node: ([B, 1+N, d], mask [B, 1+N])."""
        b = nodes.shape[0]
        null = self.null.to(nodes.dtype).expand(b, 1, -1)
        kv = torch.cat([null, nodes], dim=1)
        mask = torch.cat([node_mask.new_ones(b, 1), node_mask.bool()], dim=1)
        return kv, mask

    def forward(self, hidden: torch.Tensor, nodes: torch.Tensor, node_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = hidden.shape
        kv, mask = self.keys(nodes, node_mask)
        q = self.q(self.norm(hidden)).view(b, t, self.heads, self.head_dim)
        k = self.k(kv).view(b, -1, self.heads, self.head_dim)
        v = self.v(kv).view(b, -1, self.heads, self.head_dim)
        # Scores and softmax in float32: bf16 logits lose the small differences between nodes.
        if self.score is None:
            scores = torch.einsum("bthd,bnhd->bhtn", q.float(), k.float()) / math.sqrt(self.head_dim)
        else:
            e = torch.tanh(q.float().permute(0, 2, 1, 3).unsqueeze(3) + k.float().permute(0, 2, 1, 3).unsqueeze(2))
            scores = torch.einsum("bhtnd,hd->bhtn", e, self.score.float())
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        attn = torch.softmax(scores, dim=-1)                                   # [B, heads, T, 1+N]
        ctx = torch.einsum("bhtn,bnhd->bthd", self.attn_dropout(attn).to(v.dtype), v).reshape(b, t, -1)
        out = self.dropout(self.o(ctx))
        return hidden + torch.tanh(self.gate).to(hidden.dtype) * out.to(hidden.dtype), attn

    def gate_value(self) -> torch.Tensor:
        """The effective gate tanh(g) (0-dim)."""
        return torch.tanh(self.gate)

    def extra_repr(self) -> str:
        return f"hidden={self.hidden_size}, node_dim={self.node_dim}, heads={self.heads}, attention={self.attention}"


class ModalityInteraction(nn.Module):
    r"""GreaseLM's modality-interaction step: [CLS] and the graph exchange information.

    .. math::
        [c; m] = \mathrm{MLP}\big([\mathrm{LN}(h_{\mathrm{CLS}});\ \bar n]\big),\qquad
        \bar n = \tfrac{1}{|N|}\textstyle\sum_{i} n_i

        h_{\mathrm{CLS}}' = h_{\mathrm{CLS}} + \tanh(g_t)\, c,\qquad
        n_i' = n_i + \tanh(g_n)\, U([n_i; m])

    so the node states are updated from the [CLS] state (through ``m``) and [CLS] from the pooled
    graph. Both gates start at 0: an untrained block changes neither side.

    Shapes: ``hidden`` [B, T, H], ``nodes`` [B, N, d], ``node_mask`` [B, N] ->
    (``hidden`` [B, T, H], ``nodes`` [B, N, d]).
    """

    def __init__(self, hidden_size: int, node_dim: int, dropout: float = 0.1):
        super().__init__()
        self.hidden_size, self.node_dim = hidden_size, node_dim
        self.norm = nn.LayerNorm(hidden_size)
        self.mix = nn.Sequential(nn.Linear(hidden_size + node_dim, hidden_size), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_size, hidden_size + node_dim))
        self.node_update = nn.Sequential(nn.Linear(2 * node_dim, node_dim), nn.GELU(), nn.Dropout(dropout),
                                         nn.Linear(node_dim, node_dim))
        self.gate_text = nn.Parameter(torch.zeros(()))
        self.gate_node = nn.Parameter(torch.zeros(()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        for seq in (self.mix, self.node_update):
            for m in seq:
                if isinstance(m, nn.Linear):
                    m.reset_parameters()
        nn.init.zeros_(self.gate_text)
        nn.init.zeros_(self.gate_node)

    def forward(self, hidden: torch.Tensor, nodes: torch.Tensor, node_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        maskf = node_mask.unsqueeze(-1).to(nodes.dtype)
        pooled = (nodes * maskf).sum(1) / maskf.sum(1).clamp_min(1.0)            # [B, d]
        cls = hidden[:, 0]
        mixed = self.mix(torch.cat([self.norm(cls), pooled.to(cls.dtype)], dim=-1))
        c, m = mixed[:, : self.hidden_size], mixed[:, self.hidden_size:]
        cls = cls + torch.tanh(self.gate_text).to(hidden.dtype) * c.to(hidden.dtype)
        hidden = torch.cat([cls.unsqueeze(1), hidden[:, 1:]], dim=1)
        upd = self.node_update(torch.cat([nodes, m.to(nodes.dtype).unsqueeze(1).expand_as(nodes)], dim=-1))
        nodes = nodes + torch.tanh(self.gate_node).to(nodes.dtype) * upd.to(nodes.dtype) * maskf
        return hidden, nodes

    def extra_repr(self) -> str:
        return f"hidden={self.hidden_size}, node_dim={self.node_dim}"
