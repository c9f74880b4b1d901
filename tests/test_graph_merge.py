"""KnowledgeGraph.union: merged nodes, preserved edges, prefixes, relations, canonical fingerprints."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kgattn.errors import DatasetNotFoundError, EmptyGraphError
from kgattn.graph import GraphWarning, KnowledgeGraph
from kgattn.graph.merge import _take
from kgattn.graph.strings import StringTable
from kgattn.paths import data_dir

FIX = Path(__file__).parent / "fixtures" / "graph"


def triples(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    """(source id, relation id, target id) of every edge."""
    return {(kg.node_id(s), kg.relation_ids[r], kg.node_id(d))
            for s, d, r in zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist())}


@pytest.fixture
def a() -> KnowledgeGraph:
    # x -r-> y, y -s-> z, x -r-> z
    return KnowledgeGraph.from_arrays(
        ["x", "y", "z"], [0, 1, 0], [1, 2, 2], [0, 1, 0], ["r", "s"],
        labels=["Ex", None, "Zed"], aliases=[["x one"], [], ["zz"]], types=[["T"], [], ["U"]],
        descriptions=["first x", None, ""], attributes=[{"k": ["1"]}, {}, {"year": ["1900"]}],
        relation_ids=["ex:r", "ex:s"], metadata={"dataset": "a", "source": "a.ttl"})


@pytest.fixture
def b() -> KnowledgeGraph:
    # y -t-> w, x -r-> z (also in a), z -r-> x; shares nodes x, y, z and relation ex:r with a
    return KnowledgeGraph.from_arrays(
        ["w", "x", "y", "z"], [2, 1, 3], [0, 3, 1], [0, 1, 1], ["t", "r (b's name)"],
        labels=["Double-u", "X2", "Why", None], aliases=[[], ["x one", "ecks"], [], ["zz"]],
        types=[["V"], ["T", "W"], ["V"], []], descriptions=["a w", "second x", "a y", "a z"],
        attributes=[{}, {"k": ["1", "2"], "b": ["q"]}, {}, {}],
        relation_ids=["ex:t", "ex:r"], metadata={"dataset": "b"})


def test_union_merges_nodes_and_keeps_every_edge(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # an edge in both inputs is expected, not warned about
        u = KnowledgeGraph.union([a, b])
    assert [u.node_id(i) for i in range(u.num_nodes)] == ["w", "x", "y", "z"]   # sorted ids
    assert triples(u) == triples(a) | triples(b)
    assert u.num_edges == a.num_edges + b.num_edges - 1                         # x -ex:r-> z once
    assert u.relation_ids == ["ex:r", "ex:s", "ex:t"] and u.relation_names == ["r", "s", "t"]
    x, y, z = (u.node_index(v) for v in "xyz")
    assert u.aliases(x) == ["Ex", "x one", "X2", "ecks"]        # first input's label, names united
    assert u.label(y) == "Why"                                   # a has no name for y: first non-empty
    assert u.aliases(z) == ["Zed", "zz"]
    assert u.types(x) == ["T", "W"] and u.types(y) == ["V"] and u.types(z) == ["U"]
    assert u.description(x) == "first x" and u.description(y) == "a y" and u.description(z) == "a z"
    assert u.attributes(x) == {"b": ["q"], "k": ["1", "2"]} and u.attributes(z) == {"year": ["1900"]}
    assert u.label(u.node_index("w")) == "Double-u" and u.attributes(u.node_index("w")) == {}
    m = u.metadata
    assert m["dataset"] == "union" and m["nodes_merged"] == 3 and m["edges_merged"] == 1
    assert m["relations_shared"] == 1 and m["relations"] == "shared"
    assert [s["fingerprint"] for s in m["sources"]] == [a.fingerprint, b.fingerprint]
    assert m["sources"][0]["metadata"]["source"] == "a.ttl" and m["sources"][1]["num_nodes"] == 4
    # The CSR views are rebuilt for the union: neighbours of x over both inputs' edges.
    nbr, rel = u.neighbors(x, "out")
    assert sorted(zip(nbr.tolist(), rel.tolist())) == [(y, 0), (z, 0)]


def test_prefixes_keep_equal_ids_apart(a, b):
    u = KnowledgeGraph.union([a, b], prefixes=["a:", "b:"])
    assert u.num_nodes == a.num_nodes + b.num_nodes and u.num_edges == a.num_edges + b.num_edges
    assert u.metadata["nodes_merged"] == 0 and u.metadata["edges_merged"] == 0
    assert u.label(u.node_index("a:x")) == "Ex" and u.label(u.node_index("b:x")) == "X2"
    assert "x" not in u
    assert {(s[2:], r, d[2:]) for s, r, d in triples(u)} == triples(a) | triples(b)
    assert [s["prefix"] for s in u.metadata["sources"]] == ["a:", "b:"]
    # An empty prefix leaves that input's ids as they are.
    v = KnowledgeGraph.union([a, b], prefixes=["", "b:"])
    assert "x" in v and "b:x" in v and v.num_nodes == 7


def test_relations_shared_by_id_or_separate(a, b):
    shared = KnowledgeGraph.union([a, b])
    # Same id "ex:r" in both: one relation, named as in the first input ("r", not "r (b's name)").
    assert shared.num_relations == 3 and "r (b's name)" not in shared.relation_names
    separate = KnowledgeGraph.union([a, b], relations="separate")
    assert separate.relation_ids == ["0:ex:r", "0:ex:s", "1:ex:t", "1:ex:r"]
    assert separate.relation_names == ["r", "s", "t", "r (b's name)"]
    assert separate.num_edges == a.num_edges + b.num_edges       # x -> z now under two relations
    prefixed = KnowledgeGraph.union([a, b], prefixes=["a:", "b:"], relations="separate")
    assert prefixed.relation_ids == ["a:ex:r", "a:ex:s", "b:ex:t", "b:ex:r"]
    # Different ids with the same readable name stay distinct relations.
    c = KnowledgeGraph.from_arrays(["x", "q"], [0], [1], [0], ["r"], relation_ids=["other:r"])
    u = KnowledgeGraph.union([a, c])
    assert u.relation_names.count("r") == 2 and u.num_relations == 3


def test_fingerprint_is_a_function_of_content(a, b, tmp_path):
    u = KnowledgeGraph.union([a, b])
    assert KnowledgeGraph.union([a, b]).fingerprint == u.fingerprint
    # Inputs memory-mapped from disk give the same union.
    la, lb = KnowledgeGraph.load(a.save(tmp_path / "a")), KnowledgeGraph.load(b.save(tmp_path / "b"))
    assert KnowledgeGraph.union([la, lb]).fingerprint == u.fingerprint
    # Input order decides labels and relation order, so it is part of the content.
    assert KnowledgeGraph.union([b, a]).fingerprint != u.fingerprint
    # The union of two halves is the graph built from the whole in one go (canonical form).
    whole = KnowledgeGraph.from_arrays(
        ["p", "q", "r", "s"], [0, 1, 2], [1, 2, 3], [0, 1, 0], ["knows", "near"],
        labels=["P", "Q", "R", "S"], aliases=[["pp"], [], ["rr"], []], types=[["A"], ["B"], ["A", "C"], []],
        descriptions=["dp", "", "dr", "ds"], attributes=[{"k": ["v"]}, {}, {"a": ["1"], "z": ["2"]}, {}])
    left = KnowledgeGraph.from_arrays(
        ["p", "q", "r"], [0, 1], [1, 2], [0, 1], ["knows", "near"], labels=["P", "Q", "R"],
        aliases=[["pp"], [], []], types=[["A"], ["B"], ["A"]], descriptions=["dp", "", ""],
        attributes=[{"k": ["v"]}, {}, {"z": ["2"]}])
    right = KnowledgeGraph.from_arrays(
        ["r", "s"], [0], [1], [0], ["knows"], labels=["R", "S"], aliases=[["rr"], []],
        types=[["C"], []], descriptions=["dr", "ds"], attributes=[{"a": ["1"]}, {}])
    assert KnowledgeGraph.union([left, right]).fingerprint == whole.fingerprint


def test_union_is_idempotent_on_canonical_graphs():
    with pytest.warns(GraphWarning):     # the fixture has an unnamed node and an unused name
        kg = KnowledgeGraph.from_triples(FIX / "triples.tsv", names=FIX / "names.tsv")
    assert KnowledgeGraph.union([kg]).fingerprint == kg.fingerprint
    assert KnowledgeGraph.union([kg, kg]).fingerprint == kg.fingerprint


def test_union_saves_and_loads(a, b, tmp_path):
    u = KnowledgeGraph.union([a, b], prefixes=["a:", ""])
    back = KnowledgeGraph.load(u.save(tmp_path / "u"), verify=True)
    assert back.fingerprint == u.fingerprint
    assert (back.num_nodes, back.num_edges, back.num_relations) == (u.num_nodes, u.num_edges, u.num_relations)
    assert triples(back) == triples(u)
    for i in range(u.num_nodes):
        assert (back.aliases(i), back.types(i), back.description(i), back.attributes(i)) == \
               (u.aliases(i), u.types(i), u.description(i), u.attributes(i))
    assert back.metadata["sources"][0]["prefix"] == "a:" and back.metadata["dataset"] == "union"
    assert back.alias_index()["ecks"] == [back.node_index("x")]


def test_union_of_imported_graphs():
    from kgattn.datasets.fb15k237 import fb15k237
    from kgattn.datasets.wordnet import wordnet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the FB15k fixture has a duplicate triple on purpose
        fb = fb15k237(FIX / "fb15k", cache=False)
    wn = wordnet(FIX / "wordnet", cache=False)
    u = KnowledgeGraph.union([fb, wn])
    assert (u.num_nodes, u.num_edges) == (fb.num_nodes + wn.num_nodes, fb.num_edges + wn.num_edges)
    assert u.num_relations == fb.num_relations + wn.num_relations
    assert triples(u) == triples(fb) | triples(wn)
    node = wn.node_id(0)
    assert u.aliases(u.node_index(node)) == wn.aliases(0) and u.types(u.node_index(node)) == wn.types(0)
    assert u.metadata["dataset"] == "union"          # not "wordnet": the linker's WordNet priors are off


def test_bad_arguments(a, b):
    with pytest.raises(EmptyGraphError):
        KnowledgeGraph.union([])
    with pytest.raises(ValueError, match="2 graphs"):
        KnowledgeGraph.union([a, b], prefixes=["a:"])
    with pytest.raises(ValueError, match="'shared' or 'separate'"):
        KnowledgeGraph.union([a, b], relations="merge")


def test_block_take_matches_string_table_take():
    rng = np.random.default_rng(0)
    table = StringTable.from_strings([f"s{i}" * int(rng.integers(0, 4)) + "é" * (i % 3) for i in range(200)])
    for indices in (np.arange(200), rng.permutation(200), np.concatenate([np.arange(50, 120), np.arange(10)]),
                    np.array([], dtype=np.int64), np.array([7, 7, 8, 3])):
        got, want = _take(table, indices), table.take(indices)
        assert list(got) == list(want)
        assert np.array_equal(got.offsets, want.offsets) and got.blob.dtype == np.uint8


@pytest.mark.data
def test_real_fb15k237_and_wordnet_union():
    from kgattn.datasets.fb15k237 import fb15k237
    from kgattn.datasets.wordnet import wordnet

    if not (data_dir() / "fb15k-237").is_dir():
        pytest.skip(f"FB15k-237 not under {data_dir()}")
    try:
        wn = wordnet()
    except DatasetNotFoundError as exc:
        pytest.skip(str(exc))
    fb = fb15k237()
    u = KnowledgeGraph.union([fb, wn])   # its speed is measured by benchmarks/graph_union.py
    assert (u.num_nodes, u.num_edges, u.num_relations) == (
        fb.num_nodes + wn.num_nodes, fb.num_edges + wn.num_edges, fb.num_relations + wn.num_relations)
    assert (u.num_nodes, u.num_edges, u.num_relations) == (132_200, 551_680, 253)
    assert u.metadata["nodes_merged"] == 0 and u.metadata["edges_merged"] == 0
    assert u.label(u.node_index("dog.n.01")) == "dog"
    assert u.label(u.node_index(fb.node_id(0))) == fb.label(0)
