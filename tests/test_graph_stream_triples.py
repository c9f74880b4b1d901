"""The streaming TSV import writes the same saved graph as ``from_triples(...).save(...)``."""
from __future__ import annotations

import gzip
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from kgattn.errors import EmptyGraphError, GraphFormatError
from kgattn.graph import KnowledgeGraph
from kgattn.graph.stream_triples import import_triples, use_streaming_triples


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _fixture(tmp_path: Path, seed: int = 0, nodes: int = 60) -> dict:
    """Two triple files (one gzipped) with repeats, self-loops, a relation id that is also a node
    id, non-ASCII ids, blank lines and CRLF ends; a names file naming most nodes (some twice,
    the first wins), some ids of no triple (one named twice), and a relation-names file missing one."""
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(nodes)] + ["Zürich", "東京", "r1"]
    lines = [f"{rng.choice(ids)}\tr{rng.randint(0, 5)}\t{rng.choice(ids)}" for _ in range(400)]
    lines += [lines[3], lines[10], "n1\tr2\tn1", "", "r1\tr1\tn2"]
    rng.shuffle(lines)
    a = _write(tmp_path / "a.tsv", lines[:200])
    a.write_bytes(a.read_bytes().replace(b"\n", b"\r\n", 5))
    b = _write(tmp_path / "b.tsv.gz", lines[200:])
    names = [f"{x}\tName of {x}" for x in ids if x != "n7"] + ["n3\tsecond name of n3", "ghost\tGhost",
                                                                 "ghost\tGhost again", "phantom\tPhantom"]
    rng.shuffle(names)
    relation_names = [f"r{i}\trelation {i}" for i in range(5)]   # r5 has none
    return {"paths": [a, b], "names": _write(tmp_path / "names.tsv", names),
            "relation_names": _write(tmp_path / "relations.tsv", relation_names)}


def _both(tmp_path: Path, fx: dict, **kwargs) -> tuple[list[str], list[str]]:
    common = {k: v for k, v in kwargs.items() if k in ("add_inverse", "sep")}
    with warnings.catch_warnings(record=True) as in_memory:
        warnings.simplefilter("always")
        KnowledgeGraph.from_triples(fx["paths"], names=fx["names"], relation_names=fx["relation_names"],
                                    **common).save(tmp_path / "memory")
    with warnings.catch_warnings(record=True) as streamed:
        warnings.simplefilter("always")
        import_triples(fx["paths"], tmp_path / "stream", names=fx["names"], relation_names=fx["relation_names"],
                       **kwargs)
    return [str(w.message) for w in in_memory], [str(w.message) for w in streamed]


def _same_graph(a: Path, b: Path) -> None:
    ma, mb = (json.loads((d / "meta.json").read_text()) for d in (a, b))
    assert mb["metadata"].pop("import") == "streaming"
    assert ma == mb
    for name in ma["arrays"]:
        x, y = np.load(a / f"{name}.npy"), np.load(b / f"{name}.npy")
        np.testing.assert_array_equal(x, y, err_msg=name)
        assert x.dtype == y.dtype, name
    assert KnowledgeGraph.load(b, verify=True).fingerprint == ma["fingerprint"]


@pytest.mark.parametrize("kwargs", [{}, {"add_inverse": True},
                                    {"chunk_triples": 7, "range_edges": 11, "range_literals": 5},
                                    {"add_inverse": True, "chunk_triples": 3, "range_edges": 4, "range_literals": 2}])
def test_same_graph_as_from_triples_and_save(tmp_path, kwargs):
    fx = _fixture(tmp_path)
    in_memory, streamed = _both(tmp_path, fx, **kwargs)
    _same_graph(tmp_path / "memory", tmp_path / "stream")
    assert sorted(in_memory) == sorted(streamed)
    assert any("duplicate triples" in w for w in streamed)
    assert any("1 of 63 nodes have no name" in w and "'n7'" in w for w in streamed)
    assert any("2 named ids occur in no triple" in w for w in streamed)
    assert any("1 relations have no readable name" in w for w in streamed)
    kg = KnowledgeGraph.load(tmp_path / "stream")
    assert kg.label(kg.node_index("n3")) == "Name of n3" and kg.label(kg.node_index("n7")) == "n7"
    assert "r1" in kg and kg.label(kg.node_index("東京")) == "Name of 東京"


def test_without_name_files_and_another_separator(tmp_path):
    src = _write(tmp_path / "g.txt", ["a|likes|b", "b|likes|c", "c|knows|a", "a|likes|b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = KnowledgeGraph.from_triples(src, sep="|")
        import_triples(src, tmp_path / "out", sep="|")
    kg = KnowledgeGraph.load(tmp_path / "out")
    assert kg.fingerprint == expected.fingerprint and kg.num_edges == 3
    assert kg.label(kg.node_index("a")) == "a" and "nodes_without_name" not in kg.metadata


def test_bad_input_names_file_and_line_and_leaves_nothing(tmp_path):
    bad = _write(tmp_path / "bad.tsv", ["a\tr\tb", "", "a\tr"])
    with pytest.raises(GraphFormatError, match=r"bad\.tsv:3: expected 3"):
        import_triples(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    extra = _write(tmp_path / "extra.tsv", ["a\tr\tb\tc"])
    with pytest.raises(GraphFormatError, match="got more"):
        import_triples(extra, tmp_path / "out")
    names = _write(tmp_path / "names.tsv", ["a\tA", "b"])
    with pytest.raises(GraphFormatError, match=r"names\.tsv:2: expected 2"):
        import_triples(_write(tmp_path / "ok.tsv", ["a\tr\tb"]), tmp_path / "out", names=names)
    with pytest.raises(EmptyGraphError):
        import_triples(_write(tmp_path / "empty.tsv", ["", "  "]), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(FileNotFoundError):
        import_triples(tmp_path / "missing.tsv", tmp_path / "out")


def test_import_triples_api_cli_and_auto(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import kgattn.graph.stream_triples as stream_triples
    from kgattn.cli import app

    fx = _fixture(tmp_path, seed=3)
    src = _write(tmp_path / "one.tsv", [line for p in fx["paths"] for line in
                                        (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes())
                                        .decode().splitlines()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = KnowledgeGraph.from_triples(src, names=fx["names"]).fingerprint
        streamed = KnowledgeGraph.import_triples(src, tmp_path / "api", streaming=True, names=fx["names"])
        in_memory = KnowledgeGraph.import_triples(src, tmp_path / "api2", streaming=False, names=fx["names"])
    assert streamed.fingerprint == in_memory.fingerprint == expected
    assert streamed.metadata["import"] == "streaming" and "import" not in in_memory.metadata
    assert use_streaming_triples(src, "auto") is False
    monkeypatch.setattr(stream_triples, "STREAMING_THRESHOLD_BYTES", 1)
    assert use_streaming_triples(src, "auto") is True
    res = CliRunner().invoke(app, ["kg", "import", str(src), "--out", str(tmp_path / "cli"), "--names",
                                   str(fx["names"]), "--no-progress"])
    assert res.exit_code == 0 and "streaming import" in res.output, res.output
    assert KnowledgeGraph.load(tmp_path / "cli").fingerprint == expected
    bad = _write(tmp_path / "bad.tsv", ["a\tr\tb", "oops"])
    res = CliRunner().invoke(app, ["kg", "import", str(bad), "--out", str(tmp_path / "bad"), "--streaming"])
    assert res.exit_code == 2 and "bad.tsv:2: expected 3" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "bad").exists()


def test_a_large_tsv_path_in_a_kg_section_is_streamed_and_cached(tmp_path, monkeypatch):
    import kgattn.graph.stream_triples as stream_triples
    from kgattn.specs.graph import KGSpec, import_graph

    fx = _fixture(tmp_path, seed=5)
    src = fx["paths"][1]   # b.tsv.gz
    monkeypatch.setattr(stream_triples, "STREAMING_THRESHOLD_BYTES", 1)
    calls = []
    real = stream_triples.import_triples
    monkeypatch.setattr(stream_triples, "import_triples", lambda *a, **k: calls.append(a) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = KnowledgeGraph.from_triples(src, names=fx["names"], add_inverse=True).fingerprint
        spec = KGSpec.model_validate({"path": str(src), "format": "tsv", "names": str(fx["names"]),
                                      "add_inverse": True})
        first, again = import_graph(spec), import_graph(spec)
    assert first.fingerprint == again.fingerprint == expected
    assert len(calls) == 1 and first.metadata["import"] == "streaming"
