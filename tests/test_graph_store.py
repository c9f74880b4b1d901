"""KnowledgeGraph: construction, lookups, CSR neighbours, alias index, conversions."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from kgattn.errors import EmptyGraphError, GraphFormatError, UnknownNodeError
from kgattn.graph import GraphWarning, KnowledgeGraph, Subgraph, normalize_alias


@pytest.fixture()
def small_kg() -> KnowledgeGraph:
    # 0 dog -hypernym-> 1 canine -hypernym-> 2 carnivore ; 3 cat -hypernym-> 2 ; 4 lonely (isolated)
    return KnowledgeGraph.from_arrays(
        ["dog.n.01", "canine.n.02", "carnivore.n.01", "cat.n.01", "lonely.x.01"],
        src=[0, 1, 3, 0], dst=[1, 2, 2, 3], rel=[0, 0, 0, 1],
        relation_names=["hypernym", "chases"],
        labels=["dog", "canine", None, "cat", None],
        aliases=[["domestic_dog", "Canis familiaris"], [], [], ["true cat"], []],
        types=[["noun.animal"], ["noun.animal"], [], [], []],
        descriptions=["a member of the genus Canis", None, "", None, None])


def test_normalize_alias():
    assert normalize_alias("  Hot_Dog\t STAND ") == "hot dog stand"
    assert normalize_alias("Straße") == "strasse"  # casefold, not lower
    assert normalize_alias("ﬁre") == "fire"  # NFKC ligature
    assert normalize_alias("") == ""


def test_counts_arrays_and_lookups(small_kg):
    kg = small_kg
    assert (kg.num_nodes, kg.num_edges, kg.num_relations) == (5, 4, 2)
    assert kg.src.dtype == kg.dst.dtype == kg.rel.dtype == torch.int64
    assert torch.all(kg.src[1:] >= kg.src[:-1])
    assert kg.degree.tolist() == [2, 2, 2, 2, 0]
    assert kg.node_index("cat.n.01") == 3 and kg.node_id(3) == "cat.n.01"
    assert kg.label(2) == "carnivore.n.01"  # no label -> id
    assert kg.aliases(0) == ["dog", "domestic_dog", "Canis familiaris"]
    assert kg.aliases(2) == []
    assert kg.types(0) == ["noun.animal"] and kg.types(3) == []
    assert kg.description(0) == "a member of the genus Canis" and kg.description(1) == ""
    with pytest.raises(UnknownNodeError, match="wolf.n.01"):
        kg.node_index("wolf.n.01")
    with pytest.raises(UnknownNodeError, match="out of range"):
        kg.label(5)
    assert len(kg.fingerprint) == 64


def test_neighbors_directions(small_kg):
    kg = small_kg
    out_n, out_r = kg.neighbors(0, "out")
    assert sorted(zip(out_n.tolist(), out_r.tolist())) == [(1, 0), (3, 1)]
    in_n, in_r = kg.neighbors(2, "in")
    assert sorted(in_n.tolist()) == [1, 3] and in_r.tolist() == [0, 0]
    both_n, _ = kg.neighbors(1)
    assert sorted(both_n.tolist()) == [0, 2]
    assert kg.neighbors(4)[0].numel() == 0
    with pytest.raises(ValueError, match="direction"):
        kg.neighbors(0, "sideways")


def test_alias_index(small_kg):
    idx = small_kg.alias_index()
    assert idx["dog"] == [0] and idx["domestic dog"] == [0] and idx["canis familiaris"] == [0]
    assert idx["true cat"] == [3]
    assert "carnivore.n.01" not in idx  # ids are not names
    assert small_kg.alias_index() is idx  # cached


def test_alias_index_shared_names_sorted():
    kg = KnowledgeGraph.from_arrays(["b", "a", "c"], [0, 1], [1, 2], [0, 0], ["r"],
                                    labels=["Bank", "bank", "BANK_"])
    assert kg.alias_index() == {"bank": [0, 1, 2]}
    assert kg.node_index("a") == 1 and kg.node_index("c") == 2


def test_duplicates_warned_and_removed():
    with pytest.warns(GraphWarning, match="removed 2 duplicate"):
        kg = KnowledgeGraph.from_arrays(["a", "b"], [0, 0, 0, 1], [1, 1, 1, 0], [0, 0, 0, 0], ["r"])
    assert kg.num_edges == 2 and kg.metadata["duplicates_removed"] == 2


def test_bad_arrays():
    with pytest.raises(EmptyGraphError):
        KnowledgeGraph.from_arrays(["a"], [], [], [], ["r"])
    with pytest.raises(EmptyGraphError):
        KnowledgeGraph.from_arrays([], [0], [0], [0], ["r"])
    with pytest.raises(GraphFormatError, match="dst node index 7 out of range"):
        KnowledgeGraph.from_arrays(["a", "b"], [0], [7], [0], ["r"])
    with pytest.raises(GraphFormatError, match="rel relation index 3"):
        KnowledgeGraph.from_arrays(["a", "b"], [0], [1], [3], ["r"])
    with pytest.raises(GraphFormatError, match="duplicate node id 'a'"):
        KnowledgeGraph.from_arrays(["a", "b", "a"], [0], [1], [0], ["r"])


def test_inverse_relations(small_kg):
    kg = KnowledgeGraph.from_arrays(["a", "b"], [0], [1], [0], ["parent of"], add_inverse=True)
    assert kg.relation_names == ["parent of", "inverse of parent of"]
    assert kg.num_edges == 2
    out_n, out_r = kg.neighbors(1, "out")
    assert out_n.tolist() == [0] and out_r.tolist() == [1]


def test_networkx_round_trip(small_kg):
    G = small_kg.to_networkx()
    assert isinstance(G, nx.MultiDiGraph)
    assert G.nodes["dog.n.01"]["label"] == "dog"
    assert G.nodes["dog.n.01"]["aliases"] == ["domestic_dog", "Canis familiaris"]
    kg2 = KnowledgeGraph.from_networkx(G)
    assert kg2.num_nodes == 5 and kg2.num_edges == 4
    for i in range(kg2.num_nodes):
        j = small_kg.node_index(kg2.node_id(i))
        assert kg2.aliases(i) == small_kg.aliases(j) or (not small_kg.aliases(j) and kg2.label(i) == kg2.node_id(i))
        assert kg2.types(i) == small_kg.types(j)
        assert kg2.description(i) == small_kg.description(j)
    triples = lambda k: sorted((k.node_id(s), k.relation_names[r], k.node_id(d))  # noqa: E731
                               for s, d, r in zip(k.src.tolist(), k.dst.tolist(), k.rel.tolist()))
    assert triples(kg2) == triples(small_kg)


def test_from_networkx_missing_relation():
    G = nx.DiGraph([("a", "b")])
    with pytest.raises(GraphFormatError, match="relation_attr=None"):
        KnowledgeGraph.from_networkx(G)
    kg = KnowledgeGraph.from_networkx(G, relation_attr=None)
    assert kg.relation_names == ["related to"] and kg.label(0) == "a"


def test_to_pyg(small_kg):
    data = small_kg.to_pyg()
    assert data.num_nodes == 5
    assert data.edge_index.shape == (2, 4) and data.edge_type.shape == (4,)
    assert torch.equal(data.edge_index[0], small_kg.src)


def test_subgraph_basic(small_kg):
    sg = small_kg.subgraph([3, 0], hops=1)
    assert isinstance(sg, Subgraph)
    assert sg.nodes[:2].tolist() == [3, 0] and sg.seed_mask.tolist()[:2] == [True, True]
    assert set(sg.nodes.tolist()) == {0, 1, 2, 3}
    assert sg.hop.tolist() == [0, 0, 1, 1]
    # induced edges, local indices, relation ids preserved
    glob = {(int(sg.nodes[a]), int(sg.nodes[b]), int(t))
            for (a, b), t in zip(sg.edge_index.t().tolist(), sg.edge_type.tolist())}
    assert glob == {(0, 1, 0), (1, 2, 0), (3, 2, 0), (0, 3, 1)}
    assert small_kg.subgraph([]).num_nodes == 0
    assert [s.num_nodes for s in small_kg.subgraphs([[0], [], [4]], hops=2)] == [4, 0, 1]


def test_subgraph_cap_and_scorer(small_kg):
    sg = small_kg.subgraph([0], hops=2, max_nodes=2)
    assert sg.nodes.tolist()[0] == 0 and sg.num_nodes == 2
    # a scorer preferring high node index picks node 3 among hop-1 {1, 3}
    sg = small_kg.subgraph([0], hops=2, max_nodes=2, scorer=lambda n, h: n.float())
    assert sg.nodes.tolist() == [0, 3]
    sg = small_kg.subgraph([0, 0, 1], max_nodes=1)  # seeds kept even beyond the cap, de-duplicated
    assert sg.nodes.tolist() == [0, 1]
    with pytest.raises(UnknownNodeError):
        small_kg.subgraph([99])
    with pytest.raises(ValueError, match="scorer returned"):
        small_kg.subgraph([0], scorer=lambda n, h: torch.zeros(1))


def test_quickstart_turtle_loads():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "quickstart" / "kg.ttl"
    if not path.exists():
        pytest.skip("quickstart KG not written yet")
    kg = KnowledgeGraph.from_rdf(path)
    assert kg.num_nodes > 100 and kg.num_relations >= 3
    assert all(kg.label(i) for i in range(kg.num_nodes))
    assert np.asarray(kg.degree).sum() == 2 * kg.num_edges
