"""Entity linking: text -> :class:`Mention` s of knowledge-graph nodes (see :mod:`kgattn.linking.linker`).

Names load lazily: spaCy imports :mod:`kgattn.linking.spacy_component` (an entry point) whenever
it builds a pipeline, and that must not pull in torch or the graph store.
"""
from __future__ import annotations

import importlib

from kgattn.linking.types import Candidate, Mention

_LAZY = {"EntityLinker": "kgattn.linking.linker", "ScoreWeights": "kgattn.linking.linker",
         "PriorWeights": "kgattn.linking.gazetteer", "AliasTable": "kgattn.linking.gazetteer"}

__all__ = ["AliasTable", "Candidate", "EntityLinker", "Mention", "PriorWeights", "ScoreWeights"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgattn.linking' has no attribute {name!r}")
