"""The test doubles against the protocols of the real classes: same members, same parameters,
and a classifier argument the real KGClassifier refuses is refused by the double too."""
from __future__ import annotations

import inspect
import typing

import pytest

from doubles import FakeClassifier, FakeComponents, FakeGraph, FakeLinker, classifier_parameters, write_toy_world
from kgattn.pipeline.protocols import ClassifierLike, ComponentsLike, GraphLike, LinkerLike
from kgattn.pipeline.runner import run_pipeline
from kgattn.pipeline.spec import load_spec
from kgattn.pipeline.stages import Components

QUIET = dict(progress=False, log=lambda message: None)


def _members(protocol) -> list[str]:
    return [n for n in protocol.__dict__ if not n.startswith("_") and n not in typing.Protocol.__dict__]


def _parameters(cls, name: str) -> list[str] | None:
    member = inspect.getattr_static(cls, name)
    if isinstance(member, (property, type(None))) or not callable(getattr(cls, name, None)):
        return None
    return [p for p in inspect.signature(getattr(cls, name)).parameters if p not in ("self", "cls")]


def _real(name):
    if name == "graph":
        from kgattn.graph import KnowledgeGraph
        return KnowledgeGraph
    if name == "linker":
        from kgattn.linking import EntityLinker
        return EntityLinker
    from kgattn.api import KGClassifier
    return KGClassifier


@pytest.mark.parametrize("protocol, real, double", [
    (GraphLike, "graph", FakeGraph), (LinkerLike, "linker", FakeLinker),
    (ClassifierLike, "classifier", FakeClassifier), (ComponentsLike, "components", FakeComponents)])
def test_real_classes_and_doubles_follow_the_protocols(protocol, real, double):
    real_cls = Components if real == "components" else _real(real)
    members = _members(protocol)
    assert members
    for name in members:
        expected = _parameters(protocol, name)
        for cls in (real_cls, double):
            assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
            if expected is not None:
                got = _parameters(cls, name)
                # The protocol's parameters come first, in order; an implementation may add
                # optional ones after them.
                assert got[:len(expected)] == expected, f"{cls.__name__}.{name}{got} vs protocol {expected}"


def test_fake_classifier_takes_exactly_the_real_parameters():
    from kgattn.api import KGClassifier

    real = [p for p in inspect.signature(KGClassifier.__init__).parameters if p != "self"]
    named, _ = classifier_parameters()
    assert list(named) == [p for p in real if inspect.signature(KGClassifier.__init__).parameters[p].kind
                           is not inspect.Parameter.VAR_KEYWORD]
    clf = FakeClassifier(**{k: v for k, v in named.items() if v is not inspect.Parameter.empty})
    assert clf.batch_size == named["batch_size"] and clf.use_graph is named["use_graph"]
    with pytest.raises((TypeError, ValueError), match="no_such_parameter"):
        FakeClassifier(no_such_parameter=1)


def test_every_classifier_key_of_the_spec_is_a_real_parameter(tmp_path):
    spec = load_spec(write_toy_world(tmp_path, rows=10))
    keys = {k for section in (spec.model, spec.features, spec.train) for k in section.model_dump()}
    assert keys and keys <= set(classifier_parameters()[0])


def test_a_spec_key_the_real_classifier_does_not_accept_fails(tmp_path, monkeypatch):
    """The plumbing from spec to classifier is the product's own: a key a spec section hands on
    that the real class does not take reaches the double and is refused there, instead of
    passing silently (as it did when the double took ``**ignored``)."""
    spec = write_toy_world(tmp_path, rows=30)
    section = type(load_spec(spec).features)
    dump = section.model_dump
    monkeypatch.setattr(section, "model_dump", lambda self, **kw: {**dump(self, **kw), "no_such_parameter": 3})
    with pytest.raises((TypeError, ValueError), match="no_such_parameter"):
        run_pipeline(spec, stages=["train"], components=FakeComponents(), **QUIET)


def test_the_doubles_are_not_shipped():
    import importlib.util

    assert importlib.util.find_spec("kgattn.pipeline.testing") is None
