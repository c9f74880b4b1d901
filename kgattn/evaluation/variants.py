"""The registry of evaluation variants: what each one trains and how it is scored.

Every variant of the with/without-graph evaluation is declared here, once. The spec's
``evaluate.variants`` accepts the names of the registry, the study (:func:`run_study
<kgattn.evaluation.ablations.run_study>`) trains and scores what the registry says, and the report
shows the registered titles in the registry's order. Adding a variant means one call::

    from kgattn.evaluation.variants import Variant, register_variant

    register_variant(Variant("frozen_backbone", "full model, backbone frozen",
                             train={"backbone_lr": 0.0}))

A variant is one of two kinds:

- *trained*: ``train`` holds the classifier arguments that differ from the spec's model (e.g.
  ``{"use_graph": False}``); an optional :class:`TextAugmentation` rewrites its texts in
  training and at prediction (the knowledge-as-text baseline). ``graph_at_inference`` says
  whether its test predictions use the graph.
- *scored only*: ``removed_from`` names the trained variant whose model is scored again with the
  graph removed at inference (no second training). Listing :data:`REMOVAL_SWITCH`
  (``graph_removed``) in a spec scores every trained variant that has such a counterpart.

This module imports nothing from the pipeline or the classifier: the study receives a training
callable (:class:`ClassifierHooks`), so the layers point one way (pipeline -> evaluation).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from kgattn.linking.types import focus_mentions

#: The variant whose presence in ``evaluate.variants`` switches on the graph-removed scoring of
#: every trained variant with a registered ``removed_from`` counterpart.
REMOVAL_SWITCH = "graph_removed"


@runtime_checkable
class Predictor(Protocol):
    """What the study needs of a trained model (:class:`kgattn.api.KGClassifier` is one)."""

    def predict(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None) -> dict[str, list]: ...


class TextAugmentation(Protocol):
    """Rewrites the texts of a variant, in training and at prediction alike.

    ``options`` are the variant's settings from the spec (see ``options=`` of
    :class:`ClassifierHooks`); :meth:`overrides` may turn some of them into classifier arguments.
    """

    def __call__(self, texts: Sequence[str], mentions: Sequence, kg: Any, options: Mapping[str, Any]) -> list[str]: ...

    def overrides(self, options: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Variant:
    """One variant of the evaluation (see the module docstring).

    Args:
        name: the key in specs, file names and ``metrics.json``.
        title: how the report names it.
        train: classifier arguments that differ from the spec's model; ``None`` for a variant
            that is only scored (then ``removed_from`` is required).
        augment: rewrites the texts (training and prediction) of a trained variant.
        graph_at_inference: whether its predictions on the test split use the graph.
        removed_from: for a scored-only variant, the trained variant whose model it scores
            with the graph removed.
        default: part of ``evaluate.variants`` when a spec does not list them.
        selectable: may be listed in a spec (False for counterparts that follow the switch).
        knowledge_baseline: a simpler use of the same graph (no fusion); the report's summary
            says whether the full model beats it, i.e. whether the fusion is worth its cost.
    """

    name: str
    title: str
    train: Mapping[str, Any] | None = field(default_factory=dict)
    augment: TextAugmentation | None = None
    graph_at_inference: bool = True
    removed_from: str | None = None
    default: bool = False
    selectable: bool = True
    knowledge_baseline: bool = False

    def __post_init__(self):
        if (self.train is None) == (self.removed_from is None):
            raise ValueError(f"variant {self.name!r}: give either train= (a trained variant) or "
                             "removed_from= (scored from another variant's model), not both or neither")
        if self.train is None and self.augment is not None:
            raise ValueError(f"variant {self.name!r}: a scored-only variant cannot rewrite texts")

    @property
    def trained(self) -> bool:
        return self.train is not None


_REGISTRY: dict[str, Variant] = {}


def register_variant(variant: Variant, *, replace: bool = False) -> Variant:
    """Add ``variant`` to the registry (after the existing ones in the report's order)."""
    if variant.name in _REGISTRY and not replace:
        raise ValueError(f"variant {variant.name!r} is registered already (pass replace=True)")
    if variant.removed_from is not None:
        source = _REGISTRY.get(variant.removed_from)
        if source is None or not source.trained:
            raise ValueError(f"variant {variant.name!r}: removed_from={variant.removed_from!r} is not a "
                             "registered trained variant")
    _REGISTRY[variant.name] = variant
    return variant


def unregister_variant(name: str) -> None:
    """Remove a variant (tests register temporary ones)."""
    _REGISTRY.pop(name, None)


def get_variant(name: str) -> Variant:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown variant {name!r}; registered: {', '.join(_REGISTRY)}") from None


def variant_names(*, selectable: bool = True) -> tuple[str, ...]:
    """Registered names in the canonical order (only those a spec may list, by default)."""
    return tuple(n for n, v in _REGISTRY.items() if v.selectable or not selectable)


def knowledge_baselines() -> tuple[str, ...]:
    """Registered simpler uses of the graph (``Variant.knowledge_baseline``), in the canonical order."""
    return tuple(n for n, v in _REGISTRY.items() if v.knowledge_baseline)


def default_variants() -> tuple[str, ...]:
    return tuple(n for n, v in _REGISTRY.items() if v.default)


class DefaultVariants(Sequence):
    """The default variants as a live view of the registry (the spec's default for
    ``evaluate.variants``): a variant registered with ``default=True`` after import joins it."""

    def __getitem__(self, index):
        return default_variants()[index]

    def __len__(self) -> int:
        return len(default_variants())

    def __repr__(self) -> str:
        return repr(default_variants())


def check_variant_name(name: str) -> str:
    """The spec's validator: ``name`` if a spec may list it, else ValueError naming the valid ones."""
    variant = _REGISTRY.get(name)
    if variant is None or not variant.selectable:
        raise ValueError(f"unknown variant {name!r}; expected one of {', '.join(variant_names())}")
    return name


def removed_counterpart(name: str) -> str | None:
    """The scored-only variant that scores ``name``'s model with the graph removed, if any."""
    return next((n for n, v in _REGISTRY.items() if v.removed_from == name), None)


def scored_only_names() -> tuple[str, ...]:
    return tuple(n for n, v in _REGISTRY.items() if not v.trained)


def ordered_variants(names) -> list[str]:
    """Variants in the registry's order (full first), unknown names last, alphabetically."""
    order = list(_REGISTRY)
    return sorted(names, key=lambda v: (order.index(v) if v in order else len(order), v))


def variant_title(name: str) -> str:
    variant = _REGISTRY.get(name)
    return variant.title if variant is not None else name


# ---------------------------------------------------------------------------------- training
class AugmentedModel:
    """A trained model whose texts are rewritten by the variant's augmentation at prediction."""

    def __init__(self, model: Predictor, augment: TextAugmentation, kg: Any, options: Mapping[str, Any]):
        self.model, self.augment, self.kg, self.options = model, augment, kg, dict(options)

    def predict(self, texts, mentions=None, use_graph: bool | None = None) -> dict[str, list]:
        return self.model.predict(self.augment(texts, mentions, self.kg, self.options), mentions=mentions,
                                  use_graph=use_graph)


#: ``fit(train, val, **classifier_overrides) -> Predictor``; ``train``/``val`` are
#: :class:`~kgattn.evaluation.ablations.Examples` (``val`` may be None).
FitFunction = Callable[..., Predictor]


class ClassifierHooks:
    """The study's hooks (:class:`~kgattn.evaluation.ablations.StudyHooks`) for any classifier.

    Args:
        fit: trains a classifier with the given overrides of the spec's model (the pipeline's
            ``fit_classifier``); it is called with ``seed=`` and the variant's ``train`` arguments.
        kg: the graph, handed to text augmentations.
        options: per variant name, the settings its augmentation reads.
    """

    def __init__(self, fit: FitFunction, kg: Any = None, options: Mapping[str, Mapping[str, Any]] | None = None):
        self.fit, self.kg, self.options = fit, kg, dict(options or {})

    def train(self, variant: str, seed: int, train, val):
        spec = get_variant(variant)
        overrides = dict(spec.train or {})
        if spec.augment is None:
            return self.fit(train, val, seed=seed, **overrides)
        options = self.options.get(variant, {})
        train = _rewritten(train, spec.augment(train.texts, train.mentions, self.kg, options))
        val = _rewritten(val, spec.augment(val.texts, val.mentions, self.kg, options)) if val is not None else None
        overrides.update(spec.augment.overrides(options))
        return AugmentedModel(self.fit(train, val, seed=seed, **overrides), spec.augment, self.kg, options)

    def predict(self, model: Predictor, data, use_graph: bool) -> dict[str, list[str]]:
        out = model.predict(data.texts, mentions=data.mentions, use_graph=use_graph)
        return {t: [str(y) for y in out[t]] for t in data.labels}


def _rewritten(data, texts: list[str]):
    return replace(data, texts=list(texts))


class KnowledgeAsText:
    """The knowledge-as-text augmentation: the linked nodes' labels and their neighbours' labels
    (and, with ``text_glosses``, their descriptions) appended to the text
    (:func:`kgattn.graph.verbalize.knowledge_as_text`); ``text_max_length`` becomes the
    classifier's ``max_length`` (the longer texts need more tokens).

    Options: ``text_neighbours``, ``text_glosses``, ``text_hops``, ``text_max_length`` (resolved by the caller),
    and ``focus_marks`` when the fused model's subgraph is focused
    (:attr:`~kgattn.preprocessing.config.FeatureConfig.focus_marks`): then only the marked span's
    mentions are verbalised, so both variants are told about the same entities.
    """

    def __call__(self, texts, mentions, kg, options):
        from kgattn.graph.verbalize import knowledge_as_text

        marks = options.get("focus_marks")
        if marks is not None:
            mentions = [focus_mentions(text, ms, marks) for text, ms in zip(texts, mentions)]
        return knowledge_as_text(texts, mentions, kg, options["text_neighbours"], options["text_glosses"],
                                 options["text_hops"])

    def overrides(self, options):
        return {"max_length": options["text_max_length"]} if "text_max_length" in options else {}


# ---------------------------------------------------------------------------------- built-ins
# The trained variants name use_graph/shuffle_graph explicitly so that no model setting of the
# spec can turn the graph on or off behind the variant's back.
register_variant(Variant("full", "full model (graph)", train={"use_graph": True, "shuffle_graph": False},
                         default=True))
register_variant(Variant("no_graph", "no graph (use_graph=False)", train={"use_graph": False, "shuffle_graph": False},
                         graph_at_inference=False, default=True))
register_variant(Variant("shuffled_graph", "shuffled-graph control", train={"use_graph": True, "shuffle_graph": True},
                         default=True))
register_variant(Variant("graph_removed", "full model, graph removed at inference", train=None,
                         removed_from="full", graph_at_inference=False, default=True))
register_variant(Variant("knowledge_as_text", "knowledge as text (no graph; linked labels + neighbours appended)",
                         train={"use_graph": False}, augment=KnowledgeAsText(), graph_at_inference=False,
                         knowledge_baseline=True))
register_variant(Variant("graph_features", "graph features only (bag of nodes + relation types, no fusion)",
                         train={"use_graph": True, "shuffle_graph": False, "fusion": "bag"}, knowledge_baseline=True))
register_variant(Variant("hybrid", "hybrid (knowledge as text appended and the graph fused)",
                         train={"use_graph": True, "shuffle_graph": False}, augment=KnowledgeAsText()))
register_variant(Variant("graph_features_removed", "graph-features model, bag emptied at inference", train=None,
                         removed_from="graph_features", graph_at_inference=False, selectable=False))
