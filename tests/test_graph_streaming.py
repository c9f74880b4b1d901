"""The streaming N-Triples import writes the same saved graph as ``from_rdf(...).save(...)``."""
from __future__ import annotations

import gzip
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyoxigraph")

from kgattn.errors import EmptyGraphError, GraphFormatError, UnknownFormatError  # noqa: E402
from kgattn.graph import KnowledgeGraph  # noqa: E402
from kgattn.graph.streaming import import_ntriples, use_streaming  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
EX = "http://ex.org/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def _rich_lines(seed: int = 0, entities: int = 40) -> list[str]:
    """Entities with labels (some in two languages, one empty), aliases, descriptions (two
    predicates, several languages), types, typed and plain literals, duplicates, dangling targets,
    schema triples about relations, a named relation, blank nodes, comments and blank lines."""
    rng = random.Random(seed)
    lines = ["# a comment line", ""]
    for i in range(entities):
        e = f"<{EX}e{i}>"
        if i % 7 != 3:
            lines.append(f'{e} <{RDFS}label> "Entity {i}"@en .')
        if i % 5 == 0:
            lines.append(f'{e} <{RDFS}label> "Entité {i}"@fr .')
            lines.append(f'{e} <{SKOS}altLabel> "E{i}" .')
            lines.append(f'{e} <{SKOS}altLabel> "Entity {i}"@en-GB .')
        if i % 4 == 1:
            lines.append(f'{e} <{SKOS}altLabel> "alias {rng.randint(0, 5)}"@en .')
            lines.append(f'{e} <http://schema.org/description> "thing number {i}"@en .')
            lines.append(f'{e} <{RDFS}comment> "a comment about {i}" .')
        if i % 6 == 2:
            lines.append(f'{e} <http://schema.org/description> "zzz {i}" .')
            lines.append(f'{e} <http://schema.org/description> "aaa {i}" .')
        if i == 11:
            lines.append(f'{e} <{RDFS}label> ""@en .')
        lines.append(f"{e} {TYPE} <{EX}Class{i % 3}> .")
        if i % 9 == 0:
            lines.append(f"{e} {TYPE} <{EX}Class{(i + 1) % 3}> .")
        lines.append(f'{e} <{EX}born> "18{i:02d}-01-01"^^<http://www.w3.org/2001/XMLSchema#date> .')
        lines.append(f'{e} <{EX}note> "n{rng.randint(0, 3)}" .')
        lines.append(f'{e} <{EX}note> "m" .\t# trailing comment')
        for _ in range(rng.randint(1, 5)):
            lines.append(f"{e} <{EX}r{rng.randint(0, 6)}> <{EX}e{rng.randint(0, entities + 5)}> .")
        if i % 8 == 0:
            lines.append(lines[-1])  # a duplicate triple
    lines += [f'<{EX}r1> <{RDFS}label> "first relation"@en .', f"<{EX}r1> <{RDFS}domain> <{EX}Class0> .",
              f'<{EX}r2> <{RDFS}label> "deuxième"@fr .', "",
              f"_:b1 <{EX}r3> <{EX}e1> .", f'_:b1 <{RDFS}label> "blank one" .', f"<{EX}e2> <{EX}r4> _:b2 .",
              f"_:b2 {TYPE} <{EX}Class1> .", "   ", "# the end"]
    order = lines[2:]
    rng.shuffle(order)
    return lines[:2] + order


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _import_both(tmp_path: Path, src: Path, **kwargs):
    with warnings.catch_warnings(record=True) as in_memory_warnings:
        warnings.simplefilter("always")
        KnowledgeGraph.from_rdf(src, language=kwargs.get("language", "en"), type_edges=kwargs.get("type_edges", False),
                                add_inverse=kwargs.get("add_inverse", False)).save(tmp_path / "memory")
    with warnings.catch_warnings(record=True) as streaming_warnings:
        warnings.simplefilter("always")
        import_ntriples(src, tmp_path / "stream", **kwargs)
    return ([str(w.message) for w in in_memory_warnings], [str(w.message) for w in streaming_warnings])


def _manifest(d: Path) -> dict:
    m = json.loads((d / "meta.json").read_text())
    m["metadata"].pop("import", None)
    return m


def _same_graph(a: Path, b: Path) -> None:
    ma, mb = _manifest(a), _manifest(b)
    assert ma == mb
    for name in ma["arrays"]:
        np.testing.assert_array_equal(np.load(a / f"{name}.npy"), np.load(b / f"{name}.npy"), err_msg=name)
        assert np.load(a / f"{name}.npy").dtype == np.load(b / f"{name}.npy").dtype, name
    assert KnowledgeGraph.load(b, verify=True).fingerprint == ma["fingerprint"]


@pytest.mark.parametrize("chunk,range_edges,range_literals", [(7, 5, 3), (1_000_000, 8_000_000, 4_000_000)])
def test_streaming_equals_in_memory(tmp_path, chunk, range_edges, range_literals):
    src = _write(tmp_path / "rich.nt", _rich_lines())
    w_mem, w_stream = _import_both(tmp_path, src, chunk_triples=chunk, range_edges=range_edges,
                                   range_literals=range_literals)
    _same_graph(tmp_path / "memory", tmp_path / "stream")
    assert sorted(w_mem) == sorted(w_stream)
    assert any("duplicate" in w for w in w_stream) and any("only ever edge targets" in w for w in w_stream)
    assert not list((tmp_path / "stream").glob(".*")), "scratch files left in the output"


@pytest.mark.parametrize("chunk,range_edges", [(7, 5), (1_000_000, 8_000_000)])
def test_streaming_add_inverse_equals_in_memory(tmp_path, chunk, range_edges):
    """Inverse edges (``add_inverse``) streamed: the same arrays, relation names and fingerprint as
    ``from_rdf(add_inverse=True)``, and the duplicate warning names an edge, not its inverse."""
    src = _write(tmp_path / "rich.nt", _rich_lines())
    w_mem, w_stream = _import_both(tmp_path, src, chunk_triples=chunk, range_edges=range_edges, range_literals=3,
                                   add_inverse=True)
    _same_graph(tmp_path / "memory", tmp_path / "stream")
    assert sorted(w_mem) == sorted(w_stream)
    kg = KnowledgeGraph.load(tmp_path / "stream")
    half = kg.num_relations // 2
    assert kg.relation_names[half:] == [f"inverse of {r}" for r in kg.relation_names[:half]]
    plain = KnowledgeGraph.from_rdf(src)
    assert kg.num_edges == 2 * plain.num_edges


def test_streaming_fixture_languages_and_type_edges(tmp_path):
    src = FIXTURES / "tiny.nt"
    for k, kwargs in enumerate(({}, {"language": None}, {"language": "fr", "type_edges": True})):
        d = tmp_path / str(k)
        d.mkdir()
        _import_both(d, src, chunk_triples=3, range_edges=2, range_literals=2, **kwargs)
        _same_graph(d / "memory", d / "stream")


def test_streaming_gzip_and_subgraphs(tmp_path):
    src = _write(tmp_path / "rich.nt.gz", _rich_lines(seed=3, entities=60))
    _import_both(tmp_path, src, chunk_triples=11, range_edges=17, range_literals=13)
    _same_graph(tmp_path / "memory", tmp_path / "stream")
    mem, stream = KnowledgeGraph.load(tmp_path / "memory"), KnowledgeGraph.load(tmp_path / "stream", mmap=True)
    for seed in range(stream.num_nodes):
        a = mem.subgraph([seed], hops=2, max_nodes=16)
        b = stream.subgraph([seed], hops=2, max_nodes=16)
        assert a.nodes.tolist() == b.nodes.tolist()
        assert a.edge_index.tolist() == b.edge_index.tolist() and a.edge_type.tolist() == b.edge_type.tolist()
    assert stream.alias_index() == mem.alias_index()


def test_bad_line_names_file_and_line_and_leaves_nothing(tmp_path):
    lines = _rich_lines()
    lines.insert(30, "<http://ex.org/a> <http://ex.org/b> oops .")
    src = _write(tmp_path / "bad.nt.gz", lines)
    out = tmp_path / "out"
    with pytest.raises(GraphFormatError) as err:
        import_ntriples(src, out, chunk_triples=7)
    assert err.value.line == 31 and str(src) in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_errors_empty_and_format(tmp_path):
    src = _write(tmp_path / "lits.nt", [f'<{EX}a> <{RDFS}label> "A" .'])
    with pytest.raises(EmptyGraphError):
        import_ntriples(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    ttl = _write(tmp_path / "g.ttl", [f"<{EX}a> <{EX}r> <{EX}b> ."])
    with pytest.raises(UnknownFormatError):
        import_ntriples(ttl, tmp_path / "out")
    with pytest.raises(UnknownFormatError):
        use_streaming(ttl, None, True)
    assert use_streaming(ttl, None, "auto") is False and use_streaming(src, None, "auto") is False


def test_import_rdf_and_cli_streaming(tmp_path):
    from typer.testing import CliRunner

    from kgattn.cli import app

    src = _write(tmp_path / "rich.nt", _rich_lines(seed=5))
    kg = KnowledgeGraph.import_rdf(src, tmp_path / "api", streaming=True)
    assert kg.fingerprint == KnowledgeGraph.from_rdf(src).fingerprint
    res = CliRunner().invoke(app, ["kg", "import", str(src), "--out", str(tmp_path / "cli"), "--streaming"])
    assert res.exit_code == 0, res.output
    assert KnowledgeGraph.load(tmp_path / "cli").fingerprint == kg.fingerprint
    bad = _write(tmp_path / "bad.nt", ["<http://ex.org/a> <http://ex.org/b> <http://ex.org/c> .", "nonsense"])
    res = CliRunner().invoke(app, ["kg", "import", str(bad), "--out", str(tmp_path / "bad"), "--streaming"])
    assert res.exit_code == 2 and "line 2" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "bad").exists()


def test_one_key_sort_matches_lexsort_fallback():
    from kgattn.graph.stream_edges import _neighbour_order, _sorted_unique

    rng = np.random.default_rng(0)
    s, d, r = (rng.integers(0, k, 500) + o for k, o in ((20, 10), (40, 0), (5, 0)))
    fast = _sorted_unique(s, d, r, 10, 40, 5)
    slow = _sorted_unique(s, d, r, 10, 2**40, 2**30)  # the one-key form would overflow: lexsort
    for x, y in zip(fast, slow):
        np.testing.assert_array_equal(x, y)
    degree = rng.integers(0, 9, 40)
    fast = _neighbour_order(s, d, degree, 10, 40)
    slow = _neighbour_order(s, d, np.concatenate([degree, [2**40]]), 10, 2**40)
    for x, y in zip(fast, slow):
        np.testing.assert_array_equal(x, y)


def test_several_files_and_damaged_gzip(tmp_path):
    lines = _rich_lines(seed=7)
    a = _write(tmp_path / "a.nt", lines[: len(lines) // 2])
    b = _write(tmp_path / "b.nt.gz", lines[len(lines) // 2:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        KnowledgeGraph.from_rdf([a, b]).save(tmp_path / "memory")
        import_ntriples([a, b], tmp_path / "stream", chunk_triples=5, range_edges=9, range_literals=4)
    _same_graph(tmp_path / "memory", tmp_path / "stream")
    damaged = tmp_path / "damaged.nt.gz"
    damaged.write_bytes(b.read_bytes()[:-20])
    with pytest.raises(GraphFormatError, match="truncated or damaged gzip"):
        import_ntriples(damaged, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_large_ntriples_path_in_a_kg_section_is_streamed_and_cached(tmp_path, monkeypatch):
    import kgattn.graph.streaming as streaming
    from kgattn.specs.graph import KGSpec, import_graph

    path = tmp_path / "dump.nt"
    path.write_text("\n".join(_rich_lines()) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = KnowledgeGraph.from_rdf(path).fingerprint
        spec = KGSpec.model_validate({"path": str(path)})
        monkeypatch.setattr(streaming, "STREAMING_THRESHOLD_BYTES", 1)     # every N-Triples file is "large"
        calls = []
        real = streaming.import_ntriples
        monkeypatch.setattr(streaming, "import_ntriples", lambda *a, **k: calls.append(a) or real(*a, **k))
        first, again = import_graph(spec), import_graph(spec)
    assert first.fingerprint == again.fingerprint == expected
    assert len(calls) == 1    # imported once into the cache, then loaded memory-mapped
    inverse = KGSpec.model_validate({"path": str(path), "add_inverse": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_inverse = import_graph(inverse)
        assert with_inverse.fingerprint == KnowledgeGraph.from_rdf(path, add_inverse=True).fingerprint
    assert len(calls) == 2    # streamed too (another cache entry), not read in memory
