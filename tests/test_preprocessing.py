"""The Preprocessor: one data path from text to batch, saved and loaded as a unit."""
from __future__ import annotations

import networkx as nx
import pytest
import torch

from kgattn.errors import ConfigError, SavedFileError
from kgattn.graph import KnowledgeGraph
from kgattn.linking.types import Mention
from kgattn.preprocessing import FeatureConfig, Preprocessor


@pytest.fixture(scope="module")
def star():
    """One company with four neighbours of different topics."""
    g = nx.MultiDiGraph()
    g.add_node("acme", label="Acme Corp")
    topics = {"bank": "bank: a financial institution that lends money",
              "bakery": "bakery: a shop that bakes bread and cakes",
              "river": "river: a large natural stream of water",
              "guitar": "guitar: a stringed musical instrument"}
    for key, desc in topics.items():
        g.add_node(key, label=key, description=desc)
        g.add_edge("acme", key, relation="related")
    return KnowledgeGraph.from_networkx(g)


def _mention(kg, text):
    start = text.index("Acme")
    return [Mention(start, start + 4, "Acme", (), kg.node_index("acme"))]


def test_relevance_ranking_keeps_the_nodes_closest_to_the_text(star, tiny_backbone):
    text = "Acme Corp said the loan from its lender was approved."
    hops = Preprocessor.from_backbone(tiny_backbone, FeatureConfig(max_nodes=2, hops=1), kg=star)
    ranked = Preprocessor.from_backbone(tiny_backbone, FeatureConfig(max_nodes=2, hops=1, subgraph_ranking="relevance"),
                                        kg=star)
    neighbours = [star.node_index(k) for k in ("bank", "bakery", "river", "guitar")]
    vector = ranked.node_features.encoder.encode([text])[0]
    expected = neighbours[int(torch.argmax(ranked.node_features(neighbours) @ vector))]
    ex = ranked.prepare([text], [_mention(star, text)])[0]
    assert ex.subgraph.nodes.tolist() == [star.node_index("acme"), expected]
    by_hops = hops.prepare([text], [_mention(star, text)])[0]
    assert by_hops.subgraph.num_nodes == 2 and by_hops.subgraph.nodes[0] == star.node_index("acme")
    with pytest.raises(ConfigError, match="subgraph_ranking"):
        FeatureConfig(subgraph_ranking="pagerank")


def test_linker_reads_only_the_kept_window(star, tiny_backbone):
    """A 2 MB text costs what its kept tokens cost: the linker sees only their characters."""
    seen = []

    class RecordingLinker:
        def link_batch(self, texts, **kwargs):
            seen.extend(texts)
            return [[] for _ in texts]

    pre = Preprocessor.from_backbone(tiny_backbone, FeatureConfig(max_length=16), kg=star, linker=RecordingLinker())
    long = "Acme Corp grew. " + "word " * 400_000
    with pytest.warns(UserWarning, match="truncated"):
        ex = pre.prepare(["short text about Acme", long])
    assert seen[0] == "short text about Acme"
    assert len(seen[1]) < 200 and long.startswith(seen[1]) and ex[1].truncated and not ex[0].truncated


def test_save_and_load_round_trip(star, tiny_backbone, tmp_path):
    from kgattn.linking import EntityLinker

    pre = Preprocessor.from_backbone(tiny_backbone, FeatureConfig(max_nodes=3, node_template="{label}"), kg=star,
                                     linker=EntityLinker(star, disambiguate="prior", cache=False))
    pre.save_pretrained(tmp_path / "pre")
    loaded = Preprocessor.from_pretrained(tmp_path / "pre", kg=star)
    assert loaded.features == pre.features and loaded.linker is not None
    text = "Acme Corp opened a bakery."
    a, b = pre.prepare([text])[0], loaded.prepare([text])[0]
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.subgraph.nodes, b.subgraph.nodes)
    (tmp_path / "pre" / "preprocessor.json").write_text("{")
    with pytest.raises(SavedFileError, match="preprocessor.json"):
        Preprocessor.from_pretrained(tmp_path / "pre", kg=star)


def test_clipped_tokenization_equals_tokenizing_the_whole_text(star, tiny_backbone):
    pre = Preprocessor.from_backbone(tiny_backbone, FeatureConfig(max_length=16), kg=star)
    featurizer = pre._featurizer(False)
    texts = ["word " * 5000, "a " + "x" * 20_000 + " tail", "short one", "international " * 3000]
    full = pre.tokenizer(texts, truncation=True, max_length=16)["input_ids"]
    assert featurizer._tokenize(texts)["input_ids"] == full
