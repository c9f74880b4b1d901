"""What the KG-augmented model returns: :class:`KGOutput` (forward) and :class:`KGEncoding` (encode)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from kgattn.models.inputs import GraphBatch


@dataclass(frozen=True)
class KGOutput:
    """What :meth:`KGAugmentedModel.forward` returns.

    Shapes (B examples, T tokens, N padded nodes, H backbone hidden size, d GNN size):
        logits:            {task: float [B, C_task]}
        loss:              scalar weighted total, or None when no labels were given.
        losses:            {term: scalar} every term, unweighted ("task:<name>", "link", "align");
                           a term is absent when the batch has no target for it (no labelled
                           example of that task, no edge, no mention token).
        attentions:        one float32 [B, heads, T, 1+N] per fusion layer (key 0 = the learned null
                           node); a padding token's row puts all its weight on the null node.
                           Empty when ``forward(output_attentions=False)`` and no alignment loss
                           was computed.
        gates:             {backbone layer index: tanh(g)} of each fusion block (0-dim tensors).
        node_states:       [B, N, d] node states after the GNN (and GreaseLM updates), or None
                           when no graph was used.
        pooled_graph:      [B, d] the [CLS]-queried attention pool over null node + nodes.
        pool_weights:      [B, 1+N] the pooling weights (key 0 = null node).
        last_hidden_state: [B, T, H] the backbone's final hidden states (fusion included; padding
                           tokens skip the fusion blocks, which no real token can notice).
        fusion_layers:     backbone layer indices carrying a fusion block, in order.
    """

    logits: dict[str, torch.Tensor]
    loss: torch.Tensor | None
    losses: dict[str, torch.Tensor]
    attentions: list[torch.Tensor]
    gates: dict[int, torch.Tensor]
    node_states: torch.Tensor | None
    pooled_graph: torch.Tensor
    pool_weights: torch.Tensor
    last_hidden_state: torch.Tensor
    fusion_layers: tuple[int, ...] = ()


@dataclass(frozen=True)
class KGEncoding:
    """What :meth:`KGAugmentedModel.encode` returns: the fused hidden states before any head.

    Shapes (B examples, T tokens, N padded nodes, H hidden size, d GNN size, E' target edges):
        hidden:       [B, T, H] the backbone's final hidden states (fusion included).
        nodes:        [B, N, d] node states after the GNN (and GreaseLM updates); [B, 0, d]
                      when no graph was encoded (no graph given, use_graph=False, or the bag baseline).
        node_mask:    bool [B, N] real nodes the text attends to (after graph dropout).
        gnn_node_mask: bool [B, N] real nodes of the GNN (before graph dropout; the link loss).
        graph:        the graph input actually used (None when it was ignored).
        target_edges: [E'] positions into ``graph.edge_index`` of the link-prediction targets,
                      or None when no graph was encoded.
        attentions:   one [B, heads, T, 1+N] per fusion layer (empty unless asked for).
        gates:        {backbone layer index: tanh(g)}.
    """

    hidden: torch.Tensor
    nodes: torch.Tensor
    node_mask: torch.Tensor
    graph: GraphBatch | None
    target_edges: torch.Tensor | None
    attentions: list[torch.Tensor]
    gates: dict[int, torch.Tensor]
    gnn_node_mask: torch.Tensor | None = None

    @property
    def encoded_graph(self) -> bool:
        return self.target_edges is not None
