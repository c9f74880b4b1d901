"""The ``linker.rules`` section of the pipeline and pretraining specs, built from
:class:`kgattn.linking.rules.MentionRules` so its keys and defaults are declared once, there.

Unlike the other linker keys (null = the linker's default), every rule is written into the spec
dump with its value, so the link stage's key changes when a rule's default does: linked corpora
made with other rules are not reused.
"""
from __future__ import annotations

from pydantic import Field, create_model

from kgattn.linking.rules import rules_spec_fields
from kgattn.specs.base import Section

LinkerRulesSpec = create_model(
    "LinkerRulesSpec", __base__=Section,
    __doc__="Spelling rules of the entity linker (:mod:`kgattn.linking.rules`); each true or false.",
    **{name: (kind, Field(default)) for name, (kind, default) in rules_spec_fields().items()})
