"""Subgraph retrieval against a networkx reference on random graphs (hypothesis), and hub capping."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgattn.graph import KnowledgeGraph


@st.composite
def graphs_and_seeds(draw):
    n = draw(st.integers(2, 25))
    e = draw(st.integers(1, 60))
    src = draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e))
    rel = draw(st.lists(st.integers(0, 2), min_size=e, max_size=e))
    seeds = draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=4))
    hops = draw(st.integers(0, 3))
    max_nodes = draw(st.integers(1, 20))
    return n, src, dst, rel, seeds, hops, max_nodes


def _build(n, src, dst, rel):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate edges in random draws
        return KnowledgeGraph.from_arrays([f"n{i:03d}" for i in range(n)], src, dst, rel, ["r0", "r1", "r2"])


def _reference(kg, seeds, hops, max_nodes, score=None):
    """Plain networkx: hop = min undirected distance to a seed; rank; induced edges."""
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(kg.num_nodes))
    triples = list(zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist()))
    G.add_edges_from((s, d, {"rel": r}) for s, d, r in triples)
    U = G.to_undirected(as_view=True)
    seeds = list(dict.fromkeys(seeds))
    dist = {}
    for s in seeds:
        for v, d in nx.single_source_shortest_path_length(U, s, cutoff=hops).items():
            dist[v] = min(d, dist.get(v, d))
    cand = [v for v in dist if v not in seeds]
    if score is None:
        cand.sort(key=lambda v: (dist[v], G.degree(v), v))
    else:
        cand.sort(key=lambda v: (-score(v, dist[v]), dist[v], v))
    kept = seeds + cand[:max(0, max_nodes - len(seeds))]
    keep = set(kept)
    edges = sorted((s, d, r) for s, d, r in triples if s in keep and d in keep)
    return kept, [dist[v] for v in kept], edges


def _as_global(sg):
    nodes = sg.nodes.tolist()
    return sorted((nodes[a], nodes[b], t) for (a, b), t in zip(sg.edge_index.t().tolist(), sg.edge_type.tolist()))


def _check_valid(sg):
    n = sg.num_nodes
    assert sg.nodes.dtype == sg.edge_index.dtype == sg.edge_type.dtype == sg.hop.dtype == torch.int64
    assert sg.seed_mask.dtype == torch.bool
    assert sg.edge_index.shape == (2, sg.num_edges) and sg.hop.shape == sg.seed_mask.shape == (n,)
    if sg.num_edges:
        assert 0 <= int(sg.edge_index.min()) and int(sg.edge_index.max()) < n
    assert len(set(sg.nodes.tolist())) == n


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs_and_seeds())
def test_default_scorer_matches_networkx(case):
    n, src, dst, rel, seeds, hops, max_nodes = case
    kg = _build(n, src, dst, rel)
    sg = kg.subgraph(seeds, hops=hops, max_nodes=max_nodes)
    _check_valid(sg)
    if not seeds:
        assert sg.num_nodes == 0
        return
    kept, hop, edges = _reference(kg, seeds, hops, max_nodes)
    assert sg.nodes.tolist() == kept
    assert sg.hop.tolist() == hop
    n_seeds = len(dict.fromkeys(seeds))
    assert sg.seed_mask.tolist() == [True] * n_seeds + [False] * (len(kept) - n_seeds)
    assert _as_global(sg) == edges


@settings(max_examples=60, deadline=None, database=None)
@given(graphs_and_seeds(), st.integers(0, 2**31))
def test_custom_scorer_matches_networkx(case, salt):
    n, src, dst, rel, seeds, hops, max_nodes = case
    if not seeds:
        return
    kg = _build(n, src, dst, rel)

    def score_one(v, h):
        return float((v * 2654435761 + salt) % 97) - h

    def scorer(nodes, hop):
        return torch.tensor([score_one(v, h) for v, h in zip(nodes.tolist(), hop.tolist())])

    sg = kg.subgraph(seeds, hops=hops, max_nodes=max_nodes, scorer=scorer)
    _check_valid(sg)
    kept, hop, edges = _reference(kg, seeds, hops, max_nodes, score=score_one)
    assert sg.nodes.tolist() == kept and sg.hop.tolist() == hop and _as_global(sg) == edges


def test_subgraphs_batch_equals_single():
    rng = np.random.default_rng(0)
    kg = _build(40, rng.integers(0, 40, 150), rng.integers(0, 40, 150), rng.integers(0, 3, 150))
    lists = [rng.integers(0, 40, rng.integers(0, 4)).tolist() for _ in range(30)]
    for batch, seeds in zip(kg.subgraphs(lists, hops=2, max_nodes=10), lists):
        single = kg.subgraph(seeds, hops=2, max_nodes=10)
        assert torch.equal(batch.nodes, single.nodes) and torch.equal(batch.edge_index, single.edge_index)
    # tensors and numpy arrays are accepted as seed lists
    assert torch.equal(kg.subgraph(torch.tensor([3, 1])).nodes, kg.subgraph([3, 1]).nodes)
    assert torch.equal(kg.subgraph(np.array([3, 1])).nodes, kg.subgraph([3, 1]).nodes)
    with pytest.raises(TypeError, match="integer node indices"):
        kg.subgraph(["n001"])


@pytest.fixture(scope="module")
def star():
    """A hub (node 0) with 3000 leaves, and a chain 3000-3001-...-3009 attached to leaf 1."""
    leaves = np.arange(1, 3001)
    src = np.concatenate([np.zeros(3000, dtype=np.int64), [1], np.arange(3001, 3010)])
    dst = np.concatenate([leaves, [3001], np.arange(3002, 3011)])
    n = 3011
    return KnowledgeGraph.from_arrays([f"v{i:05d}" for i in range(n)], src, dst, np.zeros(src.size, dtype=np.int64),
                                      ["r"])


def _by_index(nodes, hop):
    return -nodes.float()


def _hashed(nodes, hop):
    return ((nodes * 2654435761) % 1009).float()


def test_hub_expansion_is_capped_default_ranking(star):
    kg = star
    assert kg.hub_threshold <= int(kg.degree[0]) == 3000  # node 0 is in the top 0.1%
    # default ranking: the hub is read through its hub_cap lowest-degree neighbours
    sg = kg.subgraph([0], hops=1, max_nodes=10_000, hub_cap=32)
    assert sg.nodes.tolist() == [0] + list(range(2, 34))  # leaves of degree 1, by index
    # exact whenever hub_cap >= max_nodes: same result as with no cap at all
    for seeds in ([0], [5], [1], [3005, 7]):
        capped = kg.subgraph(seeds, hops=2, max_nodes=20, hub_cap=32)
        uncapped = kg.subgraph(seeds, hops=2, max_nodes=20, hub_cap=0)
        assert torch.equal(capped.nodes, uncapped.nodes) and torch.equal(capped.edge_index, uncapped.edge_index)
    assert kg.subgraph([0], hops=1, max_nodes=10_000, hub_cap=0).num_nodes == 3001


def test_hub_expansion_is_sampled_with_custom_scorer(star):
    kg = star
    sg = kg.subgraph([0], hops=1, max_nodes=10_000, hub_cap=32, scorer=_by_index)
    assert sg.num_nodes == 33  # the hub and 32 sampled leaves
    again = kg.subgraph([0], hops=1, max_nodes=10_000, hub_cap=32, scorer=_by_index)
    assert torch.equal(sg.nodes, again.nodes) and torch.equal(sg.edge_index, again.edge_index)
    leaves = sg.nodes[1:]
    assert leaves.min() >= 1 and leaves.max() <= 3000
    assert int(leaves.max() - leaves.min()) > 1500  # spread over the list, not a prefix
    # reached at hop 1 from a leaf, the hub is expanded through at most hub_cap neighbours too
    assert kg.subgraph([5], hops=2, max_nodes=10_000, hub_cap=32, scorer=_hashed).num_nodes <= 2 + 32
    samples = {tuple(sorted(kg.subgraph([s], hops=2, max_nodes=10_000, hub_cap=16, scorer=_hashed).nodes.tolist()))
               for s in range(2, 12)}
    assert len(samples) > 1  # the phase is a hash of the seed set, not a fixed prefix


def test_default_prefers_low_degree_and_stops_early(star):
    kg = star
    # seed 1: hop 1 = {0 (hub, degree 3000), 3001 (degree 2)}; with room for one, the specific node wins
    sg = kg.subgraph([1], hops=2, max_nodes=2)
    assert sg.nodes.tolist() == [1, 3001] and sg.hop.tolist() == [0, 1]
    assert sg.edge_index.t().tolist() == [[0, 1]]


def test_seeds_beyond_cap_and_isolated(star):
    sg = star.subgraph([7, 8, 9], hops=2, max_nodes=2)
    assert sg.nodes.tolist() == [7, 8, 9] and sg.seed_mask.all() and sg.hop.tolist() == [0, 0, 0]
    assert sg.num_edges == 0
    assert star.subgraph([4], hops=0).nodes.tolist() == [4]
