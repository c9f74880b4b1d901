"""The linker's parts behind the facade: registered candidate generators, detector and
disambiguator used alone, scikit-learn-style parameters, persistence (old format, damaged
files), the spaCy component's use of public methods only, the NER merge, and the character budget."""
from __future__ import annotations

import ast
import bisect
import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgattn.errors import ConfigError, SavedFileError
from kgattn.linking import EntityLinker, budget_end
from kgattn.linking.candidates import AliasPrior, candidate_generators
from kgattn.linking.coarse import NER_TO_COARSE
from kgattn.linking.text import tokenize
from tests.test_linking import make_kg


@pytest.fixture(scope="module")
def kg():
    return make_kg()


@pytest.fixture(scope="module")
def linker(kg):
    return EntityLinker(kg, disambiguate="prior", cache=False)


@candidate_generators.register("test_labels_only")
def _labels_only(kg, table, *, candidate_pool, node_types):
    """Only nodes whose *label* is the matched name (aliases propose nothing)."""
    base = AliasPrior(kg, table, candidate_pool=candidate_pool, node_types=node_types)
    return lambda keys: [c for c in base(keys) if kg.label(c[0]).casefold() in {table.keys[k] for k in keys}]


# ---------------------------------------------------------------------- candidate generators
def test_registered_candidate_generator_by_name(kg, linker, tmp_path):
    text = "The bank of the river in New York City."
    # whole_names off: "New York" before "City" would otherwise be a piece of a longer name.
    custom = EntityLinker(kg, disambiguate="prior", cache=False, candidates="test_labels_only",
                          rules={"whole_names": False})
    plain = {m.text: kg.node_id(m.node) for m in linker.link(text)}
    found = {m.text: [kg.node_id(c.node) for c in m.candidates] for m in custom.link(text)}
    # "bank" is the label of bank.n.01 only (an alias of bank.n.02); "New York City" is an alias only,
    # so the generator proposes nothing for it and the shorter label "New York" matches instead.
    assert found == {"bank": ["bank.n.01"], "river": ["river.n.01"], "New York": ["new_york"]}
    assert "New York City" in plain
    custom.save(tmp_path / "lk")
    assert json.loads((tmp_path / "lk" / "config.json").read_text())["candidates"] == "test_labels_only"
    assert EntityLinker.load(tmp_path / "lk", kg).link(text) == custom.link(text)
    with pytest.raises(ConfigError, match=r"candidates='nope'.*alias_prior"):
        EntityLinker(kg, candidates="nope")


def test_parts_used_alone_equal_the_facade(kg, linker):
    texts = ["Bush met Paris at the bank of the river in New York.", "", "UK and France"]
    spans = linker.detector.detect_batch(texts)
    assert [[(s.start, s.end) for s in ss] for ss in spans] == [[(m.start, m.end) for m in ms]
                                                                 for ms in map(linker.link, texts)]
    assert linker.disambiguator(texts, spans) == [linker.link(t) for t in texts]


# ---------------------------------------------------------------------- parameters
def test_get_params_round_trip(kg):
    lk = EntityLinker(kg, disambiguate="prior", top_k=3, nil_threshold=0.1, node_types=["noun."],
                      stop_words=["the", "of"], cache=False)
    params = lk.get_params()
    assert "kg" not in params and params["top_k"] == 3 and params["node_types"] == ["noun."]
    assert params["nlp"] is None and params["candidates"] == "alias_prior"
    json.dumps(params)  # JSON-ready
    again = EntityLinker(kg, **json.loads(json.dumps(params)))
    assert again.get_params() == params
    text = "Paris by the bank of the river"
    assert again.link(text) == lk.link(text)
    lk2 = EntityLinker(kg, disambiguate="prior", cache=False)
    assert lk2.set_params(top_k=1) is lk2 and lk2.top_k == 1
    assert all(len(m.candidates) == 1 for m in lk2.link(text))
    with pytest.raises(ConfigError, match=r"no parameter\(s\) \['topk'\]"):
        lk2.set_params(topk=2)
    with pytest.raises(ConfigError, match="weights"):
        EntityLinker(kg, weights={"prior": 1.0, "nonsense": 2.0})


# ---------------------------------------------------------------------- persistence
def test_old_format_loads(kg, linker, tmp_path):
    d = linker.save(tmp_path / "lk")
    # Rewrite both manifests as kgattn wrote them before kgattn.persistence ("format" keys).
    cfg = json.loads((d / "config.json").read_text())
    cfg.pop("kind"), cfg.pop("version"), cfg.pop("candidates")
    (d / "config.json").write_text(json.dumps({"format": "kgattn-entity-linker", "version": 1, **cfg}))
    meta = json.loads((d / "alias_table" / "table.json").read_text())
    meta.pop("kind"), meta.pop("version")
    (d / "alias_table" / "table.json").write_text(json.dumps({"format": "kgattn-alias-table", "version": 1, **meta}))
    loaded = EntityLinker.load(d, kg)
    text = "Bush met Paris at the bank of the river in New York."
    assert loaded.link(text) == linker.link(text) and loaded.candidates == "alias_prior"


@pytest.mark.parametrize("damage, file", [
    ("truncate_config", "config.json"), ("other_kind", "config.json"), ("newer_version", "config.json"),
    ("truncate_table", "table.json"), ("delete_arrays", "arrays.safetensors"),
    ("truncate_arrays", "arrays.safetensors"), ("garble_config", "config.json")])
def test_damaged_files_name_the_file(kg, linker, tmp_path, damage, file):
    d = linker.save(tmp_path / "lk")
    cfg, table = d / "config.json", d / "alias_table" / "table.json"
    arrays = d / "alias_table" / "arrays.safetensors"
    if damage == "truncate_config":
        cfg.write_text(cfg.read_text()[:40])
    elif damage == "other_kind":
        cfg.write_text(json.dumps({"kind": "kgattn-graph", "version": 1}))
    elif damage == "newer_version":
        cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "version": 99}))
    elif damage == "garble_config":
        cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "unknown_option": 1}))
    elif damage == "truncate_table":
        table.write_text(table.read_text()[:50])
    elif damage == "delete_arrays":
        arrays.unlink()
    else:
        arrays.write_bytes(arrays.read_bytes()[:30])
    with pytest.raises(SavedFileError, match=file.replace(".", r"\.")):
        EntityLinker.load(d, kg)


def test_spacy_component_calls_public_methods_only():
    import kgattn.linking.spacy_component as component

    tree = ast.parse(Path(component.__file__).read_text(encoding="utf-8"))

    def is_linker(node) -> bool:  # `linker` or `self.linker`
        return (isinstance(node, ast.Name) and node.id == "linker") or (
            isinstance(node, ast.Attribute) and node.attr == "linker")

    used = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and is_linker(n.value)]
    assert "link_with_ner" in used
    assert [a for a in used if a.startswith("_")] == []


# ---------------------------------------------------------------------- NER merge
def _merge_reference(detector, toks, chosen, ents):
    """The merge as first written (O(E*M)): the oracle for the bisection version."""
    table, out = detector.table, list(chosen)
    for s, e, label in ents:
        if label not in NER_TO_COARSE:
            continue
        first = bisect.bisect_left(toks.start, s)
        stop = bisect.bisect_right(toks.start, e - 1)
        while stop > first and toks.end[stop - 1] > e:
            stop -= 1
        if stop <= first:
            continue
        tries = [first, first + 1] if stop - first > 1 and toks.norm[first] == "the" else [first]
        keys = []
        for a in tries:
            pieces = toks.norm[a:stop]
            for v in [pieces, [detector.lemmatizer(p) for p in pieces]]:
                k = table.lookup(v)
                if k is not None and k not in keys:
                    keys.append(k)
            if keys:
                first = a
                break
        overlapping = [c for c in out if c[0] < stop and first < c[1]]
        if keys:
            out = [c for c in out if c not in overlapping] + [(first, stop, keys, label)]
        elif not overlapping:
            out.append((first, stop, [], label))
        else:
            out = [(c[0], c[1], c[2], label if c[1] == stop and c[3] is None else c[3]) if c in overlapping
                   else c for c in out]
    return sorted(out, key=lambda c: c[0])


WORDS = ["the", "Who", "bank", "of", "river", "New", "York", "City", "UK", "Paris", "met", "Bush", "George", "x"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14), st.randoms(use_true_random=False))
def test_ner_merge_matches_reference(linker, words, rnd):
    text = " ".join(words)
    toks = tokenize(text)
    det = linker.detector
    chosen, _ = det._gazetteer(text, toks)
    ents = []
    for _ in range(rnd.randint(0, 4)):  # possibly overlapping, in any order
        a, b = sorted(rnd.sample(range(len(toks) + 1), 2)) if len(toks) > 1 else (0, 1)
        ents.append((toks.start[a], toks.end[b - 1], rnd.choice(["PERSON", "ORG", "DATE", "GPE"])))
    assert det._merge_ner(toks, list(chosen), ents) == _merge_reference(det, toks, list(chosen), ents)


def test_ner_merge_linear(linker):
    unit = "George Bush met The Who near the bank of the river in New York City and Paris. "
    det = linker.detector

    def run(n):
        text = unit * n
        ents = [(i * len(unit) + a, i * len(unit) + b, lab) for i in range(n)
                for a, b, lab in ((0, 11, "PERSON"), (16, 23, "ORG"), (57, 70, "GPE"))]
        t = time.process_time()
        spans = det.detect(text, ents)
        return time.process_time() - t, len(spans)

    run(50)
    t_small, n_small = run(1_000)
    t_big, n_big = run(10_000)
    assert n_big == 10 * n_small
    assert t_big < 30 * max(t_small, 1e-2)  # linear (10x text ~ 10x time), not quadratic (100x)


# ---------------------------------------------------------------------- character budget
def test_budget_end():
    assert budget_end("short text", 100) == 10
    assert budget_end("alpha beta gamma", 8) == 6        # "alpha " : "beta" would be split
    assert budget_end("alpha beta gamma", 10) == 10      # "beta" ends exactly at the budget
    assert budget_end("alpha beta gamma", 11) == 11
    assert budget_end("東京大阪京都", 3) == 3              # no whitespace: hard cut
    assert budget_end("a\tb\nc", 4) == 4 and budget_end("abc def", 0) == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS + [" ", "\n", ", ", ". ", "東京"]), max_size=30), st.integers(0, 120))
def test_budget_equals_linking_the_prefix(linker, parts, max_chars):
    text = " ".join(parts)
    end = budget_end(text, max_chars)
    assert end <= max(max_chars, 0) or end == len(text) <= max_chars
    ms = linker.link(text, max_chars=max_chars)
    assert ms == linker.link(text[:end])
    assert all(m.end <= end and text[m.start:m.end] == m.text for m in ms)
    assert list(linker.link_batch([text, text], max_chars=max_chars)) == [ms, ms]


def test_budget_with_ner_spans_and_bad_values(kg, linker):
    text = "Bush met Paris in the UK and later New York."
    ents = [(0, 4, "PERSON"), (35, 43, "GPE")]
    (cut,) = linker.link_with_ner([text], [ents], max_chars=20)
    assert cut == linker.link_with_ner([text[:budget_end(text, 20)]], [ents[:1]])[0]
    assert [m.text for m in cut] == ["Bush", "Paris"]
    for bad in (-1, 2.5, "10", True):
        with pytest.raises(ConfigError, match="max_chars"):
            linker.link(text, max_chars=bad)
    with pytest.raises(ConfigError, match="2 texts but 1"):
        linker.link_with_ner([text, text], [ents])


def test_two_megabyte_text_with_budget(kg, linker):
    rnd = random.Random(0)
    words = ["bank", "river", "Paris", "New York City", "money", "the", "of", "and", "UK", "mice", "grass"]
    text = " ".join(rnd.choice(words) for _ in range(400_000))
    assert len(text) > 2_000_000
    t = time.perf_counter()
    ms = linker.link(text, max_chars=2_000)
    elapsed = time.perf_counter() - t
    assert ms and ms == linker.link(text[:budget_end(text, 2_000)])
    assert elapsed < 1.0, elapsed  # the budget, not the 2 MB, sets the cost
