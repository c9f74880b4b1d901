"""evaluate.pseudonymize: every split is rewritten with one mapping, and the graph with it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from kgattn.evaluation.ablations import Examples
from kgattn.graph import KnowledgeGraph
from kgattn.linking import EntityLinker
from kgattn.pipeline.evaluate import pseudonymized_splits
from kgattn.pipeline.spec import parse_spec


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("pseudo")
    (d / "kg.tsv").write_text("Q1\tlocated_in\tQ9\nQ2\tlocated_in\tQ9\nQ9\tinstance_of\tQ100\n")
    (d / "names.tsv").write_text("Q1\tKelbrook\nQ2\tMarsden\nQ9\tYorkshire\nQ100\tcounty\n")
    return KnowledgeGraph.from_triples(d / "kg.tsv", names=d / "names.tsv"), d


def _split(texts, linker, prefix):
    mentions = [list(ms) for ms in linker.link_batch(texts)]
    return Examples([f"{prefix}{i}" for i in range(len(texts))], texts, {"label": ["a"] * len(texts)}, mentions)


def test_splits_share_one_mapping_and_the_graph_learns_the_names(world):
    kg, d = world
    linker = EntityLinker(kg, disambiguate="prior", cache=False)
    splits = (_split(["Kelbrook opened a shop.", "Marsden grew."], linker, "tr"),
              _split(["Shares of Marsden fell."], linker, "va"),
              _split(["Kelbrook and Marsden merged."], linker, "te"))
    spec = parse_spec({"name": "t", "kg": {"path": "kg.tsv", "format": "tsv"}, "corpus": {"paths": ["c.csv"]},
                       "evaluate": {"pseudonymize": "mentions", "pseudonymize_seed": 3}}, d)
    ctx = SimpleNamespace(spec=spec, kg=kg, log=lambda message: None)
    (train, val, test), new_kg, pseudo = pseudonymized_splits(ctx, splits)
    assert new_kg.fingerprint != kg.fingerprint and pseudo.seed == 3
    kel, mar = pseudo.names[kg.node_index("Q1")], pseudo.names[kg.node_index("Q2")]
    assert train.texts[0].startswith(kel) and test.texts[0] == f"{kel} and {mar} merged."
    assert val.texts[0] == f"Shares of {mar} fell." and train.ids == ["tr0", "tr1"]
    for split in (train, val, test):
        for text, ms in zip(split.texts, split.mentions):
            assert "Kelbrook" not in text and "Marsden" not in text
            assert all(text[m.start:m.end] == m.text for m in ms)
    relinked = EntityLinker(new_kg, disambiguate="prior", cache=False).link(test.texts[0])
    assert [m.node for m in relinked if m.node is not None] == [kg.node_index("Q1"), kg.node_index("Q2")]
