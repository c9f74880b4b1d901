"""Evaluation slices: linked/unlinked, seen/unseen in training, per label."""
from __future__ import annotations

import json

import numpy as np
import pytest

from kgattn.errors import LabelError
from kgattn.evaluation.slices import linked_nodes, slice_masks, slice_metrics, training_nodes
from kgattn.linking import Mention

TRAIN_MENTIONS = [[Mention(0, 4, "Acme", node=1)], [Mention(0, 3, "Foo", node=None)], [Mention(5, 9, "Zeta", node=2)]]
# test examples: 0 linked seen (node 1), 1 linked unseen (node 7), 2 unlinked (NIL only), 3 unlinked
# (no mention), 4 linked to a seen and an unseen node, 5 linked unseen (node 9) as a mapping
TEST_MENTIONS = [
    [Mention(0, 4, "Acme", node=1)],
    [Mention(0, 4, "Bolt", node=7)],
    [Mention(0, 3, "Foo", node=None)],
    [],
    [Mention(0, 4, "Acme", node=1), Mention(10, 14, "Bolt", node=7)],
    [{"start": 2, "end": 6, "node": 9}],
]
GOLD = ["ORG", "ORG", "PER", "LOC", "ORG", "PER"]


def test_training_nodes_are_the_linked_ones():
    assert training_nodes(TRAIN_MENTIONS) == {1, 2}
    assert linked_nodes(TEST_MENTIONS[4]) == {1, 7}
    assert linked_nodes(TEST_MENTIONS[4], span=(9, 12)) == {7}


def test_masks_partition_the_examples():
    m = slice_masks(TEST_MENTIONS, training_nodes(TRAIN_MENTIONS), GOLD)
    assert m["all"].tolist() == [True] * 6
    assert m["linked"].tolist() == [True, True, False, False, True, True]
    assert (m["linked"] ^ m["unlinked"]).all()
    assert m["seen"].tolist() == [True, False, False, False, True, False]
    assert m["unseen"].tolist() == [False, True, False, False, False, True]
    assert not (m["seen"] & m["unseen"]).any() and ((m["seen"] | m["unseen"]) == m["linked"]).all()
    assert m["label=ORG"].tolist() == [True, True, False, False, True, False]
    assert sorted(k for k in m if k.startswith("label=")) == ["label=LOC", "label=ORG", "label=PER"]


def test_node_filter_and_spans_restrict_what_counts():
    entity = np.ones(10, dtype=bool)
    entity[7] = False  # node 7 is a concept: it does not make an example "linked"
    m = slice_masks(TEST_MENTIONS, {1, 2}, nodes=entity)
    assert m["linked"].tolist() == [True, False, False, False, True, True]
    # only the mention under each example's span counts (the mention to classify)
    spans = [(0, 4), (20, 30), (0, 3), (0, 1), (10, 14), (2, 6)]
    m = slice_masks(TEST_MENTIONS, {1, 2}, spans=spans)
    assert m["linked"].tolist() == [True, False, False, False, True, True]
    assert m["seen"].tolist() == [True, False, False, False, False, False]
    assert m["unseen"].tolist() == [False, False, False, False, True, True]


def test_slice_metrics_per_variant_and_json_ready():
    preds = {"full": ["ORG", "ORG", "PER", "PER", "ORG", "PER"],
             "no_graph": ["ORG", "PER", "PER", "LOC", "LOC", "LOC"]}
    out = slice_metrics(GOLD, preds, TEST_MENTIONS, training_nodes(TRAIN_MENTIONS))
    json.dumps(out)  # plain floats, ints and None only
    assert set(out) == {"all", "linked", "unlinked", "seen", "unseen", "label=LOC", "label=ORG", "label=PER"}
    assert out["all"]["full"]["accuracy"] == pytest.approx(5 / 6) and out["all"]["full"]["n"] == 6
    assert out["linked"]["full"] == {"accuracy": 1.0, "macro_f1": 1.0, "n": 4}
    # no_graph on linked (0, 1, 4, 5): ORG ok, PER wrong, LOC wrong, LOC wrong
    assert out["linked"]["no_graph"]["accuracy"] == pytest.approx(0.25)
    assert out["unlinked"]["full"]["accuracy"] == pytest.approx(0.5)
    assert out["unseen"]["no_graph"] == {"accuracy": 0.0, "macro_f1": 0.0, "n": 2}
    assert out["label=ORG"]["no_graph"]["accuracy"] == pytest.approx(1 / 3)
    assert out["label=LOC"]["full"]["n"] == 1


def test_empty_slices_and_bad_lengths():
    out = slice_metrics(["A", "B"], {"full": ["A", "A"]}, [[], []], set(), per_label=False)
    assert out["linked"]["full"] == {"accuracy": None, "macro_f1": None, "n": 0}
    assert out["all"]["full"]["n"] == 2 and not any(k.startswith("label=") for k in out)
    with pytest.raises(LabelError, match="variant 'full': 1 predictions for 2"):
        slice_metrics(["A", "B"], {"full": ["A"]}, [[], []], set())
    with pytest.raises(LabelError, match="3 mention lists for 2"):
        slice_metrics(["A", "B"], {"full": ["A", "B"]}, [[], [], []], set())
    with pytest.raises(LabelError, match="1 spans for 2"):
        slice_masks([[], []], set(), spans=[(0, 1)])
