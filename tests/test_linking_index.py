"""The memory-mapped alias index (``EntityLinker(index="disk")``): identical mentions to the
in-RAM automaton, persistence, damaged files, and the trie vocabulary of the lemmatiser."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgattn.errors import ConfigError, FingerprintMismatchError, SavedFileError
from kgattn.graph import KnowledgeGraph
from kgattn.linking import EntityLinker
from kgattn.linking.alias_index import DiskAliasIndex
from kgattn.linking.gazetteer import AliasTable
from tests.test_linking import PIECES, make_kg

TEXTS = ["The banks of the river in New York City and the UK, not the uk or who.",
         "Two mice ran from NEW YORK to York.", "Who saw The Who at the bank?", "He met Bush.",
         "Ａ café: Café de Flore\u0301 near 東京 🙂\x07, CAFÉ DE FLORE; cafe\u0301 de flore, tokyo\x00PARIS", "", "?!"]


@pytest.fixture(scope="module")
def kg():
    return make_kg()


@pytest.fixture(scope="module")
def pair(kg):
    return (EntityLinker(kg, disambiguate="prior", cache=False),
            EntityLinker(kg, disambiguate="prior", cache=False, index="disk"))


def test_disk_index_links_identically(kg, pair):
    ram, disk = pair
    assert isinstance(disk.table, DiskAliasIndex) and isinstance(ram.table, AliasTable)
    assert [disk.link(t) for t in TEXTS] == [ram.link(t) for t in TEXTS]
    nouns = [EntityLinker(kg, disambiguate="prior", cache=False, node_types=["noun."], index=i) for i in
             ("automaton", "disk")]
    assert [nouns[0].link(t) for t in TEXTS] == [nouns[1].link(t) for t in TEXTS]
    assert list(disk.link_batch(TEXTS * 5, batch_size=4, n_process=2)) == [ram.link(t) for t in TEXTS * 5]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(PIECES + ["city", "of", "light", "George", "shrub", " "]),
                          st.text(max_size=4)), max_size=24))
def test_disk_find_equals_automaton(pair, parts):
    ram, disk = pair
    text = "".join(parts)
    assert disk.link(text) == ram.link(text)


def test_index_arrays_follow_the_trie(kg, pair):
    ram, disk = pair
    t, d = ram.table, disk.table
    assert d.num_keys == t.num_keys and sorted(d.keys) == t.keys
    for key in ("paris", "new york city", "the who", "bank"):
        assert t.candidates(t.key_index[key], 16) == d.candidates(d.lookup(key.split(" ")), 16)
        assert bool(t.matchable[t.key_index[key]]) == bool(d.matchable[d.lookup(key.split(" "))])
    assert d.lookup(["no", "such", "name"]) is None
    assert "york" in d.vocabulary() and "yorks" not in d.vocabulary()
    assert isinstance(d.nodes, np.memmap)  # mapped, not read into memory


def test_odd_keys_round_trip(tmp_path):
    G = nx.MultiDiGraph()
    names = ["a\x00b", "東京 タワー", "e\u0301clair", "x" * 300, "ß straße", "🙂 face"]
    for i, name in enumerate(names):
        G.add_node(f"n{i}", label=name)
    G.add_edges_from([(f"n{i}", f"n{i + 1}", {"relation": "r"}) for i in range(len(names) - 1)])
    kg = KnowledgeGraph.from_networkx(G)
    ram = EntityLinker(kg, disambiguate="prior", cache=False)
    disk = EntityLinker(kg, disambiguate="prior", index="disk")  # through the (test-isolated) cache
    text = " ".join(names) + " and again: " + " | ".join(n.upper() for n in names)
    assert disk.link(text) == ram.link(text) and len(ram.link(text)) >= len(names)
    again = EntityLinker(kg, disambiguate="prior", index="disk")  # opened from the cache
    assert again.table.directory == disk.table.directory and again.link(text) == ram.link(text)


def test_save_load_disk_linker(kg, pair, tmp_path):
    _, disk = pair
    d = disk.save(tmp_path / "lk")
    assert (d / "alias_index" / "keys.marisa").is_file() and not (d / "alias_table").exists()
    assert {p.suffix for p in d.rglob("*") if p.is_file()} <= {".json", ".npy", ".marisa"}
    loaded = EntityLinker.load(d, kg)
    assert loaded.index == "disk" and loaded.get_config() == disk.get_config()
    assert [loaded.link(t) for t in TEXTS] == [disk.link(t) for t in TEXTS]
    other = KnowledgeGraph.from_networkx(nx.MultiDiGraph([("a", "b", {"relation": "r"})]))
    with pytest.raises(FingerprintMismatchError):
        DiskAliasIndex.load(d / "alias_index", other)


@pytest.mark.parametrize("name", ["index.json", "keys.marisa", "nodes.npy", "ptr.npy"])
def test_damaged_index_names_the_file(kg, pair, tmp_path, name):
    d = pair[1].save(tmp_path / "lk") / "alias_index"
    f = d / name
    f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])
    with pytest.raises(SavedFileError, match=name.replace(".", r"\.")):
        DiskAliasIndex.load(d, kg)
    f.unlink()
    with pytest.raises(SavedFileError, match=name.replace(".", r"\.")):
        DiskAliasIndex.load(d, kg)


def test_bad_index_value(kg):
    with pytest.raises(ConfigError, match="index must be one of"):
        EntityLinker(kg, index="ram")


def _tricky_kg() -> KnowledgeGraph:
    """Names that exercise the block-wise decoding and folding of the bounded-memory build."""
    names = {
        "a": ["Café de Flore", "cafe\u0301 de flore", "CAFÉ_DE_FLORE", "Ａ café"],
        "b": ["Straße", "STRASSE", "ﬀ ligature", "½ mile"],
        "c": ["line\nfeed name", "tab\tname", "x\x1cy"],  # a line feed sends its block name by name
        "d": ["\u0301 starts with a mark", "İstanbul", "ΣΊΣΥΦΟΣ"],
        "e": ["nul\x00inside", "esc\x01ape", "New York", "new york"],
        "f": ["New York", "The Who", "who", "!!", ""],
        "g": [],
    }
    G = nx.MultiDiGraph()
    for node, ns in names.items():
        G.add_node(node, label=ns[0] if ns else None, aliases=ns[1:])
    for u, v in [("a", "b"), ("b", "c"), ("e", "f"), ("f", "a"), ("f", "b")]:
        G.add_edge(u, v, relation="related")
    return KnowledgeGraph.from_networkx(G)


@pytest.mark.parametrize("make", [make_kg, _tricky_kg])
@pytest.mark.parametrize("block_names", [1, 3, 1_000_000])
def test_bounded_memory_build_equals_the_table(tmp_path, make, block_names):
    """build_index (blocks, spill files, trie ids) writes the arrays of from_table(AliasTable) exactly."""
    from kgattn.linking.alias_index_build import build_index

    kg = make()
    counts = {"New York": {kg.node_index(kg.node_id(0)): 3.0}} if make is make_kg else None
    table = AliasTable.build(kg, cache=False, counts=counts)
    options, stop, counts_norm, _ = AliasTable.plan(kg, counts=counts)
    ref = DiskAliasIndex.from_table(table, tmp_path / "ref")
    built = DiskAliasIndex.load(build_index(kg, tmp_path / "built", options, stop, counts_norm,
                                            block_names=block_names), kg)
    assert list(built.keys) == list(ref.keys) and len(built.keys) == table.num_keys
    for name in ("ptr", "nodes", "prior", "cased", "matchable"):
        assert np.array_equal(np.asarray(getattr(built, name)), np.asarray(getattr(ref, name))), name
    assert all(p in built.vocabulary() for p in table.vocabulary())
    assert not any(p in built.vocabulary() for p in ("zzqx", "no-such-piece", "", "new york"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["built", "ref"]  # spill files removed


def test_format_1_index_still_opens(tmp_path, kg):
    """An index written before piece hashes (a pieces trie, manifest version 1) opens and links the same."""
    import json

    from kgattn.linking.alias_index_build import escape, trie_of

    d = DiskAliasIndex.from_table(AliasTable.build(kg, cache=False), tmp_path / "v1").directory
    trie_of([escape(p) for p in AliasTable.build(kg, cache=False).vocabulary()]).save(str(d / "pieces.marisa"))
    (d / "pieces.npy").unlink()
    meta = json.loads((d / "index.json").read_text())
    (d / "index.json").write_text(json.dumps({**meta, "version": 1}))
    old, new = DiskAliasIndex.load(d, kg), DiskAliasIndex.build(kg, cache=False)
    assert all(p in old.vocabulary() for p in ("bank", "york", "city")) and "zzqx" not in old.vocabulary()
    assert [old.find(t.lower().split()) for t in TEXTS] == [new.find(t.lower().split()) for t in TEXTS]
    copied = DiskAliasIndex.load(old.save(tmp_path / "copy"), kg)
    assert (tmp_path / "copy" / "pieces.marisa").is_file() and "bank" in copied.vocabulary()
