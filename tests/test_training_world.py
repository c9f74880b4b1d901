"""A toy world for training tests: invented companies whose sector is known only from the graph."""
from __future__ import annotations

import random

SECTORS = ("alpha", "beta")
_SYLLABLES = ("zor", "vik", "qua", "len", "mar", "dox", "tel", "fin", "pru", "gas", "hol", "bri",
              "nek", "sto", "wal", "jum", "ric", "tav", "lom", "pex")
TEMPLATES = ("{name} reported results today.", "Shares of {name} rose sharply.",
             "{name} opened a new office.", "Analysts discussed {name} on Monday.")


def company_names(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < n:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize()
        if name not in names:
            names.append(name)
    return names


def toy_graph(num_companies: int = 40, seed: int = 0):
    """Companies (nodes 0..n-1) each linked to one sector; sector of company i is i % 2."""
    import networkx as nx

    from kgattn.graph import KnowledgeGraph

    g = nx.MultiDiGraph()
    names = company_names(num_companies, seed)
    for i, name in enumerate(names):
        g.add_node(f"company_{i}", label=name, types=["Company"])
    for s in SECTORS:
        g.add_node(f"sector_{s}", label=f"{s} sector", types=["Sector"])
        g.add_node(f"hub_{s}", label=f"{s} association", types=["Group"])
        g.add_edge(f"sector_{s}", f"hub_{s}", relation="member of")
    for i in range(num_companies):
        g.add_edge(f"company_{i}", f"sector_{SECTORS[i % 2]}", relation="sector")
    kg = KnowledgeGraph.from_networkx(g)
    return kg, names


def toy_corpus(kg, names: list[str], companies, templates=TEMPLATES):
    """Texts, sector labels and pre-linked mentions for the given company numbers."""
    from kgattn.linking.types import Mention

    texts, labels, mentions = [], [], []
    for i in companies:
        for template in templates:
            text = template.format(name=names[i])
            start = text.index(names[i])
            node = kg.node_index(f"company_{i}")
            texts.append(text)
            labels.append(SECTORS[i % 2])
            mentions.append([Mention(start, start + len(names[i]), names[i], node=node)])
    return texts, labels, mentions


def one_thread():
    """Generator for a module-scoped fixture: tiny models run on one thread.

    On a shared, loaded CPU, torch's intra-op threads spin against other processes; for models
    this small one thread is several times faster. The previous setting is restored.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
