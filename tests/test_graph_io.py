"""TSV triples, save/load (mmap), importer caching, WordNet and FB15k-237 importers on fixtures."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgattn.datasets.fb15k237 import fb15k237
from kgattn.datasets.wordnet import find_wordnet, wordnet
from kgattn.errors import DatasetNotFoundError, FingerprintMismatchError, GraphFormatError, SavedFileError
from kgattn.graph import GraphWarning, KnowledgeGraph

FIX = Path(__file__).parent / "fixtures" / "graph"


def _triples(kg):
    return sorted((kg.node_id(s), kg.relation_names[r], kg.node_id(d))
                  for s, d, r in zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist()))


# ---------------------------------------------------------------------- TSV triples
def test_from_triples_with_names():
    with pytest.warns(GraphWarning) as record:
        kg = KnowledgeGraph.from_triples(FIX / "triples.tsv", names=FIX / "names.tsv",
                                         relation_names=FIX / "relations.tsv")
    messages = " | ".join(str(w.message) for w in record)
    assert "1 of 4 nodes have no name" in messages and "1 named ids occur in no triple" in messages
    assert kg.num_nodes == 4 and kg.num_edges == 4  # CRLF and the blank line are fine
    assert kg.label(kg.node_index("/m/a")) == "Alice"
    assert kg.label(kg.node_index("/m/d")) == "/m/d"  # unnamed: id is the label
    assert "/m/zzz" not in kg
    assert kg.relation_names == ["knows", "lives in", "part of"]
    assert kg.relation_ids == ["knows", "lives_in", "part_of"]
    assert kg.metadata["nodes_without_name"] == 1 and kg.metadata["names_not_in_graph"] == 1


def test_from_triples_gzip_and_sep(tmp_path):
    text = (FIX / "triples.tsv").read_text().replace("\t", ",")
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    kg = KnowledgeGraph.from_triples(path, sep=",")
    assert kg.num_edges == 4 and kg.relation_names == ["knows", "lives_in", "part_of"]


def test_fingerprint_independent_of_line_order(tmp_path):
    lines = (FIX / "triples.tsv").read_text().splitlines()
    shuffled = tmp_path / "s.tsv"
    shuffled.write_text("\n".join(reversed(lines)) + "\n")
    a = KnowledgeGraph.from_triples(FIX / "triples.tsv")
    b = KnowledgeGraph.from_triples(shuffled)
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("text,line,match", [
    ("a\tr\tb\nc\tr\n", 2, "expected 3"),
    ("a\tr\tb\n\t\tb\n", 2, "non-empty"),
    ("a\tr\tb\nc\tr\td\te\n", 2, "got more"),
])
def test_malformed_tsv_names_file_and_line(tmp_path, text, line, match):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(GraphFormatError, match=match) as err:
        KnowledgeGraph.from_triples(path)
    assert err.value.line == line and str(path) in str(err.value)


def test_tsv_not_utf8_and_bad_gzip(tmp_path):
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("caf\xe9\tr\tb\n".encode("latin-1"))
    with pytest.raises(GraphFormatError, match="not UTF-8"):
        KnowledgeGraph.from_triples(latin)
    fake = tmp_path / "fake.tsv.gz"
    fake.write_bytes(b"not gzip at all")
    with pytest.raises(GraphFormatError, match="compressed"):
        KnowledgeGraph.from_triples(fake)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        KnowledgeGraph.from_triples(tmp_path / "missing.tsv")


def test_empty_tsv_is_an_error(tmp_path):
    from kgattn.errors import EmptyGraphError

    path = tmp_path / "empty.tsv"
    path.write_text("\n\n")
    with pytest.raises(EmptyGraphError, match="at least one edge"):
        KnowledgeGraph.from_triples(path)


def test_duplicate_triples_counted(tmp_path):
    path = tmp_path / "dup.tsv"
    path.write_text("a\tr\tb\na\tr\tb\na\tr\tb\nb\tr\ta\n")
    with pytest.warns(GraphWarning, match="removed 2 duplicate triples"):
        kg = KnowledgeGraph.from_triples(path)
    assert kg.num_edges == 2


# ---------------------------------------------------------------------- save / load
@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path, mmap):
    with pytest.warns(GraphWarning):  # one node without a name, one name without a node
        kg = KnowledgeGraph.from_triples(FIX / "triples.tsv", names=FIX / "names.tsv", add_inverse=True)
    kg.save(tmp_path / "g")
    assert not list((tmp_path / "g").glob("*.pkl"))
    back = KnowledgeGraph.load(tmp_path / "g", mmap=mmap)
    assert back.fingerprint == kg.fingerprint
    assert back.fingerprint == back._compute_fingerprint()  # recomputed from the loaded arrays
    for name in ("src", "dst", "rel", "degree"):
        assert np.array_equal(getattr(back, name).numpy(), getattr(kg, name).numpy())
    assert back.relation_names == kg.relation_names
    assert [back.label(i) for i in range(back.num_nodes)] == [kg.label(i) for i in range(kg.num_nodes)]
    assert back.node_index("/m/c") == kg.node_index("/m/c")
    assert back.alias_index() == kg.alias_index()
    s1, s2 = kg.subgraph([0], hops=2), back.subgraph([0], hops=2)
    assert all(np.array_equal(getattr(s1, f).numpy(), getattr(s2, f).numpy())
               for f in ("nodes", "edge_index", "edge_type", "hop", "seed_mask"))
    assert back.metadata["nodes_without_name"] == 1


def test_load_detects_tampering_and_bad_dirs(tmp_path):
    kg = KnowledgeGraph.from_triples(FIX / "triples.tsv")
    d = kg.save(tmp_path / "g")
    dst = np.load(d / "dst.npy")
    np.save(d / "dst.npy", dst[::-1].copy())
    KnowledgeGraph.load(d)  # cheap load trusts meta.json
    with pytest.raises(FingerprintMismatchError, match="altered"):
        KnowledgeGraph.load(d, verify=True)
    with pytest.raises(SavedFileError, match="meta.json"):
        KnowledgeGraph.load(tmp_path / "nothing")
    meta = json.loads((d / "meta.json").read_text())
    meta["version"] = 999
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SavedFileError, match="version 999"):
        KnowledgeGraph.load(d)


# ---------------------------------------------------------------------- WordNet
@pytest.fixture(scope="module")
def mini_wordnet() -> KnowledgeGraph:
    return wordnet(FIX / "wordnet", cache=False)


def test_wordnet_fixture(mini_wordnet):
    kg = mini_wordnet
    assert kg.num_nodes == 11
    ids = [kg.node_id(i) for i in range(kg.num_nodes)]
    assert ids == sorted(ids)
    assert set(ids) == {"dog.n.01", "dog.n.02", "canine.n.01", "canis.n.01", "runner.n.01", "run.v.01",
                        "travel.v.01", "large.a.01", "small.a.01", "big.s.01", "quickly.r.01"}
    dog = kg.node_index("dog.n.01")
    assert kg.aliases(dog) == ["dog", "domestic dog", "Canis familiaris"]
    assert kg.types(dog) == ["noun.animal"]
    assert kg.description(dog) == 'a member of the genus Canis; "the dog barked"'
    assert kg.types(kg.node_index("dog.n.02")) == ["noun.person"]
    assert kg.label(kg.node_index("big.s.01")) == "big"  # adjective marker "(a)" stripped
    assert _triples(kg) == sorted([
        ("dog.n.01", "hypernym", "canine.n.01"), ("dog.n.01", "member holonym", "canis.n.01"),
        ("canis.n.01", "member meronym", "dog.n.01"), ("run.v.01", "hypernym", "travel.v.01"),
        ("run.v.01", "derivationally related", "runner.n.01"),
        ("runner.n.01", "derivationally related", "run.v.01"),
        ("large.a.01", "antonym", "small.a.01"), ("small.a.01", "antonym", "large.a.01"),
        ("large.a.01", "similar to", "big.s.01"), ("big.s.01", "similar to", "large.a.01")])
    assert kg.alias_index()["canis familiaris"] == [dog]


def test_wordnet_relations_option():
    kg = wordnet(FIX / "wordnet", relations=("hyponym", "pertainym"), cache=False)
    assert _triples(kg) == sorted([("canine.n.01", "hyponym", "dog.n.01"), ("travel.v.01", "hyponym", "run.v.01"),
                                   ("quickly.r.01", "pertainym", "large.a.01")])
    with pytest.raises(ValueError, match="unknown WordNet relations"):
        wordnet(FIX / "wordnet", relations=("hypernyms",), cache=False)


def test_wordnet_cache_reloads(mini_wordnet):
    first = wordnet(FIX / "wordnet", cache=True)
    second = wordnet(FIX / "wordnet", cache=True)
    assert first.fingerprint == second.fingerprint == mini_wordnet.fingerprint
    assert isinstance(second._src.base, np.memmap) or second._src.base is not None  # memory-mapped


def test_wordnet_missing_directory(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="apt-get install -y wordnet-base"):
        find_wordnet(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="nltk"):
        wordnet(tmp_path / "nope", cache=False)


def test_wordnet_malformed_line(tmp_path):
    d = tmp_path / "wn"
    shutil.copytree(FIX / "wordnet", d)
    with open(d / "data.verb", "a") as f:
        f.write("00000650 38 v zz walk 0 000 | broken count\n")
    with pytest.raises(GraphFormatError) as err:
        wordnet(d, cache=False)
    assert err.value.line == 4 and "data.verb" in str(err.value)


@pytest.mark.data
def test_real_wordnet_names_match_nltk():
    try:
        d = find_wordnet()
    except DatasetNotFoundError:
        pytest.skip("WordNet not installed")
    kg = wordnet(d)  # cached after the first run of the suite
    assert kg.num_nodes == 117_659
    for name, label in [("dog.n.01", "dog"), ("bank.n.01", "bank"), ("big.s.02", "big"), ("run.v.01", "run"),
                        ("entity.n.01", "entity")]:
        assert kg.label(kg.node_index(name)) == label


# ---------------------------------------------------------------------- FB15k-237
def test_fb15k237_fixture():
    with pytest.warns(GraphWarning, match="removed 1 duplicate"):
        kg = fb15k237(FIX / "fb15k", cache=False)
    assert (kg.num_nodes, kg.num_edges, kg.num_relations) == (5, 5, 4)
    assert kg.metadata["splits"] == {"train": 3, "valid": 1, "test": 2}
    assert kg.metadata["names_not_in_graph"] == 1
    assert kg.label(kg.node_index("/m/04")) == "London"
    assert "people person nationality" in kg.relation_names
    assert "/people/person/nationality" in kg.relation_ids
    only_train = fb15k237(FIX / "fb15k", splits=("train",), cache=False)
    assert only_train.num_edges == 3


def test_fb15k237_gzip_cache_and_missing(tmp_path):
    root = tmp_path / "fb"
    root.mkdir()
    for name in ("train", "valid", "test"):
        (root / f"{name}.txt.gz").write_bytes(gzip.compress((FIX / "fb15k" / f"{name}.txt").read_bytes()))
    shutil.copy(FIX / "fb15k" / "entity2text.txt", root)
    with pytest.warns(GraphWarning):
        a = fb15k237(root, cache=True)
    b = fb15k237(root, cache=True)  # from the cache: no import, so no warning
    assert a.fingerprint == b.fingerprint and b.num_edges == 5
    assert b.relation_names[0] == b.relation_ids[0]  # no relation2text: ids are the names
    with pytest.raises(DatasetNotFoundError, match="KGATTN_DATA"):
        fb15k237(tmp_path / "absent")
    (root / "test.txt.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="test"):
        fb15k237(root)
