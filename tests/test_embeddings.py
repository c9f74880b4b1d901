"""Backbone resolution, the text encoder and the node-embedding cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kgattn.backbone import backbone_fingerprint, resolve_backbone
from kgattn.embeddings import NodeEmbeddings, TextEncoder, check_template, node_text
from kgattn.errors import BackboneError, ConfigError


class _ToyGraph:
    """The three lookups NodeEmbeddings needs, without building a real store."""

    fingerprint = "toy-graph-1"
    num_nodes = 5

    def label(self, i):
        return ["dog", "cat", "bank", "river", "money"][i]

    def description(self, i):
        return "a domestic animal" if i == 0 else ""


def test_resolve_minilm_alias_is_a_local_directory(minilm_path):
    assert resolve_backbone(None) == minilm_path
    assert resolve_backbone("sentence-transformers/all-MiniLM-L6-v2") == minilm_path


def test_missing_local_backbone_path_is_a_clear_error(tmp_path):
    with pytest.raises(BackboneError, match="does not exist"):
        resolve_backbone(str(tmp_path / "nope" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackboneError, match="config.json"):
        resolve_backbone(str(tmp_path / "empty"))


def test_backbone_fingerprint_distinguishes_backbones(tiny_backbone, minilm_path):
    assert backbone_fingerprint(tiny_backbone) != backbone_fingerprint(minilm_path)
    assert backbone_fingerprint(tiny_backbone) == backbone_fingerprint(tiny_backbone)


def test_text_encoder_rows_are_unit_norm_and_order_independent(tiny_backbone):
    enc = TextEncoder(tiny_backbone)
    texts = ["a", "a much longer sentence about rivers and banks", "money"]
    out = enc.encode(texts)
    assert out.shape == (3, 32) and out.dtype == torch.float32
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    # Length sorting inside encode must not permute rows.
    again = enc.encode(texts[::-1])
    torch.testing.assert_close(again, out.flip(0), atol=1e-5, rtol=1e-5)
    assert enc.encode([]).shape == (0, 32)


def test_node_text_drops_separator_without_description():
    kg = _ToyGraph()
    assert node_text(kg, 0) == "dog: a domestic animal"
    assert node_text(kg, 1) == "cat"
    assert node_text(kg, 0, "{label}") == "dog"


@pytest.mark.parametrize("template, message", [
    ("{label} {gloss}", r"unknown field\(s\): gloss"),
    ("no fields", "at least one"),
    ("{label", "not a valid format string"),
])
def test_bad_node_template_is_rejected(template, message):
    with pytest.raises(ConfigError, match=message):
        check_template(template)


def test_node_embeddings_compute_once_and_persist(tiny_backbone, tmp_path, monkeypatch):
    kg = _ToyGraph()
    enc = TextEncoder(tiny_backbone)
    calls = []
    original = enc.encode
    monkeypatch.setattr(enc, "encode", lambda texts: calls.append(list(texts)) or original(texts))
    cache = NodeEmbeddings(kg, enc, directory=tmp_path / "emb")
    rows = cache(torch.tensor([2, 0, 2]))
    assert rows.shape == (3, 32)
    torch.testing.assert_close(rows[0], rows[2])
    torch.testing.assert_close(rows[1], original(["dog: a domestic animal"])[0], atol=1e-5, rtol=1e-5)
    assert calls == [["dog: a domestic animal", "bank"]]  # each missing node encoded once
    cache([0, 2])
    assert len(calls) == 1  # nothing recomputed
    assert cache.num_cached() == 2
    # A fresh object over the same folder reads the rows back from disk.
    reopened = NodeEmbeddings(kg, enc, directory=tmp_path / "emb")
    torch.testing.assert_close(reopened([2, 0]), rows[:2])
    assert reopened.num_cached() == 2
    assert np.load(tmp_path / "emb" / "done.npy").sum() == 2


def test_node_embeddings_key_depends_on_graph_encoder_and_template(tiny_backbone, minilm_path):
    kg = _ToyGraph()
    a = NodeEmbeddings(kg, TextEncoder(tiny_backbone)).key
    assert a == NodeEmbeddings(kg, TextEncoder(tiny_backbone)).key
    assert a != NodeEmbeddings(kg, TextEncoder(minilm_path)).key
    assert a != NodeEmbeddings(kg, TextEncoder(tiny_backbone), template="{label}").key


def test_node_text_relations_field_names_the_nodes_relations():
    """``{relations}``: the node's edges' relation names, most frequent first, edges into it as
    ``inverse of``; a node without edges or description loses the empty brackets and separators."""
    from kgattn.embeddings.templates import MAX_RELATIONS, node_relations
    from test_training_world import toy_graph

    kg = toy_graph(6)[0]
    node = kg.node_index("sector_alpha")   # 3 companies point to it ("sector"); it is "member of" a hub
    out_rels = {kg.relation_names[int(r)] for r in kg.neighbors(node, "out")[1]}
    in_rels = {"inverse of " + kg.relation_names[int(r)] for r in kg.neighbors(node, "in")[1]}
    names = node_relations(kg, node).split("; ")
    assert set(names) == out_rels | in_rels and len(names) <= MAX_RELATIONS
    text = node_text(kg, node, "{label}: {description} ({relations})")
    assert text == f"{kg.label(node)} ({node_relations(kg, node)})"   # no description: no dangling ":"
    assert check_template("{label} ({relations})")
    assert node_relations(kg, node) == "inverse of sector; member of"   # 3 edges, then 1
    lonely = _ToyGraph()   # no edges, node 1 has no description
    lonely.neighbors = lambda i, direction="both": ([], torch.empty(0, dtype=torch.long))
    assert node_text(lonely, 1, "{label}: {description} ({relations})") == "cat"
    assert node_text(lonely, 0, "{label}: {description} ({relations})") == "dog: a domestic animal"
