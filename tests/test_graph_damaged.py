"""Damaged graph files and saved graph directories: one kgattn error naming the file, no traceback."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kgattn import cli
from kgattn.errors import GraphFormatError, SavedFileError
from kgattn.graph import GraphWarning, KnowledgeGraph

pytestmark = pytest.mark.filterwarnings("ignore::kgattn.graph.GraphWarning")
EX = "http://ex.org/"
TTL = (f"@prefix ex: <{EX}> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
       + "".join(f'ex:n{i} rdfs:label "node {i}" ; ex:next ex:n{i + 1} .\n' for i in range(400)))


@pytest.fixture
def saved(tmp_path):
    kg = KnowledgeGraph.from_triples(_tsv(tmp_path / "g.tsv"))
    return kg, kg.save(tmp_path / "saved")


def _tsv(path):
    path.write_text("a\tr\tb\nb\tr\tc\nc\ts\ta\nd\tr\ta\n", encoding="utf-8")
    return path


def _truncate(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# ---------------------------------------------------------------------- saved graph directories
def test_truncated_npy_names_the_file(saved):
    _, d = saved
    _truncate(d / "adj_nbr.npy", 0.8)
    for mmap in (True, False):
        with pytest.raises(SavedFileError, match="damaged or truncated") as err:
            KnowledgeGraph.load(d, mmap=mmap)
        assert str(d / "adj_nbr.npy") in str(err.value)


def test_npy_with_a_damaged_header_names_the_file(saved):
    _, d = saved
    (d / "src.npy").write_bytes(b"not an array at all")
    with pytest.raises(SavedFileError) as err:
        KnowledgeGraph.load(d)
    assert str(d / "src.npy") in str(err.value)


def test_missing_manifest_names_it(saved):
    _, d = saved
    (d / "meta.json").unlink()
    with pytest.raises(SavedFileError, match="meta.json is missing") as err:
        KnowledgeGraph.load(d)
    assert str(d / "meta.json") in str(err.value)


def test_directory_that_is_not_a_saved_graph(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(SavedFileError, match="not a saved knowledge graph"):
        KnowledgeGraph.load(other)
    (other / "meta.json").write_text(json.dumps({"kind": "kgattn-linker", "version": 1}), encoding="utf-8")
    with pytest.raises(SavedFileError, match="not a kgattn-graph") as err:
        KnowledgeGraph.load(other)
    assert str(other / "meta.json") in str(err.value)
    with pytest.raises(SavedFileError, match="not a saved knowledge graph"):
        KnowledgeGraph.load(other / "notes.txt")  # a file, not a directory


def test_damaged_manifest_names_it(saved):
    _, d = saved
    text = (d / "meta.json").read_text(encoding="utf-8")
    (d / "meta.json").write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(SavedFileError, match="not valid JSON") as err:
        KnowledgeGraph.load(d)
    assert str(d / "meta.json") in str(err.value)


@pytest.mark.parametrize("field, value, match", [
    ("arrays", ["../../outside"], "unknown array names"),
    ("relation_names", "r", "'relation_names' must be a list of strings"),
    ("num_nodes", -1, "'num_nodes' must be a non-negative integer"),
    ("num_edges", 99, "the arrays hold 4 nodes / 4 edges, meta.json says 4 / 99"),
])
def test_hostile_manifest_fields_are_refused(saved, field, value, match):
    _, d = saved
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    meta[field] = value
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(SavedFileError, match=match):
        KnowledgeGraph.load(d)


def test_array_missing_from_the_directory_names_it(saved):
    _, d = saved
    (d / "nbr.npy").unlink()
    with pytest.raises(SavedFileError, match="missing") as err:
        KnowledgeGraph.load(d)
    assert str(d / "nbr.npy") in str(err.value)


@pytest.mark.parametrize("name, index, value", [
    ("src", 0, 99), ("dst", 2, 4), ("dst", 1, -1), ("rel", 0, 2), ("adj_nbr", 3, 1000), ("adj_rel", 0, -5),
    ("nbr", 0, 4),
])
def test_out_of_range_index_is_caught_on_every_load(saved, name, index, value):
    _, d = saved
    arr = np.load(d / f"{name}.npy")
    arr[index] = value
    np.save(d / f"{name}.npy", arr)
    for mmap in (True, False):
        with pytest.raises(SavedFileError, match=f"entry {index} is {value}, outside") as err:
            KnowledgeGraph.load(d, mmap=mmap)  # default load: no verify=True needed
        assert str(d / f"{name}.npy") in str(err.value)


@pytest.mark.parametrize("name, edit, match", [
    ("out_ptr", lambda a: a.__setitem__(-1, a[-1] + 1), "expected 5 entries from 0 to 4"),
    ("adj_ptr", lambda a: a.__setitem__(2, a[1] - 1), "decreases"),
    ("ids.offsets", lambda a: a.__setitem__(0, 1), "from 0"),
])
def test_damaged_pointer_arrays_are_caught(saved, name, edit, match):
    _, d = saved
    arr = np.load(d / f"{name}.npy")
    edit(arr)
    np.save(d / f"{name}.npy", arr)
    with pytest.raises(SavedFileError, match=match) as err:
        KnowledgeGraph.load(d)
    assert str(d / f"{name}.npy") in str(err.value)


def test_wrong_dtype_is_caught(saved):
    _, d = saved
    np.save(d / "dst.npy", np.load(d / "dst.npy").astype(np.float64))
    with pytest.raises(SavedFileError, match="signed integer array") as err:
        KnowledgeGraph.load(d)
    assert str(d / "dst.npy") in str(err.value)


def test_legacy_manifest_still_loads(saved):
    kg, d = saved
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    meta["format"] = meta.pop("kind")  # a graph saved before the persistence layer
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    back = KnowledgeGraph.load(d, verify=True)
    assert back.fingerprint == kg.fingerprint and back.num_edges == kg.num_edges


def test_manifest_written_through_the_persistence_layer(saved):
    _, d = saved
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "kgattn-graph" and meta["version"] == 2
    assert not list(d.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_save_never_overwrites_another_artefact(tmp_path, saved):
    kg, _ = saved
    other = tmp_path / "linker"
    other.mkdir()
    (other / "meta.json").write_text(json.dumps({"kind": "kgattn-linker", "version": 1}), encoding="utf-8")
    with pytest.raises(SavedFileError, match="holds another artefact"):
        kg.save(other)
    assert json.loads((other / "meta.json").read_text(encoding="utf-8"))["kind"] == "kgattn-linker"


def test_saving_over_a_saved_graph_replaces_it(tmp_path, saved):
    kg, d = saved
    kg2 = KnowledgeGraph.from_arrays(["x", "y"], [0], [1], [0], ["p"])
    kg2.save(d)
    back = KnowledgeGraph.load(d, verify=True)
    assert back.fingerprint == kg2.fingerprint != kg.fingerprint


# ---------------------------------------------------------------------- truncated gzip graph files
@pytest.mark.parametrize("name, text, engine", [
    ("g.ttl.gz", TTL, "auto"), ("g.ttl.gz", TTL, "rdflib"),
    ("g.nt.gz", "".join(f"<{EX}n{i}> <{EX}next> <{EX}n{i + 1}> .\n" for i in range(400)), "auto"),
    ("g.jsonld.gz", json.dumps({"@graph": [{"@id": f"{EX}n{i}", f"{EX}next": {"@id": f"{EX}n{i + 1}"}}
                                            for i in range(400)]}), "auto"),
])
def test_truncated_gzip_rdf_names_the_file(tmp_path, name, text, engine):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()))
    assert KnowledgeGraph.from_rdf(path, engine=engine).num_edges == 400
    _truncate(path)
    with pytest.raises(GraphFormatError, match="truncated or damaged gzip") as err:
        KnowledgeGraph.from_rdf(path, engine=engine)
    assert str(path) in str(err.value)


def test_truncated_gzip_tsv_names_the_file(tmp_path):
    path = tmp_path / "g.tsv.gz"
    path.write_bytes(gzip.compress("".join(f"n{i}\tnext\tn{i + 1}\n" for i in range(2000)).encode()))
    _truncate(path)
    with pytest.raises(GraphFormatError, match="truncated or damaged") as err:
        KnowledgeGraph.from_triples(path)
    assert str(path) in str(err.value)


def test_not_gzip_at_all_names_the_file(tmp_path):
    path = tmp_path / "g.ttl.gz"
    path.write_bytes(TTL.encode())
    with pytest.raises(GraphFormatError, match="gzip") as err:
        KnowledgeGraph.from_rdf(path)
    assert str(path) in str(err.value)


def test_cli_prints_one_error_line_for_a_truncated_gzip(tmp_path):
    path = tmp_path / "g.ttl.gz"
    path.write_bytes(gzip.compress(TTL.encode()))
    _truncate(path)
    result = CliRunner().invoke(cli.app, ["kg", "info", str(path)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert "Aborted" not in result.output and "Traceback" not in result.output


def test_cli_prints_one_error_line_for_a_damaged_saved_graph(saved):
    _, d = saved
    _truncate(d / "src.npy", 0.9)
    result = CliRunner().invoke(cli.app, ["kg", "info", str(d)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and str(d / "src.npy") in result.output


def test_graph_warning_is_the_store_warning():
    from kgattn.graph import store

    assert store.GraphWarning is GraphWarning


def test_check_false_skips_only_the_range_check(saved):
    _, d = saved
    arr = np.load(d / "dst.npy")
    arr[0] = 99
    np.save(d / "dst.npy", arr)
    assert KnowledgeGraph.load(d, check=False).num_edges == 4  # the caller said it trusts the directory
    with pytest.raises(SavedFileError, match="dst.npy"):
        KnowledgeGraph.load(d, check=False, verify=True)  # verify implies the checks
    (d / "src.npy").write_bytes(b"junk")
    with pytest.raises(SavedFileError, match="src.npy"):  # files are still read safely
        KnowledgeGraph.load(d, check=False)


def test_damaged_cached_graph_is_rebuilt(tmp_path, monkeypatch):
    from kgattn.graph.cache import cached_graph

    monkeypatch.setenv("KGATTN_CACHE", str(tmp_path / "cache"))
    source = _tsv(tmp_path / "g.tsv")
    built = []

    def build():
        built.append(1)
        return KnowledgeGraph.from_triples(source)

    first = cached_graph("t", [source], {}, build)
    assert cached_graph("t", [source], {}, build).fingerprint == first.fingerprint and len(built) == 1
    [entry] = (tmp_path / "cache" / "graphs").glob("t-*")
    _truncate(entry / "dst.npy", 0.7)
    with pytest.warns(GraphWarning, match="damaged cached graph") as rec:
        again = cached_graph("t", [source], {}, build)
    assert str(entry / "dst.npy") in str(rec[0].message)
    assert again.fingerprint == first.fingerprint and len(built) == 2
    assert KnowledgeGraph.load(entry, verify=True).fingerprint == first.fingerprint  # the entry was replaced


def test_range_checks_run_once_per_unchanged_files(saved, monkeypatch):
    """A directory that passed the checks is remembered (a stamp in the cache): the same files load
    without them; a rewritten file is checked again, and files written seconds ago are not remembered."""
    import os
    import time

    from kgattn.graph import saved as saved_module

    _, d = saved
    calls = []
    real = saved_module.check_arrays
    monkeypatch.setattr(saved_module, "check_arrays", lambda *a: (calls.append(1), real(*a)))
    KnowledgeGraph.load(d)
    KnowledgeGraph.load(d)
    assert len(calls) == 2  # just written: too fresh to remember
    old = time.time() - 60
    for f in d.glob("*.npy"):
        os.utime(f, (old, old))
    KnowledgeGraph.load(d)
    KnowledgeGraph.load(d)
    KnowledgeGraph.load(d, mmap=False)
    assert len(calls) == 3  # checked once, then remembered
    arr = np.load(d / "dst.npy")
    arr[0] = 99
    np.save(d / "dst.npy", arr)  # same size, new time
    with pytest.raises(SavedFileError, match="entry 0 is 99, outside"):
        KnowledgeGraph.load(d)
    assert len(calls) == 4
    assert not any(p.name.startswith("stamp") for p in d.iterdir())  # nothing written into the graph


def test_checked_load_releases_the_pages_it_read_and_keeps_the_data(tmp_path):
    """The range checks read every page of the index arrays; those pages are unmapped again
    (release_pages) so a checked load of a large graph does not stay resident, and the arrays
    still read back exactly (the pages come back from the file)."""
    import numpy as np

    from kgattn.graph import KnowledgeGraph
    from kgattn.graph.saved import read_graph, release_pages

    kg = KnowledgeGraph.from_arrays([f"n{i}" for i in range(50)], list(range(49)), list(range(1, 50)),
                                    [i % 3 for i in range(49)], ["a", "b", "c"], add_inverse=True)
    kg.save(tmp_path / "g")
    arrays, _ = read_graph(tmp_path / "g", mmap=True, check=True)
    for name, arr in kg._arrays().items():
        np.testing.assert_array_equal(arrays[name], arr, err_msg=name)
    in_memory = np.arange(5)
    release_pages(in_memory)   # not a mapping: nothing happens
    assert in_memory.tolist() == [0, 1, 2, 3, 4]
