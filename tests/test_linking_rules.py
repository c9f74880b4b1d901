"""The linker's spelling rules (kgattn.linking.rules) on a small graph: each rule on and off,
initialisms kept whole, concept nodes still linked in lower case, options and persistence."""
from __future__ import annotations

import json

import networkx as nx
import pytest

from kgattn.errors import ConfigError
from kgattn.graph import KnowledgeGraph
from kgattn.graph.entities import EntityTest, entity_nodes
from kgattn.linking import EntityLinker, MentionRules
from kgattn.linking.rules import _initialism_runs
from kgattn.linking.text import tokenize
from kgattn.pipeline.spec import parse_spec

# Freebase-style relations decide entity vs concept (kgattn.graph.entities, rule 2): a film, a
# city and a country are entities; a profession is a concept (tail of .../profession).
NODES = {
    "/m/saw": "Saw", "/m/lost": "Lost", "/m/munich": "Munich", "/m/germany": "Germany",
    "/m/the_u": "The U", "/m/un": "U.N.", "/m/ireland": "Ireland", "/m/surgeon": "surgeon",
    "/m/pope": "Pope", "/m/person": "Some Person", "/m/president": "President",
}
EDGES = [
    ("/m/saw", "/film/film/country", "/m/germany"), ("/m/lost", "/film/film/country", "/m/germany"),
    ("/m/the_u", "/film/film/country", "/m/germany"), ("/m/munich", "/location/location/containedby", "/m/germany"),
    ("/m/ireland", "/location/location/containedby", "/m/germany"),
    ("/m/un", "/organization/organization/headquarters", "/m/germany"),
    ("/m/person", "/people/person/profession", "/m/surgeon"),
    ("/m/person", "/people/person/profession", "/m/pope"),
    ("/m/person", "/people/person/profession", "/m/president"),
]


def make_kg() -> KnowledgeGraph:
    g = nx.MultiDiGraph()
    for node, label in NODES.items():
        g.add_node(node, label=label)
    for u, r, v in EDGES:
        g.add_edge(u, v, relation=r)
    return KnowledgeGraph.from_networkx(g)


@pytest.fixture(scope="module")
def kg():
    return make_kg()


def linked(kg, text, **rules):
    lk = EntityLinker(kg, disambiguate="prior", cache=False, rules=rules or None)
    return [(m.text, kg.node_id(m.node)) for m in lk.link(text) if m.node is not None]


def test_fixture_kinds(kg):
    ent = entity_nodes(kg)
    kinds = {kg.node_id(i): bool(ent[i]) for i in range(kg.num_nodes)}
    assert kinds["/m/saw"] and kinds["/m/munich"] and kinds["/m/un"]
    assert not kinds["/m/surgeon"] and not kinds["/m/pope"] and not kinds["/m/president"]
    test = EntityTest(kg)
    assert [test(i) for i in range(kg.num_nodes)] == ent.tolist()


def test_defaults_are_on_and_off_means_the_old_linker(kg):
    assert MentionRules() == MentionRules(True, True, True)
    assert EntityLinker(kg, cache=False).rules == MentionRules()
    text = "They saw the surgeon in Munich ."
    off = MentionRules.off()
    assert linked(kg, text, **{"cased_entities": False, "whole_names": False, "whole_initialisms": False}) == \
        [(m.text, kg.node_id(m.node)) for m in EntityLinker(kg, disambiguate="prior", cache=False, rules=off).link(text)
         if m.node is not None]


# ---------------------------------------------------------------------- rule (a): cased_entities
def test_lower_case_word_does_not_link_an_entity(kg):
    text = "They saw the surgeon in Munich and lost ."
    assert linked(kg, text) == [("surgeon", "/m/surgeon"), ("Munich", "/m/munich")]
    assert ("saw", "/m/saw") in linked(kg, text, cased_entities=False)
    assert ("lost", "/m/lost") in linked(kg, text, cased_entities=False)


def test_sentence_initial_capital_says_nothing(kg):
    assert linked(kg, "Lost in the fog .") == [("Lost", "/m/lost")]          # one word: neutral
    kg_tu = make_kg()
    assert linked(kg_tu, "The u said .") == [] and linked(kg_tu, "The U said .") == [("The U", "/m/the_u")]


def test_concept_nodes_still_link_in_lower_case(kg):
    assert linked(kg, "The surgeon met the pope .") == [("surgeon", "/m/surgeon"), ("pope", "/m/pope")]


def test_text_without_capitals_keeps_entity_links(kg):
    # Case says nothing in a text written all in lower case (a query): the rule stands aside.
    assert ("munich", "/m/munich") in linked(kg, "flights to munich")
    assert ("saw", "/m/saw") in linked(kg, "who directed saw")


def test_capitalised_mention_of_a_title_still_links(kg):
    assert ("Saw", "/m/saw") in linked(kg, "He watched Saw twice .")


# ---------------------------------------------------------------------- rule (b): whole_names
def test_piece_of_a_longer_name_does_not_link_an_entity(kg):
    text = "Fans of Bayern Munich cheered ."
    assert linked(kg, text) == []
    assert linked(kg, text, whole_names=False) == [("Munich", "/m/munich")]
    # across a connector: "Gulf of Munich" is a longer name too
    assert linked(kg, "They sailed the Gulf of Munich .") == []


def test_names_inside_a_blocked_piece_do_not_match():
    g = nx.MultiDiGraph()
    g.add_edge("/m/ny", "/m/us", relation="/location/location/containedby")
    g.add_edge("/m/york", "/m/us", relation="/location/location/containedby")
    g.nodes["/m/ny"]["label"], g.nodes["/m/york"]["label"], g.nodes["/m/us"]["label"] = "New York", "York", "USA"
    kg = KnowledgeGraph.from_networkx(g)
    assert linked(kg, "Fans of the New York Titans cheered .") == []   # not "York" instead
    assert linked(kg, "Fans of New York cheered .") == [("New York", "/m/ny")]


def test_whole_names_spares_titles_stop_words_and_sentence_starts(kg):
    assert linked(kg, "He met President Munich .") == [("President", "/m/president"), ("Munich", "/m/munich")]
    assert linked(kg, "In Munich it rained .") == [("Munich", "/m/munich")]          # stop word
    assert linked(kg, "Yesterday Munich won .") == [("Munich", "/m/munich")]         # sentence start
    assert linked(kg, "On Monday Munich won .") == [("Munich", "/m/munich")]          # a day
    assert linked(kg, "He met the Pope Munich .")[-1] == ("Munich", "/m/munich")     # concept word


def test_whole_names_off_in_capitals_and_keeps_concepts(kg):
    assert linked(kg, "BAYERN MUNICH WON") == [("MUNICH", "/m/munich")]
    # a piece keeps its concept candidates: only entity links are removed
    assert ("President", "/m/president") in linked(kg, "He met President Kohl .")


# ---------------------------------------------------------------------- rule (c): whole_initialisms
def test_initialisms_are_kept_whole(kg):
    text = "Envoys of the U.N. met ."
    assert linked(kg, text) == [("U.N.", "/m/un")]
    assert linked(kg, text, whole_initialisms=False) == [("U.N.", "/m/un")]  # longest match wins anyway
    kg2 = make_kg_without_un()
    assert linked(kg2, text) == []                                          # never "the U"
    assert linked(kg2, text, whole_initialisms=False) == [("the U", "/m/the_u")]


def make_kg_without_un() -> KnowledgeGraph:
    g = nx.MultiDiGraph()
    for u, r, v in EDGES:
        if "/m/un" not in (u, v):
            g.add_edge(u, v, relation=r)
    for node in g.nodes:
        g.nodes[node]["label"] = NODES[node]
    return KnowledgeGraph.from_networkx(g)


def test_single_initial_makes_the_next_word_a_piece(kg):
    assert linked(kg, "Rain in N. Ireland .") == []
    assert linked(kg, "Rain in N. Ireland .", whole_names=False) == [("Ireland", "/m/ireland")]


@pytest.mark.parametrize("text, runs", [
    ("the U.N. said", [(1, 3, 2)]), ("U.S", [(0, 2, 2)]), ("N. Ireland", [(0, 0, 1)]),
    ("e.g. this", [(0, 2, 2)]), ("a. b", []), ("World War I.", [(2, 2, 1)]),
])
def test_initialism_runs(text, runs):
    assert sorted(set(_initialism_runs(tokenize(text)).values())) == runs


# ---------------------------------------------------------------------- options
def test_rules_option_errors_name_the_key(kg):
    with pytest.raises(ConfigError, match=r"rules\.whole_name: no such rule"):
        EntityLinker(kg, rules={"whole_name": False})
    with pytest.raises(ConfigError, match=r"rules\.cased_entities must be true or false"):
        EntityLinker(kg, rules={"cased_entities": "no"})
    with pytest.raises(ConfigError, match=r"rules must be a dict"):
        EntityLinker(kg, rules=["cased_entities"])


def test_rules_round_trip_and_old_linkers_load_without_rules(kg, tmp_path):
    lk = EntityLinker(kg, disambiguate="prior", cache=False, rules={"whole_names": False})
    assert lk.get_params()["rules"] == {"cased_entities": True, "whole_names": False, "whole_initialisms": True}
    assert EntityLinker(kg, **lk.get_params()).rules == lk.rules
    lk.save(tmp_path / "lk")
    assert EntityLinker.load(tmp_path / "lk", kg).rules == lk.rules
    config = json.loads((tmp_path / "lk" / "config.json").read_text())
    del config["rules"]
    config["version"] = 2  # written before the rules existed
    (tmp_path / "lk" / "config.json").write_text(json.dumps(config))
    assert EntityLinker.load(tmp_path / "lk", kg).rules == MentionRules.off()


def test_spec_rules_section_is_the_linkers(tmp_path):
    spec = parse_spec({"name": "t", "kg": {"importer": "wordnet"}, "corpus": {"paths": ["c.csv"]}}, tmp_path)
    assert spec.linker.linker_arguments()["rules"] == {"cased_entities": True, "whole_names": True,
                                                       "whole_initialisms": True}
    off = parse_spec({"name": "t", "kg": {"importer": "wordnet"}, "corpus": {"paths": ["c.csv"]},
                      "linker": {"rules": {"whole_names": False}}}, tmp_path)
    assert off.linker.rules.whole_names is False and off.stage_key("link") != spec.stage_key("link")
    with pytest.raises(ConfigError, match="linker.rules.whole_name"):
        parse_spec({"name": "t", "kg": {"importer": "wordnet"}, "corpus": {"paths": ["c.csv"]},
                    "linker": {"rules": {"whole_name": False}}}, tmp_path)
