"""EntityLinker on a toy graph: detection, candidates, scoring, bad input, streaming, persistence."""
from __future__ import annotations

import time

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgattn.errors import ConfigError, FingerprintMismatchError, SavedFileError
from kgattn.graph import KnowledgeGraph
from kgattn.linking import Candidate, EntityLinker, Mention
from kgattn.linking.gazetteer import AliasTable
from kgattn.linking.rules import MentionRules
from kgattn.linking.text import Lemmatizer, alias_key, tokenize

NODES = {
    # id: (label, aliases, types, description)
    "bank.n.01": ("bank", [], ["noun.object"], "sloping land beside a body of water"),
    "bank.n.02": ("depository financial institution", ["bank", "banking company"], ["noun.group"],
                  "a financial institution that accepts deposits and lends money"),
    "river.n.01": ("river", [], ["noun.object"], "a large natural stream of water"),
    "money.n.01": ("money", [], ["noun.possession"], "the most common medium of exchange"),
    "paris.fr": ("Paris", ["City of Light"], ["/location/citytown"], "the capital of France"),
    "paris.myth": ("Paris", [], ["noun.person"], "prince of Troy who abducted Helen"),
    "france": ("France", [], ["/location/country"], "a country in western Europe"),
    "new_york": ("New York", ["NYC", "New York City"], ["/location/citytown"], "a large city in the USA"),
    "york": ("York", [], ["/location/citytown"], "a city in England"),
    "uk": ("UK", ["United Kingdom"], ["/location/country"], "a country in Europe"),
    "the_who": ("The Who", [], ["/music/artist"], "an English rock band"),
    "who_stop": ("who", [], [], "a stop word as a name"),
    "cafe": ("Café de Flore", [], ["/business/business"], "a café in Paris"),
    "tokyo": ("東京", ["Tokyo"], ["/location/citytown"], "capital of Japan"),
    "mouse": ("mouse", [], ["noun.animal"], "a small rodent"),
    "bush.plant": ("bush", ["shrub"], ["noun.plant"], "a low woody plant"),
    "bush.person": ("Bush", ["George Bush"], ["noun.person"], "a president of the United States"),
}
EDGES = [("bank.n.01", "river.n.01"), ("bank.n.02", "money.n.01"), ("paris.fr", "france"),
         ("new_york", "york"), ("uk", "france"), ("bank.n.02", "france"), ("paris.myth", "the_who"),
         ("cafe", "paris.fr"), ("tokyo", "uk"), ("mouse", "bush.plant"), ("bush.person", "uk"),
         ("who_stop", "the_who")]


def make_kg() -> KnowledgeGraph:
    G = nx.MultiDiGraph()
    for node, (label, aliases, types, desc) in NODES.items():
        G.add_node(node, label=label, aliases=aliases, types=types, description=desc)
    for u, v in EDGES:
        G.add_edge(u, v, relation="related")
    return KnowledgeGraph.from_networkx(G)


@pytest.fixture(scope="module")
def kg():
    return make_kg()


@pytest.fixture(scope="module")
def linker(kg):
    return EntityLinker(kg, disambiguate="prior", cache=False)


def ids(kg, mentions):
    return [(m.text, kg.node_id(m.node) if m.node is not None else None) for m in mentions]


def test_detection_longest_case_lemma_stopwords(kg, linker):
    ms = linker.link("The banks of the river in New York City and the UK, not the uk or who.")
    assert ids(kg, ms) == [("banks", "bank.n.01"), ("river", "river.n.01"),
                           ("New York City", "new_york"), ("UK", "uk")]
    for m in ms:
        assert isinstance(m, Mention) and all(isinstance(c, Candidate) for c in m.candidates)
    # Irregular plural, and a whole multi-word name beats its parts.
    assert ids(kg, linker.link("Two mice ran from NEW YORK to York.")) == [
        ("mice", "mouse"), ("NEW YORK", "new_york"), ("York", "york")]
    # Names made only of stop words ("who", "The Who") are not matched free in text.
    assert ids(kg, linker.link("Who saw The Who at the bank?")) == [("bank", "bank.n.01")]


def test_candidates_sorted_topk_and_prior(kg):
    lk = EntityLinker(kg, disambiguate="prior", top_k=1, cache=False)
    (m,) = lk.link("a bank")
    assert len(m.candidates) == 1 and kg.node_id(m.node) == "bank.n.01"  # "bank" is its label
    lk2 = EntityLinker(kg, disambiguate="prior", cache=False)
    (m,) = lk2.link("a bank")
    assert [kg.node_id(c.node) for c in m.candidates] == ["bank.n.01", "bank.n.02"]
    assert m.candidates[0].score > m.candidates[1].score
    # Counts of how often an alias names a node override the label preference.
    counts = {"bank": {kg.node_index("bank.n.02"): 50, kg.node_index("bank.n.01"): 2}}
    lk3 = EntityLinker(kg, disambiguate="prior", alias_counts=counts, cache=False)
    assert kg.node_id(lk3.link("a bank")[0].node) == "bank.n.02"
    with pytest.raises(ConfigError, match="counts\\['bank'\\] names node 999"):
        EntityLinker(kg, disambiguate="prior", alias_counts={"bank": {999: 1}}, cache=False).link("bank")


def test_case_is_a_feature(kg, linker):
    # Mid-sentence capital: the person; lower case: the plant. Both are candidates either way.
    (m1,) = linker.link("He met Bush.")
    (m2,) = linker.link("He cut the bush.")
    assert kg.node_id(m1.node) == "bush.person" and kg.node_id(m2.node) == "bush.plant"
    assert {c.node for c in m1.candidates} == {c.node for c in m2.candidates}


def test_nil_threshold(kg):
    lk = EntityLinker(kg, disambiguate="prior", nil_threshold=5.0, cache=False)
    (m,) = lk.link("the river")
    assert m.node is None and m.candidates  # candidates kept, none chosen


def test_node_types_filter_candidates(kg, tmp_path):
    lk = EntityLinker(kg, disambiguate="prior", node_types=["noun.plant"], cache=False)
    # "George Bush" names only a person, so that span is no mention; "Bush" inside it then
    # matches, with the plant as its only candidate.
    (m,) = lk.link("George Bush")
    assert (m.text, kg.node_id(m.node)) == ("Bush", "bush.plant")
    assert [kg.node_id(c.node) for c in m.candidates] == ["bush.plant"]
    assert lk.link("Paris and New York") == []  # no allowed node: no mentions, not NIL ones
    nouns = EntityLinker(kg, disambiguate="prior", node_types=["noun."], cache=False)
    assert {kg.node_id(c.node) for m in nouns.link("Paris") for c in m.candidates} == {"paris.myth"}
    nouns.save(tmp_path / "lk")
    loaded = EntityLinker.load(tmp_path / "lk", kg)
    assert loaded.node_types == ["noun."] and loaded.link("Paris by the bank") == nouns.link("Paris by the bank")


@pytest.mark.parametrize("bad", ["noun.", [], [""], [3]])
def test_node_types_bad(kg, bad):
    with pytest.raises(ConfigError, match="node_types"):
        EntityLinker(kg, node_types=bad)


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r", "\x00\x01", "?!", "🙂🙂"])
def test_empty_and_contentless(linker, text):
    assert linker.link(text) == []


def test_non_string_items(linker):
    with pytest.raises(TypeError, match="str"):
        linker.link(b"bank")
    with pytest.raises(TypeError, match=r"texts\[2\] is int"):
        list(linker.link_batch(["bank", "river", 3, "money"]))
    with pytest.raises(TypeError, match=r"texts\[0\] is NoneType"):
        list(linker.link_batch([None]))


def test_unicode_offsets(kg):
    # Rules off: the lower-case "cafe\u0301 de flore" tests normalisation, not spelling rules.
    linker = EntityLinker(kg, disambiguate="prior", cache=False, rules=MentionRules.off())
    text = "Ａ café: Café de Flore\u0301 near 東京 🙂\x07, CAFÉ DE FLORE; cafe\u0301 de flore, tokyo\x00PARIS"
    ms = linker.link(text)
    for m in ms:
        assert text[m.start:m.end] == m.text
    found = ids(kg, ms)
    assert ("東京", "tokyo") in found and ("CAFÉ DE FLORE", "cafe") in found
    assert ("cafe\u0301 de flore", "cafe") in found  # decomposed accent normalises (NFKC) to the name
    assert ("PARIS", "paris.fr") in found


PIECES = ["bank", "Bank", "river", "New York", "Café de Flore", "東京", "🙂", "\x00", "\u0301", "ß", "İ",
          "ﬁ", "½", "_", " ", "\n", ".", "UK", "mice", "the", "the Who", "Paris", "\u200b", "e\u0301"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=20))
def test_offsets_property(linker, parts):
    text = "".join(parts)
    ms = linker.link(text)
    prev_end = 0
    for m in ms:
        assert 0 <= m.start < m.end <= len(text) and text[m.start:m.end] == m.text
        assert m.start >= prev_end  # sorted, non-overlapping
        prev_end = m.end
        assert m.node is None or m.node == m.candidates[0].node


def test_link_batch_streams_in_order(kg, linker):
    texts = ["bank", "", "the river", "Paris and France", "nothing here"] * 7
    expected = [linker.link(t) for t in texts]
    assert list(linker.link_batch(texts, batch_size=4)) == expected

    def source():
        yield from ["bank", "river"]
        raise RuntimeError("stream read too far")

    stream = linker.link_batch(source(), batch_size=1)
    assert ids(kg, next(stream)) == [("bank", "bank.n.01")]  # yielded before the source is exhausted
    with pytest.raises(ConfigError):
        list(linker.link_batch(["x"], batch_size=0))


def test_n_process_matches_single(linker):
    texts = [f"the bank of the river {i} in Paris" for i in range(40)]
    assert list(linker.link_batch(texts, batch_size=8, n_process=2)) == list(linker.link_batch(texts))


def test_deterministic(kg):
    text = "Bush met Paris at the bank of the river in New York."
    a = EntityLinker(kg, disambiguate="prior", cache=False).link(text)
    b = EntityLinker(kg, disambiguate="prior", cache=False).link(text)
    assert a == b


def test_long_text_linear(linker):
    unit = "The bank of the river near Café de Flore in Paris, 東京 and New York City. "
    small, big = unit * 1_300, unit * 13_000  # ~100 KB and ~1 MB
    linker.link(unit)
    # CPU time of this process, not wall time: other processes on a shared machine do not count.
    t0 = time.process_time()
    ms_small = linker.link(small)
    t1 = time.process_time()
    ms_big = linker.link(big)
    t2 = time.process_time()
    assert len(ms_big) == 10 * len(ms_small)
    assert ms_big[-1].text == "New York City" and big[ms_big[-1].start:ms_big[-1].end] == "New York City"
    # Linear: 10x the text may cost ~10x, not 100x (a generous bound).
    assert (t2 - t1) < 30 * max(t1 - t0, 1e-2)


def test_save_load(tmp_path, kg, linker):
    linker.save(tmp_path / "lk")
    files = {p.suffix for p in (tmp_path / "lk").rglob("*") if p.is_file()}
    assert files <= {".json", ".safetensors"}  # nothing pickled
    loaded = EntityLinker.load(tmp_path / "lk", kg)
    text = "Bush met Paris at the bank of the river in New York."
    assert loaded.link(text) == linker.link(text)
    assert loaded.get_config() == linker.get_config()
    other = KnowledgeGraph.from_networkx(nx.MultiDiGraph([("a", "b", {"relation": "r"})]))
    with pytest.raises(FingerprintMismatchError, match="saved for graph"):
        EntityLinker.load(tmp_path / "lk", other)
    with pytest.raises(SavedFileError, match=r"missing/config\.json: .*not found"):
        EntityLinker.load(tmp_path / "missing", kg)


def test_bad_config(kg):
    with pytest.raises(ConfigError, match="disambiguate"):
        EntityLinker(kg, disambiguate="magic")
    with pytest.raises(ConfigError, match="top_k"):
        EntityLinker(kg, top_k=0)
    with pytest.raises(ConfigError, match="cannot load this spaCy pipeline"):
        EntityLinker(kg, nlp="no_such_spacy_package_xyz")


def test_alias_table_cache(kg):
    t1 = AliasTable.build(kg)  # writes the cache (isolated per test session)
    t2 = AliasTable.build(kg)  # reads it
    assert t1.keys == t2.keys and (t1.nodes == t2.nodes).all() and (t1.prior == t2.prior).all()
    k = t1.key_index["paris"]
    assert {kg.node_id(n) for n in t1.nodes[t1.ptr[k]:t1.ptr[k + 1]]} == {"paris.fr", "paris.myth"}
    assert abs(float(t1.prior[t1.ptr[k]:t1.ptr[k + 1]].sum()) - 1) < 1e-5
    assert not t1.matchable[t1.key_index["who"]] and not t1.matchable[t1.key_index["the who"]]
    assert t1.matchable[t1.key_index["new york city"]] and t1.matchable[t1.key_index["uk"]]


def test_text_helpers():
    text = "Hello, New\u00a0York! ½ x_y\nZ"
    toks = tokenize(text)
    assert toks.norm == ["hello", ",", "new", "york", "!", "1", "⁄", "2", "x", "y", "z"]
    assert [text[a:b] for a, b in zip(toks.start, toks.end)][5:8] == ["½"] * 3  # NFKC expanded one token
    assert [toks.sentence_start(i) for i in range(len(toks))] == [
        True, False, False, False, False, True, True, True, False, False, True]
    assert toks.first_upper(2) and not toks.first_upper(1)
    assert tokenize("x_y").norm == ["x", "y"] and tokenize("\u00e9_\u00e9").norm == ["\u00e9", "\u00e9"]
    assert alias_key("St._Louis  Cardinals") == "st . louis cardinals"
    lem = Lemmatizer({"bank", "church", "city", "mouse", "run", "glasses", "glass"})
    assert [lem(w) for w in ["banks", "churches", "cities", "mice", "running", "glasses", "xyzs"]] == [
        "bank", "church", "city", "mouse", "run", "glasses", "xyzs"]


def test_ner_segments_cut_at_whitespace():
    from kgattn.linking.ner import segments as _segments

    text = ("word " * 50 + "\n") * 40
    segs = _segments(text, 300)
    assert segs[0][0] == 0 and segs[-1][1] == len(text)
    assert all(a == b for (_, a), (b, _) in zip(segs, segs[1:]))  # contiguous, nothing dropped
    assert all(b - a <= 300 for a, b in segs) and all(text[b - 1].isspace() for a, b in segs[:-1])
    assert _segments("short", 300) == [(0, 5)]
