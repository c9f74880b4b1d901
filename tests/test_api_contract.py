"""KGClassifier follows scikit-learn's estimator contract and takes its options from the schemas."""
from __future__ import annotations

import dataclasses
import inspect
import pathlib

import pytest
from sklearn.base import clone

from kgattn.api import KGClassifier
from kgattn.errors import BackboneError, ConfigError
from kgattn.schemas import DEFAULTS, OWNER, SCHEMAS, user_fields
from test_training_world import toy_corpus, toy_graph


def test_parameters_are_the_schema_fields_with_their_defaults():
    params = inspect.signature(KGClassifier.__init__).parameters
    names = [p for p in params if p != "self"]
    assert names == ["kg", "linker", *DEFAULTS, "init_from", "callbacks"]
    for concern, schema in SCHEMAS.items():
        for f in user_fields(schema):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert params[f.name].default == default, (concern, f.name)
    assert KGClassifier._get_param_names() == sorted(names)
    assert set(OWNER) == set(DEFAULTS)


def test_get_params_set_params_and_unknown_names():
    clf = KGClassifier(gnn="gatv2", lr=3e-3, hops=1)
    params = clf.get_params(deep=False)
    assert params["gnn"] == "gatv2" and params["lr"] == 3e-3 and params["hops"] == 1 and params["kg"] is None
    assert clf.set_params(max_epochs=7) is clf and clf.max_epochs == 7
    with pytest.raises(ConfigError, match="unknown parameter 'max_epoch'; did you mean 'max_epochs'"):
        clf.set_params(max_epoch=2)
    with pytest.raises(ConfigError, match="unknown parameter 'gate_rate'"):
        KGClassifier(gate_rate=0.1)


def test_nested_linker_parameters_and_clone_keeps_graph_and_linker_by_reference():
    from kgattn.linking import EntityLinker

    kg, _ = toy_graph(6)
    linker = EntityLinker(kg, disambiguate="prior")
    clf = KGClassifier(kg=kg, linker=linker, gnn_dim=16, loss_weights={"align": 0.0})
    deep = clf.get_params(deep=True)
    if hasattr(linker, "get_params"):
        assert deep["linker__disambiguate"] == "prior"
    copy = clone(clf)
    assert copy is not clf and copy.kg is kg and copy.linker is linker
    assert copy.get_params(deep=False) == clf.get_params(deep=False)
    assert copy.loss_weights == {"align": 0.0} and copy.loss_weights is not clf.loss_weights


def test_validation_happens_before_linking(tmp_path, tiny_backbone):
    """A bad option is refused at the start of fit: the linker is never asked to link."""
    kg, names = toy_graph(6)
    texts, labels, _ = toy_corpus(kg, names, range(6))

    class ExplodingLinker:
        def link_batch(self, texts, **kwargs):
            raise AssertionError("linked before the options were validated")

    for bad, match in (({"gnn": "gcn"}, "'gnn'"), ({"schedule": "step"}, "schedule"), ({"batch_size": 0}, "batch_size"),
                       ({"node_template": "{gloss}"}, "node_template"), ({"max_nodes": 0}, "max_nodes")):
        with pytest.raises(ConfigError, match=match):
            KGClassifier(kg=kg, linker=ExplodingLinker(), backbone=tiny_backbone, **bad).fit(texts, labels)
    with pytest.raises(BackboneError, match="does not exist"):
        KGClassifier(kg=kg, linker=ExplodingLinker(), backbone=tmp_path / "nope").fit(texts, labels)


def test_paths_are_accepted_wherever_a_path_is(minilm_path, tmp_path):
    clf = KGClassifier(backbone=pathlib.Path(minilm_path), output_dir=tmp_path / "logs")
    options = clf.options()
    assert options["backbone"] == str(minilm_path) and options["output_dir"] == str(tmp_path / "logs")
    clf._configs()  # validates and resolves the backbone without error
