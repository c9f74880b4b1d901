"""The linker on the real graphs (FB15k-237 from $KGATTN_DATA, WordNet from /usr/share/wordnet)."""
from __future__ import annotations

import pytest

from kgattn.errors import DatasetNotFoundError
from kgattn.linking import EntityLinker, PriorWeights
from kgattn.paths import data_dir

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def fb():
    if not (data_dir() / "fb15k-237").is_dir():
        pytest.skip(f"FB15k-237 not under {data_dir()}")
    from kgattn.datasets.fb15k237 import fb15k237

    return fb15k237()


@pytest.fixture(scope="module")
def wn():
    from kgattn.datasets.wordnet import wordnet

    try:
        return wordnet()
    except DatasetNotFoundError as exc:
        pytest.skip(str(exc))


def test_fb15k237_conll_headline(fb):
    lk = EntityLinker(fb, disambiguate="prior")
    text = "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT ."
    found = {m.text: fb.label(m.node) for m in lk.link(text) if m.node is not None}
    assert found["JAPAN"] == "Japan" and found["CHINA"] == "China"
    for m in lk.link(text):
        assert text[m.start:m.end] == m.text


@pytest.mark.slow
def test_wordnet_counts_and_trec_questions(wn):
    from kgattn.linking.wordnet_prior import wordnet_alias_counts, wordnet_senses

    senses = wordnet_senses(wn)
    assert [wn.node_id(n) for n, _ in senses[("bank", "n")][:2]] == ["bank.n.01", "depository_financial_institution.n.01"]
    counts = wordnet_alias_counts(wn)
    bank = counts["bank"]
    assert bank[wn.node_index("bank.n.01")] == 25 + 1.0  # tag count + 1/sense number
    assert bank[wn.node_index("depository_financial_institution.n.01")] == 20 + 0.5
    lk = EntityLinker(wn, disambiguate="prior", alias_counts=counts, prior=PriorWeights(0.5, 0.0, 0.0))
    ms = lk.link("How far is it from Denver to Aspen ?")
    assert "denver.n.01" in {wn.node_id(m.node) for m in ms if m.node is not None}
    ms = lk.link("What is the oldest profession ?")
    assert [wn.node_id(m.node) for m in ms] == ["profession.n.01"]
