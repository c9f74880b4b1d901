"""Fusion of token states with node states inside the backbone."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from kgattn.models.sync import values_are_free


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

    Padding tokens (``token_mask`` False) skip the block: their states pass through unchanged
    and their attention row puts all its weight on the null node. No real token ever attends to
    a padding token, so this changes nothing the model reads, and the projections run on the
    real tokens only.

    With dot scoring the same function has a cheaper order when there are fewer real tokens
    than keys (short texts, tens of nodes): per head :math:`q^\top (W_k n + b_k) =
    (W_k^\top q)^\top n + q^\top b_k` and, as the weights sum to 1,
    :math:`\sum_j \alpha_j W_v n_j + b_v = W_v \sum_j \alpha_j n_j + b_v`. So ``"fold"`` attends
    with :math:`W_k^\top q` directly over the raw node states ([B, h*T, d] x [B, d, 1+N], one
    batched product for all heads) and projects the pooled nodes with :math:`W_v` afterwards:
    O(R H d) per block for R real tokens instead of the O(B (1+N) H d) of projecting every key
    and value. ``path="auto"`` picks the order with fewer multiply-adds per call; ``"project"``
    (the textbook order, also the only one for additive scoring) or ``"fold"`` force one. Both
    return the same outputs and weights up to float rounding (tested). With
    ``need_weights=False`` the weights are not returned, and the projected order runs
    :func:`~torch.nn.functional.scaled_dot_product_attention` instead of an explicit softmax
    (the folded order's explicit softmax is already as fast as SDPA there).

    Shapes: ``hidden`` [B, T, H], ``nodes`` [B, N, d], ``node_mask`` [B, N], ``token_mask``
    [B, T] or None (all real) -> (``hidden`` [B, T, H], attention weights float32
    [B, heads, T, 1 + N] (index 0 = null node), or None with ``need_weights=False``).
    """

    PATHS = ("auto", "fold", "project")

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
        self.path = "auto"
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

    def forward(self, hidden: torch.Tensor, nodes: torch.Tensor, node_mask: torch.Tensor,
                token_mask: torch.Tensor | None = None, need_weights: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, t, width = hidden.shape
        kv, key_mask = self.keys(nodes, node_mask)
        allowed = key_mask[:, None, :].expand(b, t, -1)                        # [B, T, 1+N]
        rows = None                                                            # real token rows of [B*T]
        if token_mask is not None and values_are_free(token_mask) and bool(token_mask.all()):
            token_mask = None
        if token_mask is not None:
            token_mask = token_mask.bool()
            allowed = allowed & token_mask[:, :, None]
            allowed[:, :, 0] = True                                            # padding: null node only
            if values_are_free(token_mask):   # pack the real tokens (on a GPU: mask them, no sync)
                rows = token_mask.reshape(-1).nonzero().squeeze(1)
        flat = hidden.reshape(b * t, width)
        x = flat if rows is None else flat.index_select(0, rows)
        q = self.q(self.norm(x))                                               # [R, H]
        if self._folds(q.shape[0], b, t, kv.shape[1]):
            ctx, attn = self._attend_folded(q, kv, allowed, rows, b, t)
        else:
            ctx, attn = self._attend_projected(q, kv, allowed, rows, b, t, need_weights)
        if not need_weights:
            attn = None
        out = torch.tanh(self.gate).to(hidden.dtype) * self.dropout(self.o(ctx)).to(hidden.dtype)  # [R, H]
        if rows is None and token_mask is not None:                            # padding rows stay unchanged
            out = out * token_mask.reshape(-1, 1).to(out.dtype)
        if rows is None:
            return hidden + out.view(b, t, width), attn
        return flat.index_add(0, rows, out).view(b, t, width), attn

    def _folds(self, real: int, b: int, t: int, keys: int) -> bool:
        if self.path not in self.PATHS:
            raise ValueError(f"unknown GatedCrossAttention path {self.path!r}; expected one of {self.PATHS}")
        if self.attention != "dot" or self.path == "project":
            return False
        if self.path == "fold":
            return True
        # multiply-adds: project = K and V of every key + scores and mixing per head;
        # fold = W_k^T q and W_v c per real token + scores and mixing over d-wide node states.
        project = 2 * b * keys * self.node_dim * self.hidden_size + 2 * b * t * keys * self.hidden_size
        fold = 2 * real * self.hidden_size * self.node_dim + 2 * b * t * self.heads * keys * self.node_dim
        return fold < project

    def _scatter(self, values: torch.Tensor, rows: torch.Tensor | None, b: int, t: int) -> torch.Tensor:
        """[R, ...] rows of real tokens -> [B, T, ...] with zeros at padding."""
        if rows is None:
            return values.reshape(b, t, *values.shape[1:])
        full = values.new_zeros(b * t, *values.shape[1:]).index_copy_(0, rows, values)
        return full.view(b, t, *values.shape[1:])

    @staticmethod
    def _gather(values: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        """[B, T, ...] -> [R, ...] rows of real tokens."""
        flat = values.reshape(-1, *values.shape[2:])
        return flat if rows is None else flat.index_select(0, rows)

    def _softmax(self, scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        # Softmax in float32: bf16 logits lose the small differences between nodes.
        return torch.softmax(scores.float().masked_fill(~allowed, float("-inf")), dim=-1)

    def _attend_projected(self, q, kv, allowed, rows, b, t, need_weights=True):
        """Textbook order: project keys and values, attend per head. -> (ctx [R, H], attn [B, h, T, 1+N] or None)."""
        h, dh = self.heads, self.head_dim
        qp = self._scatter(q, rows, b, t).view(b, t, h, dh)
        k = self.k(kv).view(b, -1, h, dh)
        v = self.v(kv).view(b, -1, h, dh)
        if self.score is None and not need_weights:
            ctx = F.scaled_dot_product_attention(
                qp.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=allowed[:, None],
                dropout_p=self.attn_dropout.p if self.training else 0.0)           # [B, h, T, dh]
            return self._gather(ctx.transpose(1, 2), rows).reshape(-1, h * dh), None
        if self.score is None:
            scores = torch.einsum("bthd,bnhd->bhtn", qp, k) / math.sqrt(dh)
        else:
            e = torch.tanh(qp.float().permute(0, 2, 1, 3).unsqueeze(3) + k.float().permute(0, 2, 1, 3).unsqueeze(2))
            scores = torch.einsum("bhtnd,hd->bhtn", e, self.score.float())
        attn = self._softmax(scores, allowed[:, None])                         # [B, h, T, 1+N]
        ctx = torch.einsum("bhtn,bnhd->bthd", self.attn_dropout(attn).to(v.dtype), v)
        return self._gather(ctx, rows).reshape(-1, h * dh), attn

    def _attend_folded(self, q, kv, allowed, rows, b, t):
        """Keys and values folded into the queries (dot scoring). -> (ctx [R, H], attn [B, h, T, 1+N])."""
        h, dh = self.heads, self.head_dim
        q = q.view(-1, h, dh)
        wk = self.k.weight.view(h, dh, self.node_dim)
        qk = torch.einsum("rhe,hef->rhf", q, wk.to(q.dtype))                   # [R, h, d]  W_k^T q
        # q.b_k is the same for every key of a token (it cancels in the softmax); kept so the
        # scores, and b_k's (zero) gradient, match the projected order.
        qb = (q * self.k.bias.view(h, dh).to(q.dtype)).sum(-1, keepdim=True)   # [R, h, 1]
        qk = self._scatter(qk, rows, b, t).reshape(b, t * h, self.node_dim)    # row t*h + head
        qb = self._scatter(qb, rows, b, t).reshape(b, t * h, 1)
        scores = torch.baddbmm(qb, qk, kv.transpose(1, 2).to(qk.dtype), beta=1 / math.sqrt(dh),
                               alpha=1 / math.sqrt(dh))                        # [B, T*h, 1+N]
        attn = self._softmax(scores, allowed.repeat_interleave(h, dim=1))
        dropped = self.attn_dropout(attn)
        pooled = torch.bmm(dropped.to(kv.dtype), kv).view(b, t, h, self.node_dim)     # sum_j a_j n_j
        pooled = self._gather(pooled, rows)                                    # [R, h, d]
        wv = self.v.weight.view(h, dh, self.node_dim)
        ctx = torch.einsum("rhf,hef->rhe", pooled, wv.to(pooled.dtype))        # [R, h, dh]
        bias = self.v.bias.view(h, dh).to(ctx.dtype)
        if self.training and self.attn_dropout.p > 0:  # dropped weights do not sum to 1: b_v gets their sum
            bias = bias * self._gather(dropped.sum(-1).view(b, t, h, 1), rows).to(ctx.dtype)
        ctx = (ctx + bias).reshape(-1, h * dh)
        return ctx, attn.view(b, t, h, -1).transpose(1, 2)

    def gate_value(self) -> torch.Tensor:
        """The effective gate tanh(g) (0-dim)."""
        return torch.tanh(self.gate)

    def extra_repr(self) -> str:
        return (f"hidden={self.hidden_size}, node_dim={self.node_dim}, heads={self.heads}, "
                f"attention={self.attention}, path={self.path}")


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
