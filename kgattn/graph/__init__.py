"""The knowledge-graph store, its readers and subgraph retrieval.

Layers point one way (``a -> b``: ``a`` imports ``b``; nothing imports upwards):

* ground floor: :mod:`~kgattn.graph.strings` (string tables), :mod:`~kgattn.graph.csr` (edge
  order, CSR views), :mod:`~kgattn.graph.subgraph`, :mod:`~kgattn.graph.retrieval` (subgraph
  cutting over any object with the store's arrays), :mod:`~kgattn.graph.parts` (what readers
  return) and :mod:`~kgattn.graph.saved` (the on-disk format, via :mod:`kgattn.persistence`);
* readers, which know files, triple stores and other graphs but not the store class:
  :mod:`~kgattn.graph.rdf` (-> :mod:`~kgattn.graph.rdf_parse` -> :mod:`~kgattn.graph.jsonld`),
  :mod:`~kgattn.graph.triplestore` (SPARQL endpoints, Oxigraph stores; -> ``rdf``),
  :mod:`~kgattn.graph.triples`, :mod:`~kgattn.graph.networkx_io` and :mod:`~kgattn.graph.merge`;
  each returns :class:`~kgattn.graph.parts.GraphParts` (or encoded parts);
* the streaming importer, a reader that writes the saved format itself instead of returning
  parts (graphs larger than memory): :mod:`~kgattn.graph.streaming` (-> ``stream_parse``,
  ``stream_edges``, ``stream_strings``, :mod:`~kgattn.graph.npy_files`, ``saved``, ``rdf``);
* the store, :mod:`~kgattn.graph.store` (with :mod:`~kgattn.graph.neighbourhood` mixed in):
  :class:`KnowledgeGraph` keeps the public constructors (``from_rdf``, ``from_triples``,
  ``from_sparql``, ``from_oxigraph``, ``from_networkx``, ``union``, ``from_arrays``, ``load``),
  each a call to one reader followed by :meth:`KnowledgeGraph.from_parts`;
* above the store: :mod:`~kgattn.graph.cache` (imported graphs cached on disk) and
  :mod:`~kgattn.graph.verbalize`.

Why the store sits above its readers rather than below: a reader that built a
``KnowledgeGraph`` itself would need the class, and the class's ``from_rdf`` would need the
reader, which is the cycle this layout removes; handing plain parts up keeps the readers
testable without a store and keeps one class with every constructor on it.
"""
from kgattn.graph.parts import GraphWarning
from kgattn.graph.store import KnowledgeGraph
from kgattn.graph.strings import normalize_alias
from kgattn.graph.subgraph import Subgraph

__all__ = ["GraphWarning", "KnowledgeGraph", "Subgraph", "normalize_alias"]
