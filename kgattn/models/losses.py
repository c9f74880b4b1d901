"""Auxiliary graph objectives and the weighting of all loss terms."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kgattn.models.sync import values_are_free


def distmult_score(head: torch.Tensor, rel: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    r""":math:`s(h, r, t) = \langle h, r, t \rangle` (Yang et al. 2015); broadcasts over leading dims."""
    return (head * rel * tail).sum(-1)


def transe_score(head: torch.Tensor, rel: torch.Tensor, tail: torch.Tensor, margin: float) -> torch.Tensor:
    r""":math:`s(h, r, t) = \gamma - \lVert h + r - t \rVert_2` (Bordes et al. 2013, as a logit)."""
    return margin - (head + rel - tail).norm(p=2, dim=-1)


class LinkPredictionLoss(nn.Module):
    r"""Logistic link-prediction loss with tails corrupted among the batch's real nodes.

    .. math::
        \mathcal{L}_{\mathrm{link}} = \frac{1}{|E|}\sum_{(h,r,t)\in E}\Big[-\log\sigma(s(h,r,t))
            - \frac{1}{|K'|}\sum_{t' \in K'} \log\sigma(-s(h,r,t'))\Big]

    ``K'``: ``num_negatives`` tails drawn uniformly from the real nodes of the whole batch, minus
    draws that hit the true tail. ``s`` is DistMult or TransE.

    Shapes: ``nodes`` [n, d] (flattened B*N), ``node_mask`` [n], ``edge_index`` [2, E],
    ``rel`` [E, d] (relation vectors of the edges) -> scalar.
    """

    def __init__(self, scorer: str = "distmult", num_negatives: int = 8, margin: float = 12.0):
        super().__init__()
        if scorer not in ("distmult", "transe"):
            raise ValueError(f"unknown link scorer {scorer!r}")
        self.scorer, self.num_negatives, self.margin = scorer, num_negatives, margin

    def score(self, head: torch.Tensor, rel: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
        if self.scorer == "distmult":
            return distmult_score(head, rel, tail)
        return transe_score(head, rel, tail, self.margin)

    def forward(self, nodes: torch.Tensor, node_mask: torch.Tensor, edge_index: torch.Tensor,
                rel: torch.Tensor) -> torch.Tensor:
        if edge_index.shape[1] == 0:
            raise ValueError("link prediction needs at least one edge")
        nodes, rel = nodes.float(), rel.float()
        src, dst = edge_index[0], edge_index[1]
        if values_are_free(node_mask):
            candidates = node_mask.nonzero().squeeze(-1)                   # [M] real node positions
            draws = torch.randint(candidates.numel(), (src.numel(), self.num_negatives), device=nodes.device)
            neg = candidates[draws]                                        # [E, K]
        else:   # device path: uniform over real nodes without reading how many there are (no sync)
            neg = torch.multinomial(node_mask.reshape(-1).float(), src.numel() * self.num_negatives,
                                    replacement=True).view(src.numel(), self.num_negatives)
        valid = neg != dst.unsqueeze(-1)
        head, r = nodes[src], rel
        pos = self.score(head, r, nodes[dst])                              # [E]
        negs = self.score(head.unsqueeze(1), r.unsqueeze(1), nodes[neg])   # [E, K]
        neg_term = (F.logsigmoid(-negs) * valid).sum(-1) / valid.sum(-1).clamp_min(1)
        return (-F.logsigmoid(pos) - neg_term).mean()

    def extra_repr(self) -> str:
        return f"scorer={self.scorer}, num_negatives={self.num_negatives}"


def alignment_loss(attentions: list[torch.Tensor], mention_nodes: torch.Tensor) -> torch.Tensor:
    r"""Mention-node alignment: tokens of a linked mention should attend to the mention's node.

    .. math::
        \mathcal{L}_{\mathrm{align}} = -\frac{1}{|\mathcal{T}|}\sum_{(b,t)\in\mathcal{T}}
            \frac{1}{L\,H}\sum_{l,h} \log \alpha^{(l,h)}_{b,t,\,1+m_{bt}}

    over tokens with a target node :math:`m_{bt} \ge 0` (position 0 of the keys is the null node).

    Shapes: ``attentions`` L x [B, heads, T, 1+N], ``mention_nodes`` [B, T] (-1 = none) -> scalar.
    """
    stacked = torch.stack([a.float() for a in attentions], dim=0)             # [L, B, H, T, 1+N]
    target = mention_nodes.long()
    has = target >= 0
    if values_are_free(has) and not bool(has.any()):
        raise ValueError("mention-node alignment needs at least one token with a target node")
    idx = (target.clamp_min(0) + 1)[None, :, None, :, None].expand(*stacked.shape[:-1], 1)
    picked = stacked.gather(-1, idx).squeeze(-1)                              # [L, B, H, T]
    logp = picked.clamp_min(1e-9).log().mean(dim=(0, 2))                     # [B, T]
    # A masked mean, not logp[has]: boolean indexing would synchronise a GPU (0 without a target there).
    return -(logp * has).sum() / has.sum().clamp_min(1)


class LossWeighting(nn.Module):
    r"""Combines loss terms: fixed weights or learned uncertainty weighting.

    fixed: :math:`\mathcal{L} = \sum_i \alpha_i \mathcal{L}_i`;
    uncertainty (Kendall et al. 2018): :math:`\mathcal{L} = \sum_i e^{-s_i}\mathcal{L}_i + s_i`
    with one learned :math:`s_i = \log\sigma_i^2` per term, initialised to 0.

    Only the terms present in ``losses`` contribute (a batch without labels for a task adds
    nothing for it).
    """

    def __init__(self, terms: list[str], mode: str = "fixed", weights: dict[str, float] | None = None):
        super().__init__()
        if mode not in ("fixed", "uncertainty"):
            raise ValueError(f"unknown loss weighting {mode!r}")
        self.terms, self.mode = list(terms), mode
        self.fixed = {t: float((weights or {}).get(t, 1.0)) for t in self.terms}
        self.log_vars = nn.Parameter(torch.zeros(len(self.terms))) if mode == "uncertainty" else None

    def reset_parameters(self) -> None:
        if self.log_vars is not None:
            nn.init.zeros_(self.log_vars)

    def weights(self) -> dict[str, float]:
        """The current weight of each term (exp(-s_i) under uncertainty weighting)."""
        if self.log_vars is None:
            return dict(self.fixed)
        return {t: float(torch.exp(-s)) for t, s in zip(self.terms, self.log_vars.detach())}

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        unknown = set(losses) - set(self.terms)
        if unknown:
            raise KeyError(f"loss terms {sorted(unknown)} are not among {self.terms}")
        total = None
        for i, term in enumerate(self.terms):
            if term not in losses:
                continue
            value = losses[term].float()
            if self.log_vars is None:
                part = self.fixed[term] * value
            else:
                s = self.log_vars[i]
                part = torch.exp(-s) * value + s
            total = part if total is None else total + part
        if total is None:
            raise ValueError("no loss term to combine")
        return total

    def extra_repr(self) -> str:
        return f"mode={self.mode}, terms={self.terms}"
