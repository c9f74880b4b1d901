"""The GNN registry: ``KGAugmentedConfig.gnn`` names an entry here (light: no torch import).

Built-in entries name their factory as ``"module:function"`` and are imported on first use, so
validating a config (``kgattn check``) does not import torch_geometric. Add a GNN with
:func:`register_gnn`::

    from kgattn.models.registry import register_gnn

    @register_gnn("graphconv")
    def graph_conv(*, dim, num_relations, num_bases, heads, dropout):
        return torch_geometric.nn.GraphConv(dim, dim)   # called as conv(x, edge_index, edge_attr=...)

    KGClassifier(kg=kg, gnn="graphconv")
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class GNNEntry:
    """One convolution of a :class:`~kgattn.models.gnn.GraphEncoder`.

    ``factory(dim=, num_relations=, num_bases=, heads=, dropout=)`` returns a module mapping
    ``x [n, d]`` to ``[n, d]``. ``typed``: it is called ``conv(x, edge_index, edge_type)`` (relation
    ids, as R-GCN) rather than ``conv(x, edge_index, edge_attr=relation_embeddings [E, d])``.
    ``heads_divide_dim``: the config checks that ``gnn_dim`` is divisible by ``gnn_heads``.
    """

    factory: str | Callable
    typed: bool = False
    heads_divide_dim: bool = False

    def build(self, **kwargs):
        factory = self.factory
        if isinstance(factory, str):
            module, name = factory.split(":")
            factory = getattr(importlib.import_module(module), name)
        return factory(**kwargs)


GNN_CONVS: dict[str, GNNEntry] = {
    "rgcn": GNNEntry("kgattn.models.gnn:rgcn_conv", typed=True),
    "gatv2": GNNEntry("kgattn.models.gnn:gatv2_conv", heads_divide_dim=True),
    "transformer": GNNEntry("kgattn.models.gnn:transformer_conv", heads_divide_dim=True),
}


def register_gnn(name: str, typed: bool = False, heads_divide_dim: bool = False) -> Callable:
    """Register a convolution factory under ``name`` (a decorator); see :class:`GNNEntry`."""
    def decorate(factory: Callable) -> Callable:
        GNN_CONVS[name] = GNNEntry(factory, typed=typed, heads_divide_dim=heads_divide_dim)
        return factory

    return decorate
