"""Graphs read from a real SPARQL server (``oxigraph serve-read-only`` on 127.0.0.1) and from an
Oxigraph store on disk equal the graph read from the file that was loaded into them."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgattn.errors import EmptyGraphError, GraphFormatError
from kgattn.graph import KnowledgeGraph
from kgattn.graph.triplestore import EndpointError

pytestmark = pytest.mark.filterwarnings("ignore::kgattn.graph.GraphWarning")
OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
needs_oxigraph = pytest.mark.skipif(not Path(OXIGRAPH).is_file(), reason="the oxigraph server is not installed")
EX = "http://ex.org/"
GRAPH_IRI = "http://ex.org/graphs/extra"
FIXTURE = f"""@prefix ex: <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ex:dog a ex:Animal ; rdfs:label "dog"@en, "Hund"@de ; skos:altLabel "domestic dog" ;
    rdfs:comment "a member of the genus Canis" ; ex:size "medium" ; ex:eats ex:meat ; ex:chases ex:cat .
ex:cat a ex:Animal ; rdfs:label "cat" ; ex:eats ex:fish ; ex:owner [ rdfs:label "someone" ; ex:lives ex:town ] .
ex:meat rdfs:label "meat" .
ex:fish rdfs:label "fish" ; ex:swimsIn ex:sea .
ex:town rdfs:label "town" .
ex:sea rdfs:label "sea" ; ex:note "\U00010469 and é" .
ex:eats rdfs:label "eats" .
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(tmp: Path, name: str, *files: Path, graph: str | None = None) -> Path:
    db = tmp / name
    args = [OXIGRAPH, "load", "--location", str(db), "--file", *map(str, files)]
    if graph:
        args += ["--graph", graph]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return db


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kg") / "animals.ttl"
    path.write_text(FIXTURE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory, fixture_file):
    """``oxigraph serve-read-only`` over a store holding the fixture (default graph) and a copy of
    it in a named graph; yields the query URL."""
    tmp = tmp_path_factory.mktemp("oxigraph")
    db = _load(tmp, "db", fixture_file)
    extra = tmp / "extra.nt"
    extra.write_text(f"<{EX}a> <{EX}linksTo> <{EX}b> .\n", encoding="utf-8")
    subprocess.run([OXIGRAPH, "load", "--location", str(db), "--file", str(extra), "--graph", GRAPH_IRI],
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen([OXIGRAPH, "serve-read-only", "--location", str(db), "--bind", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("oxigraph serve-read-only did not start within 30 s")
    yield f"http://127.0.0.1:{port}/query"
    server.terminate()
    server.wait(timeout=10)


@needs_oxigraph
@pytest.mark.parametrize("page_size", [5, 10_000])
def test_sparql_graph_equals_the_file_graph(endpoint, fixture_file, page_size):
    from_file = KnowledgeGraph.from_rdf(fixture_file)
    kg = KnowledgeGraph.from_sparql(endpoint, page_size=page_size, timeout=10)
    assert kg.fingerprint == from_file.fingerprint
    dog = kg.node_index(EX + "dog")
    assert kg.aliases(dog) == ["dog", "domestic dog"] and kg.types(dog) == [EX + "Animal"]
    assert kg.description(dog) == "a member of the genus Canis"
    assert kg.attributes(kg.node_index(EX + "sea"))[EX + "note"] == ["\U00010469 and é"]
    assert (kg.metadata["pages"] == 1) == (page_size > 100)  # page_size=5: several pages


@needs_oxigraph
def test_sparql_construct_query_equals_the_file_graph(endpoint, fixture_file):
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
    kg = KnowledgeGraph.from_sparql(endpoint, query=query, page_size=4, timeout=10)
    assert kg.fingerprint == KnowledgeGraph.from_rdf(fixture_file).fingerprint


@needs_oxigraph
def test_sparql_named_graph(endpoint):
    kg = KnowledgeGraph.from_sparql(endpoint, graph=GRAPH_IRI, timeout=10)
    assert kg.num_edges == 1 and kg.relation_ids == [EX + "linksTo"]


@needs_oxigraph
def test_sparql_empty_result_names_the_endpoint(endpoint):
    with pytest.raises(EmptyGraphError, match="returned no triple") as err:
        KnowledgeGraph.from_sparql(endpoint, graph="http://ex.org/graphs/none", timeout=10)
    assert endpoint in str(err.value)


@needs_oxigraph
def test_sparql_bad_query_names_the_endpoint(endpoint):
    with pytest.raises(EndpointError, match="HTTP 400") as err:
        KnowledgeGraph.from_sparql(endpoint, query="SELECT ?s ?p ?o WHERE { ?s ?p }", timeout=10, retries=0)
    assert str(err.value).startswith(endpoint)
    with pytest.raises(EndpointError, match=r"must bind \?s \?p \?o"):
        KnowledgeGraph.from_sparql(endpoint, query="SELECT ?x WHERE { ?x ?p ?o }", timeout=10)
    with pytest.raises(EndpointError, match=r"SELECT \?s \?p \?o or a CONSTRUCT"):
        KnowledgeGraph.from_sparql(endpoint, query="ASK { ?s ?p ?o }", timeout=10)


def test_unreachable_endpoint_fails_within_the_timeout():
    url = f"http://127.0.0.1:{_free_port()}/query"
    start = time.perf_counter()
    with pytest.raises(EndpointError, match="cannot connect") as err:
        KnowledgeGraph.from_sparql(url, timeout=1, retries=1)
    assert url in str(err.value) and "2 tries" in str(err.value)
    assert time.perf_counter() - start < 4


def test_silent_endpoint_times_out():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # accepts connections through the backlog, never answers
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/query"
    try:
        start = time.perf_counter()
        with pytest.raises(EndpointError, match=r"no answer within 0.5 s \(timeout\)") as err:
            KnowledgeGraph.from_sparql(url, timeout=0.5, retries=1)
        elapsed = time.perf_counter() - start
    finally:
        sock.close()
    assert url in str(err.value)
    assert elapsed < 2 * 0.5 + 0.5 + 1.5, elapsed  # two tries, one pause, slack


def test_endpoint_must_be_http():
    with pytest.raises(EndpointError, match="http"):
        KnowledgeGraph.from_sparql("file:///etc/passwd")


@needs_oxigraph
def test_oxigraph_store_equals_the_file_graph(tmp_path, fixture_file):
    db = _load(tmp_path, "db", fixture_file)
    kg = KnowledgeGraph.from_oxigraph(db)
    assert kg.fingerprint == KnowledgeGraph.from_rdf(fixture_file).fingerprint
    with pytest.raises(EmptyGraphError, match="named graph"):
        KnowledgeGraph.from_oxigraph(db, graph="http://ex.org/graphs/none")


def test_oxigraph_store_path_errors(tmp_path):
    with pytest.raises(GraphFormatError, match="not a directory"):
        KnowledgeGraph.from_oxigraph(tmp_path / "missing")


@needs_oxigraph
def test_pipeline_kg_sections_read_sparql_and_oxigraph_sources(endpoint, fixture_file, tmp_path):
    """``kg: {sparql: URL}`` and ``kg: {oxigraph: DIR}`` in a spec build the same graph as the file."""
    from kgattn.errors import ConfigError
    from kgattn.pipeline.spec import parse_spec
    from kgattn.pipeline.stages import Components

    db = _load(tmp_path, "db", fixture_file)
    expected = KnowledgeGraph.from_rdf(fixture_file).fingerprint
    corpus = {"paths": ["c.csv"]}
    for kg in ({"sparql": endpoint, "page_size": 5, "timeout": 10}, {"oxigraph": str(db)},
               {"sources": [{"oxigraph": str(db)}]}):
        spec = parse_spec({"name": "t", "kg": kg, "corpus": corpus}, tmp_path)
        assert Components().import_kg(spec.kg).fingerprint == expected, kg
    for kg, message in (({"sparql": endpoint, "path": "x.ttl"}, "one source"),
                        ({"oxigraph": str(db), "page_size": 5}, "'page_size' does not apply"),
                        ({"path": "x.ttl", "splits": ["train"]}, "'splits' does not apply")):
        with pytest.raises(ConfigError, match=message):
            parse_spec({"name": "t", "kg": kg, "corpus": corpus}, tmp_path)
