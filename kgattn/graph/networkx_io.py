"""networkx graphs <-> knowledge graphs.

:func:`read_networkx` is the reader behind :meth:`KnowledgeGraph.from_networkx
<kgattn.graph.KnowledgeGraph.from_networkx>`; :func:`to_networkx` is the converter behind
:meth:`KnowledgeGraph.to_networkx <kgattn.graph.KnowledgeGraph.to_networkx>` and reads the
store through its public methods only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kgattn.errors import GraphFormatError
from kgattn.graph.parts import GraphParts

if TYPE_CHECKING:
    from kgattn.graph.store import KnowledgeGraph


def read_networkx(G, relation_attr: str | None = "relation", label_attr: str = "label") -> GraphParts:
    """The parts of a networkx (Multi)(Di)Graph.

    Node keys become ids (``str(key)``); node attributes ``label_attr``, ``aliases``,
    ``types`` (or ``type``) and ``description`` become names, types and description. The
    edge attribute ``relation_attr`` names the relation (``relation_attr=None``: every
    edge is ``"related to"``). An undirected graph stores each edge once, as iterated.
    """
    nodes = list(G.nodes)
    ids = [str(v) for v in nodes]
    pos = {v: i for i, v in enumerate(nodes)}
    labels, aliases, types, descs = [], [], [], []
    for v in nodes:
        d = G.nodes[v]
        label = d.get(label_attr)
        labels.append(str(label) if label is not None else None)
        al = d.get("aliases") or []
        aliases.append([al] if isinstance(al, str) else [str(a) for a in al])
        ty = d.get("types", d.get("type")) or []
        types.append([ty] if isinstance(ty, str) else [str(t) for t in ty])
        desc = d.get("description")
        descs.append(str(desc) if desc is not None else None)
    rel_lookup: dict[str, int] = {}
    src, dst, rel = [], [], []
    for u, v, d in G.edges(data=True):
        if relation_attr is None:
            name = "related to"
        elif relation_attr in d:
            name = str(d[relation_attr])
        else:
            raise GraphFormatError(f"edge ({u!r}, {v!r}) has no attribute {relation_attr!r}; "
                                   "set relation_attr=None to give every edge one relation")
        src.append(pos[u])
        dst.append(pos[v])
        rel.append(rel_lookup.setdefault(name, len(rel_lookup)))
    return GraphParts(ids, src, dst, rel, list(rel_lookup), labels=labels, aliases=aliases, types=types,
                      descriptions=descs)


def to_networkx(kg: "KnowledgeGraph", relation_attr: str = "relation", label_attr: str = "label"):
    """A ``networkx.MultiDiGraph`` keyed by node id, with label/aliases/types/description."""
    import networkx as nx

    G = nx.MultiDiGraph()
    ids = [kg.node_id(i) for i in range(kg.num_nodes)]
    for i, node in enumerate(ids):
        attrs = {label_attr: kg.label(i)}
        if len(names := kg.aliases(i)) > 1:
            attrs["aliases"] = names[1:]
        if (t := kg.types(i)):
            attrs["types"] = t
        if (d := kg.description(i)):
            attrs["description"] = d
        G.add_node(node, **attrs)
    names = kg.relation_names
    G.add_edges_from((ids[s], ids[d], {relation_attr: names[r]})
                     for s, d, r in zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist()))
    return G
