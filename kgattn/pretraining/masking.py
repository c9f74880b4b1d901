"""Entity-aware masking for masked language modelling, and the choice of edges to hide.

Masking follows BERT (Devlin et al. 2019): a chosen token becomes ``[MASK]`` 80% of the time,
a random token 10% and stays 10%; its label is the original id, every other label is -100.
Tokens of linked mentions are chosen with ``entity_rate`` instead of ``rate``, so the text
side must often recover an entity's name from the graph (the motivation of DRAGON's joint
MLM + link prediction, Yasunaga et al. 2022).
"""
from __future__ import annotations

import torch

IGNORE = -100


def mask_tokens(input_ids: torch.Tensor, maskable: torch.Tensor, entity_tokens: torch.Tensor, *, rate: float,
                entity_rate: float, mask_token_id: int, vocab_size: int,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked ids and MLM labels.

    Shapes: ``input_ids``, ``maskable`` (bool: real, non-special tokens) and ``entity_tokens``
    (bool: tokens of a linked mention) [B, T] -> ``(masked_ids [B, T], labels [B, T])``.

    Each maskable token is chosen independently with probability ``entity_rate`` when it is an
    entity token, else ``rate``. When a row has maskable tokens but none was drawn, one of them
    is chosen (an entity token when there is one), so every text contributes to the loss.
    """
    if input_ids.shape != maskable.shape or input_ids.shape != entity_tokens.shape:
        raise ValueError(f"input_ids {tuple(input_ids.shape)}, maskable {tuple(maskable.shape)} and "
                         f"entity_tokens {tuple(entity_tokens.shape)} must have one shape")
    device = input_ids.device
    entity_tokens = entity_tokens & maskable
    prob = torch.where(entity_tokens, torch.full_like(input_ids, 0, dtype=torch.float) + entity_rate,
                       torch.full_like(input_ids, 0, dtype=torch.float) + rate) * maskable
    draws = torch.rand(input_ids.shape, generator=generator, device=device)
    chosen = draws < prob
    # Rows with nothing drawn: take the maskable token with the lowest draw (entity tokens first).
    empty = ~chosen.any(1) & maskable.any(1) & (prob.sum(1) > 0)
    if bool(empty.any()):
        score = draws - 2.0 * entity_tokens.float() + 4.0 * (~maskable).float()
        pick = score.argmin(1)
        chosen[empty, pick[empty]] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    action = torch.rand(input_ids.shape, generator=generator, device=device)
    masked = input_ids.clone()
    masked[chosen & (action < 0.8)] = mask_token_id
    random_slots = chosen & (action >= 0.8) & (action < 0.9)
    if bool(random_slots.any()):
        masked[random_slots] = torch.randint(vocab_size, (int(random_slots.sum()),), generator=generator,
                                             device=device)
    return masked, labels


def hidden_edges(edge_index: torch.Tensor, seed_mask: torch.Tensor, rate: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Positions of the edges to hide from the GNN and predict: a ``rate`` fraction (at least one)
    of the edges that touch a linked (seed) node; without such edges, of all edges.

    Shapes: ``edge_index`` [2, E] into the flattened B*N nodes, ``seed_mask`` [B, N] -> [E'] int64.
    """
    e = edge_index.shape[1]
    if e == 0:
        return torch.zeros(0, dtype=torch.long, device=edge_index.device)
    seeds = seed_mask.reshape(-1).bool()
    touching = (seeds[edge_index[0]] | seeds[edge_index[1]]).nonzero().squeeze(-1)
    pool = touching if touching.numel() else torch.arange(e, device=edge_index.device)
    k = max(1, int(round(rate * pool.numel())))
    order = torch.randperm(pool.numel(), generator=generator, device="cpu").to(pool.device)
    return pool[order[:k]].sort().values
