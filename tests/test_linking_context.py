"""Context disambiguation with the tiny random-init backbone: static and encoder contexts,
node-encoding cache, coherence, edge-written descriptions, save/load of the context options."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from kgattn.errors import ConfigError
from kgattn.graph import KnowledgeGraph
from kgattn.linking import EntityLinker
from kgattn.linking.context import DescribedGraph, StaticEncoder


@pytest.fixture(scope="module")
def kg():
    G = nx.MultiDiGraph()
    G.add_node("bank.river", label="bank", description="sloping land beside a river", types=["noun.object"])
    G.add_node("bank.money", label="bank", description="a financial institution for money", types=["noun.group"])
    G.add_node("river", label="river", description="a large natural stream of water", types=["noun.object"])
    G.add_node("money", label="money", description="coins and notes", types=["noun.possession"])
    G.add_node("chicago.city", label="Chicago")  # no description: written from its edges
    G.add_node("chicago.film", label="Chicago")
    G.add_node("illinois", label="Illinois")
    G.add_node("musical", label="Musical")
    G.add_edge("bank.river", "river", relation="near")
    G.add_edge("bank.money", "money", relation="holds")
    G.add_edge("chicago.city", "illinois", relation="contained by")
    G.add_edge("chicago.film", "musical", relation="genre")
    return KnowledgeGraph.from_networkx(G)


@pytest.fixture(scope="module")
def linkers(kg, tiny_backbone):
    out = {}
    for context in ("static", "encoder"):
        out[context] = EntityLinker(kg, disambiguate="context", context=context, backbone=tiny_backbone,
                                    cache=False, precision="32")
    out["prior"] = EntityLinker(kg, disambiguate="prior", cache=False)
    return out


def test_static_encoder(tiny_backbone):
    enc = StaticEncoder(tiny_backbone)
    x = enc.encode(["The river bank", "money in the bank", "the of and", ""])
    assert x.shape == (4, 32) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x[:2], axis=1), 1, atol=1e-5)
    assert not x[2].any() and not x[3].any()  # only stop words / nothing: zero vector
    # Distilled once, then read from the disk cache: a new instance gives the same vectors.
    assert np.array_equal(StaticEncoder(tiny_backbone).encode(["The river bank"])[0], x[0])
    assert enc.encode([]).shape == (0, 32)


def test_described_graph(kg):
    view = DescribedGraph(kg)
    city, film = kg.node_index("chicago.city"), kg.node_index("chicago.film")
    assert view.description(city) == "contained by Illinois" and view.description(film) == "genre Musical"
    bank = kg.node_index("bank.river")
    assert view.description(bank) == kg.description(bank)  # own descriptions are kept
    assert view.fingerprint != kg.fingerprint and view.num_nodes == kg.num_nodes


@pytest.mark.parametrize("context", ["static", "encoder"])
def test_context_linking(kg, linkers, context):
    lk = linkers[context]
    texts = ["I took money out of the bank.", "We sat on the bank of the river.", "", "Chicago in Illinois"]
    batch = list(lk.link_batch(texts, batch_size=3))
    assert batch == [lk.link(t) for t in texts]  # batching does not change results
    assert batch == list(lk.link_batch(texts, batch_size=3))  # deterministic
    (bank, money) = sorted(batch[0], key=lambda m: m.text)
    assert bank.text == "bank" and {c.node for c in bank.candidates} == {
        kg.node_index("bank.river"), kg.node_index("bank.money")}
    assert [c.score for c in bank.candidates] == sorted((c.score for c in bank.candidates), reverse=True)
    assert batch[2] == []
    assert lk.node_embeddings.num_cached() >= 4  # candidates were encoded and cached
    # Context terms change the scores relative to the prior alone.
    prior = linkers["prior"].link(texts[0])
    assert [c.score for m in prior for c in m.candidates] != [c.score for m in batch[0] for c in m.candidates]


def test_context_save_load(tmp_path, kg, linkers):
    lk = linkers["static"]
    lk.save(tmp_path / "lk")
    loaded = EntityLinker.load(tmp_path / "lk", kg)
    assert loaded.get_config() == lk.get_config() and loaded.context == "static"
    text = "We sat on the bank of the river."
    assert loaded.link(text) == lk.link(text)


def test_bad_context(kg):
    with pytest.raises(ConfigError, match="context must be one of"):
        EntityLinker(kg, context="magic")
