"""The knowledge-graph store and subgraph retrieval."""
from kgattn.graph.store import GraphWarning, KnowledgeGraph
from kgattn.graph.strings import normalize_alias
from kgattn.graph.subgraph import Subgraph

__all__ = ["GraphWarning", "KnowledgeGraph", "Subgraph", "normalize_alias"]
