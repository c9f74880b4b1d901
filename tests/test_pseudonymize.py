"""Pseudonymised evaluation: entity_nodes rules and pseudonymize on small fixture graphs."""
from __future__ import annotations

import re

import numpy as np
import pytest

from kgattn import EntityLinker, KnowledgeGraph
from kgattn.errors import ConfigError, InputTextError
from kgattn.graph.entities import entity_nodes
from kgattn.evaluation.pseudonymize import NameGenerator, pseudonymize, pseudonymize_corpus, surface_counts
from kgattn.linking import Mention

TTL = """\
@prefix ex: <http://example.org/t/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ex:Company a rdfs:Class ; rdfs:label "company" .
ex:City a rdfs:Class ; rdfs:label "city" .
ex:Industry a rdfs:Class ; rdfs:label "industry" .
ex:Person a rdfs:Class ; rdfs:label "person" .
ex:Lender rdfs:label "Lender" ; rdfs:subClassOf ex:Company .
ex:software a ex:Industry ; rdfs:label "software" ; skos:altLabel "SW" ;
    rdfs:comment "Companies that write programs." .
ex:banking a ex:Industry ; rdfs:label "banking" ; rdfs:comment "Lending money." .
ex:acme a ex:Company ; rdfs:label "Acme Widgets" ; skos:altLabel "Acme" ;
    rdfs:comment "Acme Widgets is a software maker based in Dunmore." ;
    ex:industry ex:software ; ex:basedIn ex:dunmore .
ex:northbank a ex:Company ; rdfs:label "North Bank" ; rdfs:comment "A rival of Acme in Dunmore." ;
    ex:industry ex:banking ; ex:basedIn ex:dunmore ; ex:competitor ex:acme .
ex:dunmore a ex:City ; rdfs:label "Dunmore" ; rdfs:comment "A port city." .
ex:jane a ex:Person ; rdfs:label "Jane Roe" ; ex:ceoOf ex:acme .
"""
TRAIN = ["Acme Widgets hired 40 engineers in Dunmore.", "Jane Roe runs Acme.",
         "North Bank lends to software firms."]
TEST = ["Acme said software sales rose.", "ACME SHARES FALL IN DUNMORE", "Banking in Dunmore is slow."]
ENTITY_IDS = {"acme", "northbank", "dunmore", "jane"}


@pytest.fixture(scope="module")
def kg(tmp_path_factory) -> KnowledgeGraph:
    path = tmp_path_factory.mktemp("pseudo") / "kg.ttl"
    path.write_text(TTL, encoding="utf-8")
    return KnowledgeGraph.from_rdf(path)


@pytest.fixture(scope="module")
def linker(kg):
    return EntityLinker(kg, disambiguate="prior")


@pytest.fixture(scope="module")
def corpus(kg, linker):
    return pseudonymize_corpus(TRAIN + TEST, kg, linker, mode="mentions", seed=0)


def node(kg, local: str) -> int:
    return kg.node_index(f"http://example.org/t/{local}")


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text))


# ---------------------------------------------------------------------------------- entity_nodes
def test_entity_nodes_rdf_classes_kinds_and_individuals(kg):
    ent = entity_nodes(kg)
    got = {kg.node_id(i).rsplit("/", 1)[1] for i in np.flatnonzero(ent)}
    # Classes (rdfs:Class, used as a type, subClassOf) and lower-case industries are concepts.
    assert got == ENTITY_IDS


def test_entity_nodes_wordnet_instances_only():
    ids = ["christianity.n.01", "city.n.01", "einstein.n.01", "paris.n.01", "physicist.n.01", "religion.n.01"]
    names = [["Christianity"], ["city", "metropolis"], ["Einstein", "Albert Einstein"], ["Paris", "City of Light"],
             ["physicist"], ["religion"]]
    types = [["noun.cognition"], ["noun.location"], ["noun.person"], ["noun.location"], ["noun.person"],
             ["noun.cognition"]]
    # einstein -instance hypernym-> physicist, paris -instance hypernym-> city, christianity -hypernym-> religion
    kg = KnowledgeGraph.from_arrays(ids, [2, 3, 0], [4, 1, 5], [1, 1, 0], ["hypernym", "instance hypernym"],
                                    aliases=names, types=types)
    assert entity_nodes(kg).tolist() == [False, False, True, True, False, False]
    inverse = KnowledgeGraph.from_arrays(ids, [2, 3, 0], [4, 1, 5], [1, 1, 0], ["hypernym", "instance hypernym"],
                                         aliases=names, types=types, add_inverse=True)
    assert entity_nodes(inverse).tolist() == [False, False, True, True, False, False]


def freebase_graph() -> KnowledgeGraph:
    ids = ["/m/a", "/m/b", "/m/c", "/m/d", "/m/e", "/m/f", "/m/g", "/m/h", "/m/x", "/m/y"]
    labels = ["Tom Hanks", "Actor-GB", "United States of America", "Sales", "Germany", "German Language",
              "goblet drum", "Big", "Acme Corp", "Berlin"]
    rels = ["/people/person/profession", "/people/person/nationality", "/location/location/contains",
            "/base/schemastaging/organization_extra/phone_number./base/schemastaging/phone_sandbox/contact_category",
            "/film/film/language", "/common/topic/subject/related", "/film/film/country"]
    edges = [(0, 0, 1), (0, 1, 2), (4, 2, 9), (8, 3, 3), (7, 4, 5), (7, 4, 4), (6, 5, 7), (7, 6, 2)]
    src, rel, dst = zip(*edges)
    return KnowledgeGraph.from_arrays(ids, src, dst, rel, [r.replace("/", " ").strip() for r in rels],
                                      labels=labels, relation_ids=rels)


def test_entity_nodes_freebase_kinds_by_position():
    fb = freebase_graph()
    # Actor-GB: tail of .../profession; Sales: tail of .../contact_category; German Language: tail of
    # .../language; goblet drum: lower case. Germany is also a .../language tail but heads a
    # /location/location relation: an individual.
    assert entity_nodes(fb).tolist() == [True, False, True, False, True, False, False, True, True, True]


def test_entity_nodes_film_subjects_alone_are_concepts():
    """A topic known only as a film subject ("Prison") is a kind; a film subject with facts of its
    own (a person, a place) or a subject that is also some relation's tail stays an individual."""
    ids = ["prison", "tolstoy", "paris", "film", "war", "chess"]
    labels = ["Prison", "Leo Tolstoy", "Paris", "Anna Karenina", "Gulf War", "Chess"]
    rels = ["/film/film_subject/films", "/people/person/nationality", "/location/location/contains",
            "/film/film/subjects_related"]
    edges = [(0, 0, 3), (1, 0, 3), (1, 1, 2), (2, 0, 3), (2, 2, 4), (4, 0, 3), (3, 3, 4), (5, 0, 3)]
    src, rel, dst = zip(*edges)
    kg = KnowledgeGraph.from_arrays(ids, src, dst, rel, [r.replace("/", " ").strip() for r in rels],
                                    labels=labels, relation_ids=rels)
    assert entity_nodes(kg).tolist() == [False, True, True, True, True, False]


def test_entity_nodes_of_a_union_with_prefixes(kg):
    fb = freebase_graph()
    union = KnowledgeGraph.union([fb, kg], prefixes=["fb:", "q:"], relations="separate")
    assert entity_nodes(union).tolist() == entity_nodes(fb).tolist() + entity_nodes(kg).tolist()


# ---------------------------------------------------------------------------------- pseudonymize
def test_same_name_for_a_node_across_splits(kg, linker, corpus):
    acme, dunmore = node(kg, "acme"), node(kg, "dunmore")
    name = corpus.names[acme]
    assert name in corpus.texts[0] and name in corpus.texts[1] and name in corpus.texts[3]  # train and test
    assert name.upper() in corpus.texts[4]  # "ACME SHARES ...": capitals kept
    assert corpus.texts[0].endswith(f" in {corpus.names[dunmore]}.")
    assert corpus.texts[5] == f"Banking in {corpus.names[dunmore]} is slow."
    # Names are a function of (seed, node id): a call on the test split alone agrees here.
    alone = pseudonymize_corpus(TEST, kg, linker, mode="mentions", seed=0)
    assert alone.names == {n: corpus.names[n] for n in alone.names} and acme in alone.names
    assert alone.texts == corpus.texts[3:]
    # Every replaced mention of a node carries that node's name.
    for ms, rep in zip(corpus.mentions, corpus.replaced):
        for k in rep:
            assert ms[k].text.casefold() == corpus.names[ms[k].node].casefold()


def test_no_original_surface_left_in_texts(kg, corpus):
    originals = {s for ss in corpus.surfaces.values() for s in ss}
    assert originals == {"Acme Widgets", "Acme", "ACME", "Dunmore", "DUNMORE", "Jane Roe", "North Bank"}
    assert corpus.leaks() == {}
    assert surface_counts(corpus.texts, originals) == {}
    for text in corpus.texts:
        for s in originals:
            assert s not in text


def test_invented_names_are_new_everywhere(kg, corpus):
    graph_words = {w.casefold() for i in range(kg.num_nodes) for a in kg.aliases(i) for w in words(a)}
    corpus_words = {w.casefold() for t in TRAIN + TEST for w in words(t)}
    assert len(set(corpus.names.values())) == len(corpus.names) == 4
    for name in corpus.names.values():
        assert re.fullmatch(r"[A-Z][a-z]{3,}", name)
        assert name.casefold() not in kg.alias_index()
        assert name.casefold() not in graph_words | corpus_words


def test_linking_the_new_texts_finds_the_same_nodes(corpus):
    relinker = EntityLinker(corpus.kg, disambiguate="prior")
    checked = 0
    for text, ms, rep in zip(corpus.texts, corpus.mentions, corpus.replaced):
        found = {(m.start, m.end): m.node for m in relinker.link(text)}
        for k in rep:
            assert found.get((ms[k].start, ms[k].end)) == ms[k].node, (text, ms[k])
            checked += 1
    assert checked == corpus.stats["replaced_mentions"] == 9


def test_graph_gets_the_names_as_aliases_in_mentions_mode(kg, corpus):
    new = corpus.kg
    assert new.fingerprint != kg.fingerprint
    assert new.num_nodes == kg.num_nodes and new.num_edges == kg.num_edges
    assert [new.node_id(i) for i in range(new.num_nodes)] == [kg.node_id(i) for i in range(kg.num_nodes)]
    assert new.edge_index.tolist() == kg.edge_index.tolist()
    for n, name in corpus.names.items():
        assert new.aliases(n) == kg.aliases(n) + [name]  # label kept first
        assert new.description(n) == kg.description(n)
    assert new.metadata["pseudonymized"]["mode"] == "mentions"
    assert new.metadata["pseudonymized"]["replaced_nodes"] == 4


def test_concepts_are_never_replaced(kg, corpus):
    software, banking = node(kg, "software"), node(kg, "banking")
    linked_concepts = {m.node for ms in corpus.mentions for m in ms if m.node in (software, banking)}
    assert linked_concepts == {software, banking}  # they are linked...
    assert software not in corpus.names and banking not in corpus.names  # ...and kept
    assert "software" in corpus.texts[2] and "software" in corpus.texts[3]
    assert corpus.texts[5].startswith("Banking in ")
    for n in (software, banking):
        assert corpus.kg.aliases(n) == kg.aliases(n)


def test_offsets_of_all_mentions_point_into_the_new_texts(kg, linker, corpus):
    original = list(linker.link_batch(TRAIN + TEST))
    for text, new_text, old_ms, new_ms, rep in zip(TRAIN + TEST, corpus.texts, original, corpus.mentions,
                                                   corpus.replaced):
        assert len(old_ms) == len(new_ms)
        for k, (old, new) in enumerate(zip(old_ms, new_ms)):
            assert new_text[new.start:new.end] == new.text
            assert new.node == old.node
            if k not in rep:
                assert new.text == old.text == text[old.start:old.end]


def test_deterministic_for_a_seed_and_different_across_seeds(kg, linker, corpus):
    again = pseudonymize_corpus(TRAIN + TEST, kg, linker, mode="mentions", seed=0)
    assert again.texts == corpus.texts and again.names == corpus.names
    assert again.kg.fingerprint == corpus.kg.fingerprint
    other = pseudonymize_corpus(TRAIN + TEST, kg, linker, mode="mentions", seed=1)
    assert set(other.names) == set(corpus.names)
    assert all(other.names[n] != corpus.names[n] for n in corpus.names)
    assert other.texts != corpus.texts and other.kg.fingerprint != corpus.kg.fingerprint


def test_entities_mode_hides_the_names_in_the_graph(kg, linker):
    out = pseudonymize_corpus(TRAIN + TEST, kg, linker, mode="entities", seed=0)
    acme, dunmore, northbank = node(kg, "acme"), node(kg, "dunmore"), node(kg, "northbank")
    assert out.kg.metadata["pseudonymized"]["mode"] == "entities"
    for n, name in out.names.items():
        assert out.kg.aliases(n) == [name]
        old = set(kg.aliases(n)) | set(out.surfaces[n])
        for i in range(out.kg.num_nodes):
            text = " ".join(out.kg.aliases(i) + [out.kg.description(i)])
            for s in old:
                assert not re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text), (s, text)
    assert out.kg.description(acme) == (f"{out.names[acme]} is a software maker based in {out.names[dunmore]}.")
    assert out.kg.description(northbank) == f"A rival of {out.names[acme]} in {out.names[dunmore]}."
    assert out.kg.description(node(kg, "software")) == kg.description(node(kg, "software"))
    assert out.texts == pseudonymize_corpus(TRAIN + TEST, kg, linker, mode="mentions", seed=0).texts
    relinker = EntityLinker(out.kg, disambiguate="prior")
    for text, ms, rep in zip(out.texts, out.mentions, out.replaced):
        found = {(m.start, m.end): m.node for m in relinker.link(text)}
        assert all(found.get((ms[k].start, ms[k].end)) == ms[k].node for k in rep)


def test_precomputed_mentions_as_mappings_give_the_same_result(kg, linker, corpus):
    rows = [[{"start": m.start, "end": m.end, "text": m.text, "node": m.node} for m in ms]
            for ms in linker.link_batch(TRAIN + TEST)]
    texts, new_kg = pseudonymize(TRAIN + TEST, kg, mode="mentions", seed=0, mentions=rows)
    assert texts == corpus.texts and new_kg.fingerprint == corpus.kg.fingerprint


def test_lower_case_mentions_of_entities_are_linking_errors_not_names(kg):
    text = "the acme of banking"
    acme = node(kg, "acme")
    out = pseudonymize_corpus([text, "Acme grew."], kg, mentions=[[Mention(4, 8, "acme", node=acme)],
                                                                [Mention(0, 4, "Acme", node=acme)]])
    assert out.texts[0] == text and out.replaced == [[], [0]]
    assert out.leaks() == {}  # "acme" is not the replaced surface "Acme"
    loose = pseudonymize_corpus([text], kg, mentions=[[Mention(4, 8, "acme", node=acme)]], cased_only=False)
    assert loose.texts[0] == f"the {loose.names[acme]} of banking"


def test_bad_input_is_refused_with_a_clear_message(kg, linker):
    with pytest.raises(ConfigError, match="mode"):
        pseudonymize(TRAIN, kg, linker, mode="everything")
    with pytest.raises(InputTextError, match="2 mention lists for 3 texts"):
        pseudonymize(TRAIN, kg, mentions=[[], []])
    with pytest.raises(InputTextError, match="text 1: mention 'Acme'"):
        pseudonymize(["x", "Jane Roe runs Acme."], kg, mentions=[[], [Mention(0, 4, "Acme", node=0)]])
    with pytest.raises(InputTextError, match="overlap"):
        pseudonymize(["Acme Widgets"], kg, mentions=[[Mention(0, 12, "Acme Widgets", node=0),
                                                      Mention(0, 4, "Acme", node=0)]])
    with pytest.raises(InputTextError, match="text 0 is a int"):
        pseudonymize([3], kg, mentions=[[]])
    with pytest.raises(ConfigError, match="another graph"):
        pseudonymize(TRAIN, freebase_graph(), linker)


def test_name_generator_is_pronounceable_and_avoids_forbidden_words():
    gen = NameGenerator(0)
    names = [gen(str(i)) for i in range(2000)]
    assert len(set(names)) == 2000
    for name in names:
        assert re.fullmatch(r"[A-Z][a-z]{3,}", name) and not name.endswith(("s", "ed", "ing"))
        assert not re.search(r"[^aeiou]{4}", name)  # no unpronounceable consonant runs
    first = NameGenerator(0)("k")
    assert NameGenerator(0, forbidden=[first])("k") != first
    assert NameGenerator(0)("k") == first and NameGenerator(1)("k") != first


def test_capitals_follow_the_mention_and_the_text(kg):
    acme = node(kg, "acme")
    texts = ["ACME SHARES FALL", "Shares of ACME fell", "The A.C.M.E. group grew"]
    spans = [(0, 4), (10, 14), (4, 12)]
    out = pseudonymize_corpus(texts, kg, mentions=[[Mention(a, b, t[a:b], node=acme)] for t, (a, b) in zip(texts, spans)])
    name = out.names[acme]
    assert out.texts == [f"{name.upper()} SHARES FALL", f"Shares of {name.upper()} fell", f"The {name} group grew"]
