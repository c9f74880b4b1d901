"""Parsing a graph file never reaches the network, never expands entities, and bounds its strings.

Every fixture is written by the test; the HTTP servers listen on 127.0.0.1 only.
"""
from __future__ import annotations

import importlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kgattn.errors import GraphFormatError
from kgattn.graph import KnowledgeGraph
from kgattn.graph.rdf_parse import MAX_LITERAL_LENGTH
from kgattn.graph.triples import MAX_LINE_LENGTH

pytestmark = pytest.mark.filterwarnings("ignore::kgattn.graph.GraphWarning")
EX = "http://ex.org/"
CONTEXT = {"@context": {"@vocab": EX, "knows": {"@type": "@id"}, "name": "http://schema.org/name"}}


class _Server:
    """A context server on 127.0.0.1 that counts the requests it receives."""

    def __init__(self, body: bytes):
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def context_server():
    server = _Server(json.dumps(CONTEXT).encode())
    yield server
    server.close()


@pytest.fixture
def silent_server():
    """A socket that accepts connections (through the backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _doc(context) -> dict:
    return {"@context": context, "@graph": [
        {"@id": EX + "a", "name": "Alice", "knows": EX + "b"},
        {"@id": EX + "b", "name": "Bob", "knows": EX + "a"}]}


def _write(path, doc):
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- JSON-LD: no network by default
@pytest.mark.parametrize("where", ["context", "import", "scoped", "list"])
def test_remote_jsonld_context_is_refused_without_a_request(tmp_path, context_server, where):
    url = context_server.url + "/ctx.jsonld"
    context = {"context": url, "import": {"@import": url},
               "scoped": {"@vocab": EX, "knows": {"@id": EX + "knows", "@context": url}},
               "list": [{"@vocab": EX}, url]}[where]
    path = _write(tmp_path / "g.jsonld", _doc(context))
    with pytest.raises(GraphFormatError) as err:
        KnowledgeGraph.from_rdf(path)
    assert str(path) in str(err.value) and url in str(err.value)
    assert "allow_remote=True" in str(err.value)
    assert context_server.requests == []  # no request was made at all


def test_remote_context_with_allow_remote_is_fetched(tmp_path, context_server):
    url = context_server.url + "/ctx.jsonld"
    path = _write(tmp_path / "g.jsonld", _doc(url))
    kg = KnowledgeGraph.from_rdf(path, allow_remote=True, remote_timeout=5)
    assert context_server.requests == ["/ctx.jsonld"]
    assert kg.relation_ids == [EX + "knows"]
    assert sorted(kg.label(i) for i in range(kg.num_nodes)) == ["Alice", "Bob"]


def test_remote_context_that_never_answers_times_out(tmp_path, silent_server):
    url = silent_server + "/ctx.jsonld"
    path = _write(tmp_path / "g.jsonld", _doc(url))
    start = time.perf_counter()
    with pytest.raises(GraphFormatError, match="timeout") as err:
        KnowledgeGraph.from_rdf(path, allow_remote=True, remote_timeout=0.5)
    elapsed = time.perf_counter() - start
    assert url in str(err.value) and str(path) in str(err.value)
    assert elapsed < 5, elapsed


def test_unreachable_remote_context_names_the_url(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ctx.jsonld"
    path = _write(tmp_path / "g.jsonld", _doc(url))
    with pytest.raises(GraphFormatError, match="cannot fetch") as err:
        KnowledgeGraph.from_rdf(path, allow_remote=True, remote_timeout=2)
    assert url in str(err.value)


def test_local_context_file_beside_the_document_is_read(tmp_path):
    _write(tmp_path / "ctx.jsonld", CONTEXT)
    kg = KnowledgeGraph.from_rdf(_write(tmp_path / "g.jsonld", _doc("ctx.jsonld")))
    assert kg.relation_ids == [EX + "knows"] and kg.num_edges == 2


def test_local_context_that_is_not_a_file_is_refused(tmp_path):
    path = _write(tmp_path / "g.jsonld", _doc("missing-ctx.jsonld"))
    with pytest.raises(GraphFormatError, match="missing-ctx.jsonld"):
        KnowledgeGraph.from_rdf(path)


def test_other_url_schemes_are_refused(tmp_path):
    path = _write(tmp_path / "g.jsonld", _doc("ftp://127.0.0.1/ctx.jsonld"))
    with pytest.raises(GraphFormatError, match="unsupported scheme 'ftp'"):
        KnowledgeGraph.from_rdf(path)


def test_context_cycle_is_refused(tmp_path):
    _write(tmp_path / "a.jsonld", {"@context": "b.jsonld"})
    _write(tmp_path / "b.jsonld", {"@context": "a.jsonld"})
    with pytest.raises(GraphFormatError, match="includes itself"):
        KnowledgeGraph.from_rdf(_write(tmp_path / "g.jsonld", _doc("a.jsonld")))


@pytest.mark.parametrize("bad", [5, 1.5, True, ["http://ex.org/a"], {"x": 1}])
def test_jsonld_non_string_id_is_an_error(tmp_path, bad):
    doc = _doc(CONTEXT["@context"])
    doc["@graph"][0]["@id"] = bad
    path = _write(tmp_path / "g.jsonld", doc)
    with pytest.raises(GraphFormatError, match=r"\$\.@graph\[0\]\.@id") as err:
        KnowledgeGraph.from_rdf(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------------- RDF/XML: no entities
def _billion_laughs(levels: int = 9) -> str:
    dtd = ' <!ENTITY lol0 "lol">\n'
    for i in range(1, levels + 1):
        dtd += f' <!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">\n'
    return ('<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + dtd + ']>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex.org/">\n'
            f' <rdf:Description rdf:about="http://ex.org/a"><ex:p>&lol{levels};</ex:p>'
            '<ex:q rdf:resource="http://ex.org/b"/></rdf:Description>\n</rdf:RDF>\n')


def test_billion_laughs_is_refused_fast(tmp_path):
    text = _billion_laughs(12)
    assert 1000 < len(text.encode()) < 2000  # the 1.5 KB shape: 10^12 "lol"s if expanded
    path = tmp_path / "bomb.rdf"
    path.write_text(text, encoding="utf-8")
    importlib.import_module("rdflib.plugins.parsers.rdfxml")  # imported before the clock starts
    start = time.perf_counter()
    with pytest.raises(GraphFormatError, match="declares the entity 'lol0'") as err:
        KnowledgeGraph.from_rdf(path)
    elapsed = time.perf_counter() - start
    assert str(path) in str(err.value) and ":3:" in str(err.value)  # file and line of the declaration
    assert elapsed < 0.5, elapsed


def test_external_entity_is_refused_and_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CONTENT", encoding="utf-8")
    path = tmp_path / "xxe.rdf"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "{secret.as_uri()}"> ]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex.org/">\n'
        ' <rdf:Description rdf:about="http://ex.org/a"><ex:p>&xxe;</ex:p>'
        '<ex:q rdf:resource="http://ex.org/b"/></rdf:Description>\n</rdf:RDF>\n', encoding="utf-8")
    with pytest.raises(GraphFormatError, match="entity 'xxe'") as err:
        KnowledgeGraph.from_rdf(path)
    assert "TOPSECRET" not in str(err.value)


def test_rdfxml_without_dtd_still_loads(tmp_path):
    path = tmp_path / "ok.rdf"
    path.write_text(
        '<?xml version="1.0"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:ex="http://ex.org/">\n'
        ' <rdf:Description rdf:about="http://ex.org/a"><rdfs:label>A</rdfs:label>'
        '<ex:q rdf:resource="http://ex.org/b"/></rdf:Description>\n</rdf:RDF>\n', encoding="utf-8")
    kg = KnowledgeGraph.from_rdf(path)
    assert kg.num_edges == 1 and kg.label(kg.node_index("http://ex.org/a")) == "A"


def test_malformed_rdfxml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.rdf"
    path.write_text('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                    '<rdf:Description rdf:about="http://ex.org/a">\n</rdf:RDF>\n', encoding="utf-8")
    with pytest.raises(GraphFormatError, match="malformed xml") as err:
        KnowledgeGraph.from_rdf(path)
    assert f"{path}:4:" in str(err.value)


# ---------------------------------------------------------------------- limits
def test_documented_limits_have_generous_defaults():
    assert MAX_LITERAL_LENGTH == 1 << 20 and MAX_LINE_LENGTH == 1 << 20


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_literal_longer_than_the_limit_is_refused(tmp_path, engine):
    path = tmp_path / "g.nt"
    path.write_text(f'<{EX}a> <{EX}p> <{EX}b> .\n<{EX}a> <{EX}note> "{"x" * 50}" .\n', encoding="utf-8")
    assert KnowledgeGraph.from_rdf(path, engine=engine, max_literal_length=50).attributes(0) == {
        EX + "note": ["x" * 50]}
    with pytest.raises(GraphFormatError, match="literal of 50 characters") as err:
        KnowledgeGraph.from_rdf(path, engine=engine, max_literal_length=49)
    assert str(path) in str(err.value) and f"{EX}note" in str(err.value)


def test_tsv_line_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tr\tb\n" + "c\tr\t" + "d" * 100 + "\n", encoding="utf-8")
    assert KnowledgeGraph.from_triples(path, max_line_length=104).num_edges == 2
    with pytest.raises(GraphFormatError, match="line longer than 103 characters") as err:
        KnowledgeGraph.from_triples(path, max_line_length=103)
    assert f"{path}:2:" in str(err.value)


def test_tsv_line_limit_applies_to_name_files(tmp_path):
    (tmp_path / "g.tsv").write_text("a\tr\tb\n", encoding="utf-8")
    (tmp_path / "names.tsv").write_text("a\tA\nb\t" + "B" * 30 + "\n", encoding="utf-8")
    with pytest.raises(GraphFormatError) as err:
        KnowledgeGraph.from_triples(tmp_path / "g.tsv", names=tmp_path / "names.tsv", max_line_length=20)
    assert f"{tmp_path / 'names.tsv'}:2:" in str(err.value)


def test_external_dtd_is_never_fetched(tmp_path, context_server):
    path = tmp_path / "dtd.rdf"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "{context_server.url}/evil.dtd">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex.org/">\n'
        ' <rdf:Description rdf:about="http://ex.org/a"><ex:q rdf:resource="http://ex.org/b"/></rdf:Description>\n'
        '</rdf:RDF>\n', encoding="utf-8")
    with pytest.raises(GraphFormatError, match="refers to the external DTD or entity") as err:
        KnowledgeGraph.from_rdf(path)
    assert str(path) in str(err.value) and f"{context_server.url}/evil.dtd" in str(err.value)
    assert context_server.requests == []
