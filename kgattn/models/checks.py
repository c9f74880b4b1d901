"""Contract checks of a collated :class:`GraphBatch` against the model that reads it."""
from __future__ import annotations

from kgattn.models.inputs import GraphBatch


def check_graph_batch(g: GraphBatch, b: int, t: int, node_feature_dim: int, num_relations: int,
                      values: bool = True) -> None:
    """Raise ValueError naming the field when ``g`` does not fit a batch of ``b`` texts of ``t``
    tokens for a model with ``node_feature_dim`` features and ``num_relations`` relations
    (cheap: a few reductions). ``values=False`` checks the shapes only: reading the values of a
    GPU tensor would synchronise the device (:mod:`kgattn.models.sync`)."""
    if g.node_features.dim() != 3 or g.node_features.shape[0] != b:
        raise ValueError(f"graph.node_features must be [B={b}, N, F], got {tuple(g.node_features.shape)}")
    n = g.node_features.shape[1]
    if g.node_features.shape[2] != node_feature_dim:
        raise ValueError(f"graph.node_features has feature size {g.node_features.shape[2]}, "
                         f"the model expects node_feature_dim={node_feature_dim}")
    for name in ("node_mask", "hop", "seed_mask"):
        if tuple(getattr(g, name).shape) != (b, n):
            raise ValueError(f"graph.{name} must be [{b}, {n}], got {tuple(getattr(g, name).shape)}")
    ei, et = g.edge_index, g.edge_type
    if ei.dim() != 2 or ei.shape[0] != 2 or et.shape != (ei.shape[1],):
        raise ValueError(f"graph.edge_index must be [2, E] and edge_type [E], got {tuple(ei.shape)} and "
                         f"{tuple(et.shape)}")
    if ei.numel() and values:
        if bool(((ei < 0) | (ei >= b * n)).any()):
            j = int(((ei < 0) | (ei >= b * n)).any(0).nonzero()[0, 0])
            raise ValueError(f"graph.edge_index[:, {j}] = {ei[:, j].tolist()} is outside the {b}x{n} node positions")
        if bool((ei[0] // n != ei[1] // n).any()):
            j = int((ei[0] // n != ei[1] // n).nonzero()[0, 0])
            raise ValueError(f"graph edge {j} joins two examples ({ei[:, j].tolist()} with N={n})")
        real = g.node_mask.reshape(-1).bool()
        if not bool(real[ei].all()):
            j = int((~real[ei]).any(0).nonzero()[0, 0])
            raise ValueError(f"graph edge {j} ({ei[:, j].tolist()}) touches a padding node")
        r = num_relations
        if bool(((et < 0) | (et >= r)).any()):
            j = int(((et < 0) | (et >= r)).nonzero()[0, 0])
            raise ValueError(f"graph.edge_type[{j}] = {int(et[j])} is outside the {r} relations of the config")
    if g.mention_nodes is not None:
        m = g.mention_nodes
        if tuple(m.shape) != (b, t):
            raise ValueError(f"graph.mention_nodes must be [{b}, {t}] like input_ids, got {tuple(m.shape)}")
        has = m >= 0
        if values and bool(has.any()):
            if bool((m >= n).any()) or bool((m < -1).any()):
                raise ValueError(f"graph.mention_nodes has values outside -1..{n - 1}")
            ok = g.node_mask.bool().gather(1, m.clamp(0, max(n - 1, 0)).long()) | ~has
            if not bool(ok.all()):
                bi, ti = (~ok).nonzero()[0].tolist()
                raise ValueError(f"graph.mention_nodes[{bi}, {ti}] points to padding node {int(m[bi, ti])}")
