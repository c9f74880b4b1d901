"""Entity linking: text -> :class:`Mention` s of knowledge-graph nodes (see :mod:`kgattn.linking.linker`).

Parts, each swappable behind the :class:`EntityLinker` facade (as spaCy splits its linker):
:mod:`~kgattn.linking.ner` (spaCy NER spans) and :mod:`~kgattn.linking.detection` (gazetteer,
lemmas, NER merge) find mentions; :mod:`~kgattn.linking.candidates` (a registry of candidate
generators) proposes nodes; :mod:`~kgattn.linking.disambiguation` scores them and applies the
NIL threshold. :mod:`~kgattn.linking.gazetteer` holds the alias table in RAM,
:mod:`~kgattn.linking.alias_index` the same memory-mapped on disk, :mod:`~kgattn.linking.text`
tokenisation, lemmas and the character budget.

Names load lazily: spaCy imports :mod:`kgattn.linking.spacy_component` (an entry point) whenever
it builds a pipeline, and that must not pull in torch or the graph store.
"""
from __future__ import annotations

import importlib

from kgattn.linking.types import Candidate, Mention

_LAZY = {"EntityLinker": "kgattn.linking.linker", "ScoreWeights": "kgattn.linking.disambiguation",
         "PriorWeights": "kgattn.linking.gazetteer", "AliasTable": "kgattn.linking.gazetteer",
         "MentionDetector": "kgattn.linking.detection", "Disambiguator": "kgattn.linking.disambiguation",
         "SpacyNER": "kgattn.linking.ner", "candidate_generators": "kgattn.linking.candidates",
         "AliasPrior": "kgattn.linking.candidates", "budget_end": "kgattn.linking.text",
         "DiskAliasIndex": "kgattn.linking.alias_index", "MentionRules": "kgattn.linking.rules"}

__all__ = ["AliasPrior", "AliasTable", "Candidate", "DiskAliasIndex", "Disambiguator", "EntityLinker", "Mention", "MentionDetector", "MentionRules",
           "PriorWeights", "ScoreWeights", "SpacyNER", "budget_end", "candidate_generators"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgattn.linking' has no attribute {name!r}")
