"""kgattn: transformer language models that attend over a knowledge graph.

The public names load lazily so that ``import kgattn`` stays cheap (no torch/transformers
import until a model or graph is used).

Layers, each importing only from those before it (README, "How it fits together"): the ground
floor (``errors``, ``persistence``, ``paths``, ``corpus_files``, ``lazy``); ``graph`` and
``datasets``; ``linking`` and ``embeddings``; ``models``; ``preprocessing`` and ``training``;
``schemas`` and ``specs``; ``pretraining``; ``inference`` and ``api``; the outer ring ``evaluation``, ``pipeline`` and ``cli``. Every option is declared
once, in one of the schemas listed by :mod:`kgattn.schemas`.
"""
from __future__ import annotations

from kgattn.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "KnowledgeGraph": "kgattn.graph",
    "Subgraph": "kgattn.graph",
    "EntityLinker": "kgattn.linking",
    "Mention": "kgattn.linking",
    "Candidate": "kgattn.linking",
    "KGClassifier": "kgattn.api",
    "KGAugmentedConfig": "kgattn.models",
    "KGAugmentedModel": "kgattn.models",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__ = lazy_exports(__name__, _EXPORTS)
