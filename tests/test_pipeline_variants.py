"""The evaluation's variants come from one registry: registering a variant makes it valid in a
spec, trained and scored by the evaluation, and titled in the report."""
from __future__ import annotations

import json

import pytest

from doubles import FakeComponents, write_toy_world
from kgattn.errors import ConfigError
from kgattn.evaluation.variants import (Variant, check_variant_name, default_variants, ordered_variants,
                                        register_variant, unregister_variant, variant_names)
from kgattn.pipeline.runner import run_pipeline
from kgattn.pipeline.spec import load_spec

QUIET = dict(progress=False, log=lambda message: None)


@pytest.fixture
def small_subgraphs():
    names = ("small_subgraphs", "small_subgraphs_removed")
    register_variant(Variant("small_subgraphs", "full model, subgraphs capped at 4 nodes",
                             train={"use_graph": True, "max_nodes": 4}))
    register_variant(Variant("small_subgraphs_removed", "small-subgraph model, graph removed at inference",
                             train=None, removed_from="small_subgraphs", graph_at_inference=False,
                             selectable=False))
    yield names
    for name in names:
        unregister_variant(name)


def test_builtin_registry_order_defaults_and_names():
    assert variant_names() == ("full", "no_graph", "shuffled_graph", "graph_removed", "knowledge_as_text",
                               "graph_features", "hybrid")
    assert default_variants() == ("full", "no_graph", "shuffled_graph", "graph_removed")
    assert ordered_variants(["zzz", "graph_features_removed", "no_graph", "full"]) == [
        "full", "no_graph", "graph_features_removed", "zzz"]
    with pytest.raises(ValueError, match="unknown variant 'graph_features_removed'"):
        check_variant_name("graph_features_removed")     # follows graph_removed; not listed itself
    with pytest.raises(ValueError, match="either train="):
        Variant("broken", "neither trained nor scored", train=None)
    with pytest.raises(ValueError, match="registered already"):
        register_variant(Variant("full", "again"))


def test_a_registered_variant_is_valid_in_a_spec_and_run_by_the_evaluation(tmp_path, small_subgraphs):
    extra = ("evaluate: {variants: [full, small_subgraphs, graph_removed], bootstrap: 200, "
             "permutations: 200}\n")
    spec_path = write_toy_world(tmp_path, rows=60, extra_spec=extra)
    unregister_variant("small_subgraphs_removed")
    unregister_variant("small_subgraphs")
    with pytest.raises(ConfigError, match="unknown variant 'small_subgraphs'"):
        load_spec(spec_path)
    register_variant(Variant("small_subgraphs", "full model, subgraphs capped at 4 nodes",
                             train={"use_graph": True, "max_nodes": 4}))
    register_variant(Variant("small_subgraphs_removed", "small-subgraph model, graph removed at inference",
                             train=None, removed_from="small_subgraphs", graph_at_inference=False,
                             selectable=False))
    assert load_spec(spec_path).evaluate.variants == ["full", "small_subgraphs", "graph_removed"]

    components = FakeComponents()
    result = run_pipeline(spec_path, stages=["evaluate"], components=components, **QUIET)
    # Trained once with the registered arguments, through the real spec-to-classifier plumbing.
    assert len([p for p in components.trained if p.get("max_nodes") == 4]) == 1
    metrics = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())
    task = metrics["tasks"]["label"]
    assert list(task["variants"]) == ["full", "graph_removed", "small_subgraphs", "small_subgraphs_removed"]
    assert task["variants"]["small_subgraphs"]["title"] == "full model, subgraphs capped at 4 nodes"
    assert task["variants"]["small_subgraphs"]["accuracy"]["mean"] == 1.0   # the toy graph holds the answer
    assert task["variants"]["small_subgraphs_removed"]["accuracy"]["mean"] < 0.7
    assert "full_vs_small_subgraphs" in task["paired"]
    report = (result.run_dir / "evaluate" / "report.md").read_text()
    assert "full model, subgraphs capped at 4 nodes" in report
    stored = sorted(p.name for p in (result.run_dir / "evaluate" / "predictions").glob("small*.json"))
    assert stored == ["small_subgraphs-seed0.json", "small_subgraphs_removed-seed0.json"]


def test_a_default_variant_joins_specs_that_do_not_list_variants(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=30)
    assert load_spec(spec_path).evaluate.variants == ["full", "no_graph", "shuffled_graph", "graph_removed"]
    register_variant(Variant("tiny_default", "a default variant", train={"use_graph": True}, default=True))
    try:
        assert load_spec(spec_path).evaluate.variants[-1] == "tiny_default"
    finally:
        unregister_variant("tiny_default")


def test_every_registered_variant_trains_real_classifier_parameters():
    from doubles import classifier_parameters
    from kgattn.evaluation.variants import get_variant

    real = set(classifier_parameters()[0])
    for name in variant_names(selectable=False):
        variant = get_variant(name)
        keys = set(variant.train or {})
        if variant.augment is not None:
            keys |= set(variant.augment.overrides({"text_max_length": 96}))
        assert keys <= real, (name, keys - real)
