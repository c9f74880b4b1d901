"""RDF import: every format and engine gives the same graph; literals, types, blank nodes, languages."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgattn.errors import EmptyGraphError, GraphFormatError, UnknownFormatError
from kgattn.graph import KnowledgeGraph

FIX = Path(__file__).parent / "fixtures" / "graph"
EX = "http://example.org/"


@pytest.fixture(scope="module")
def tiny() -> KnowledgeGraph:
    return KnowledgeGraph.from_rdf(FIX / "tiny.ttl", engine="rdflib")


def _triples(kg):
    return sorted((kg.node_id(s), kg.relation_ids[r], kg.node_id(d))
                  for s, d, r in zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist()))


def test_mapping_of_triples(tiny):
    kg = tiny
    ada = kg.node_index(EX + "ada")
    # names: prefLabel first, then rdfs:label; French filtered; untagged altLabel kept
    assert kg.label(ada) == "Ada Lovelace"
    assert kg.aliases(ada) == ["Ada Lovelace", "Ada", "Augusta Ada King"]
    assert kg.description(ada) == "English mathematician"
    assert kg.types(ada) == [EX + "Person"]
    assert kg.attributes(ada) == {"http://schema.org/birthDate": ["1815-12-10"]}
    assert kg.label(kg.node_index(EX + "charles")) == "Charles Babbage"  # en-GB is English
    # a node without a label: its id is its label
    england = kg.node_index(EX + "england")
    assert kg.label(england) == EX + "england" and kg.aliases(england) == []
    # relation names from the predicate's label, else its local name; the predicate is no node
    assert dict(zip(kg.relation_ids, kg.relation_names)) == {
        EX + "bornIn": "born in", EX + "designed": "designed", EX + "knows": "knows",
        EX + "locatedIn": "located in"}
    assert EX + "bornIn" not in kg and EX + "Person" not in kg
    assert kg.metadata["schema_triples"] == 1 and kg.metadata["literals_filtered_by_language"] == 2
    # literals never become nodes
    assert all(not kg.node_id(i).startswith('"') for i in range(kg.num_nodes))
    assert kg.num_nodes == 5 and kg.num_edges == 6


def test_blank_node_has_content_id(tiny):
    bnodes = [i for i in range(tiny.num_nodes) if tiny.node_id(i).startswith("_:")]
    assert len(bnodes) == 1
    b = bnodes[0]
    assert tiny.label(b) == "Analytical Engine" and tiny.types(b) == [EX + "Machine"]
    charles = tiny.node_index(EX + "charles")
    out, _ = tiny.neighbors(charles, "out")
    assert b in out.tolist()


@pytest.mark.parametrize("name,engine", [("tiny.nt", "rdflib"), ("tiny.nt", "oxigraph"), ("tiny.ttl", "oxigraph"),
                                         ("tiny.nq", "rdflib"), ("tiny.nq", "oxigraph"), ("tiny.rdf", "auto"),
                                         ("tiny.jsonld", "auto")])
def test_all_formats_and_engines_agree(tiny, name, engine):
    kg = KnowledgeGraph.from_rdf(FIX / name, engine=engine)
    assert _triples(kg) == _triples(tiny)
    assert kg.fingerprint == tiny.fingerprint  # blank-node ids do not depend on the parser
    if name.endswith(".nq"):
        assert kg.metadata["named_graphs"] == 1


def test_gzip_and_explicit_format(tmp_path, tiny):
    gz = tmp_path / "kg.ttl.gz"
    gz.write_bytes(gzip.compress((FIX / "tiny.ttl").read_bytes()))
    assert KnowledgeGraph.from_rdf(gz).fingerprint == tiny.fingerprint
    odd = tmp_path / "kg.data"
    shutil.copy(FIX / "tiny.nt", odd)
    assert KnowledgeGraph.from_rdf(odd, format="N-Triples").fingerprint == tiny.fingerprint


def test_several_files_merge(tmp_path):
    a, b = tmp_path / "a.nt", tmp_path / "b.nt"
    a.write_text(f"<{EX}x> <{EX}p> <{EX}y> .\n<{EX}x> <http://www.w3.org/2000/01/rdf-schema#label> \"X\" .\n")
    b.write_text(f"<{EX}y> <{EX}p> <{EX}z> .\n")
    from kgattn.graph import GraphWarning

    with pytest.warns(GraphWarning, match="1 of 3 nodes are only ever edge targets"):
        kg = KnowledgeGraph.from_rdf([a, b])
    assert kg.num_nodes == 3 and kg.num_edges == 2 and kg.label(kg.node_index(EX + "x")) == "X"
    assert kg.metadata["dangling_nodes"] == 1 and kg.label(kg.node_index(EX + "z")) == EX + "z"


def test_language_option():
    kg = KnowledgeGraph.from_rdf(FIX / "tiny.ttl", language="fr")
    ada = kg.node_index(EX + "ada")
    assert kg.aliases(ada) == ["Ada la comtesse", "Augusta Ada King"]
    assert kg.description(ada) == "mathématicienne anglaise"
    kg = KnowledgeGraph.from_rdf(FIX / "tiny.ttl", language=None)
    assert "Ada la comtesse" in kg.aliases(kg.node_index(EX + "ada"))
    # the second description is kept as an attribute, not dropped
    assert len(kg.attributes(kg.node_index(EX + "ada"))["http://www.w3.org/2000/01/rdf-schema#comment"]) == 1


def test_type_edges_and_inverse():
    kg = KnowledgeGraph.from_rdf(FIX / "tiny.ttl", type_edges=True, add_inverse=True)
    assert EX + "Person" in kg
    assert "inverse of born in" in kg.relation_names
    assert kg.num_relations == 2 * 5


@pytest.mark.parametrize("engine", ["rdflib", "auto"])
@pytest.mark.parametrize("suffix,text,line", [
    (".nt", f"<{EX}a> <{EX}p> <{EX}b> .\n<{EX}a> <{EX}p> <{EX}c .\n", 2),
    (".ttl", "@prefix ex: <http://example.org/> .\nex:a ex:p ex:b .\nex:a ex:p ex:b ex:c .\n", 3),
    (".rdf", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
             '<rdf:Description rdf:about="http://a">\n</rdf:RDF>\n', 4),
    (".jsonld", '{"@id": "http://a",\n "http://p": {"@id": "http://b"},\n}\n', 3),
])
def test_malformed_rdf_names_file_and_line(tmp_path, engine, suffix, text, line):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(GraphFormatError) as err:
        KnowledgeGraph.from_rdf(path, engine=engine)
    assert err.value.line == line and str(path) in str(err.value)


def test_unknown_format(tmp_path):
    path = tmp_path / "kg.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(UnknownFormatError, match="turtle"):
        KnowledgeGraph.from_rdf(path)
    with pytest.raises(UnknownFormatError, match="accepted"):
        KnowledgeGraph.from_rdf(FIX / "tiny.ttl", format="yaml")


def test_rdf_without_edges_is_empty(tmp_path):
    path = tmp_path / "labels.nt"
    path.write_text(f"<{EX}a> <http://www.w3.org/2000/01/rdf-schema#label> \"A\" .\n")
    with pytest.raises(EmptyGraphError, match="no triple between two resources"):
        KnowledgeGraph.from_rdf(path)
    empty = tmp_path / "empty.ttl"
    empty.write_text("# nothing\n")
    with pytest.raises(EmptyGraphError):
        KnowledgeGraph.from_rdf(empty)


def test_rdf_duplicates_across_files_reported(tmp_path):
    from kgattn.graph import GraphWarning

    a = tmp_path / "a.nt"
    a.write_text(f"<{EX}a> <{EX}p> <{EX}b> .\n<{EX}b> <{EX}p> <{EX}a> .\n")
    with pytest.warns(GraphWarning, match="removed 2 duplicate"):
        kg = KnowledgeGraph.from_rdf([a, a])
    assert kg.num_edges == 2


def test_rdf_round_trip_through_save(tmp_path, tiny):
    tiny.save(tmp_path / "kg")
    kg = KnowledgeGraph.load(tmp_path / "kg")
    assert kg.fingerprint == tiny.fingerprint
    for name in ("src", "dst", "rel", "degree"):
        assert np.array_equal(getattr(kg, name).numpy(), getattr(tiny, name).numpy())
    for i in range(kg.num_nodes):
        assert (kg.node_id(i), kg.aliases(i), kg.types(i), kg.description(i), kg.attributes(i)) == \
               (tiny.node_id(i), tiny.aliases(i), tiny.types(i), tiny.description(i), tiny.attributes(i))
    assert kg.relation_names == tiny.relation_names and kg.relation_ids == tiny.relation_ids
