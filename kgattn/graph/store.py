r"""The knowledge-graph store: typed directed edges as tensors, CSR views, compact strings.

A graph with :math:`N` nodes, :math:`E` edges and :math:`R` relations is held as

* ``src, dst, rel``: int64 [E], edges sorted by (src, dst, rel), duplicates removed;
* ``out_ptr``: int64 [N+1], the out-CSR (out-edges of ``u`` are ``out_ptr[u]:out_ptr[u+1]``);
* ``adj_ptr, adj_nbr, adj_rel``: int64 [N+1], [2E], [2E], the both-directions CSR
  (per node: out-neighbours sorted by target, then in-neighbours sorted by source);
* ``nbr_ptr, nbr``: the distinct neighbours of each node sorted by (degree, index), read by
  subgraph expansion;
* node ids, names (label first), types, descriptions and literal attributes as UTF-8 blobs
  with offsets (:mod:`kgattn.graph.strings`), decoded on demand.

Every array is a plain ``.npy`` file on disk (:mod:`kgattn.graph.saved`), so
:meth:`KnowledgeGraph.load` memory-maps a graph of millions of nodes in milliseconds; nothing is
pickled.

The store sits above its readers: ``from_rdf``, ``from_triples``, ``from_networkx``, ``union``... call
a reader returning plain parts (:mod:`kgattn.graph.parts`); no reader imports this module.
"""
from __future__ import annotations

import bisect
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from kgattn.errors import FingerprintMismatchError, UnknownNodeError
from kgattn.graph.csr import build_csr, build_neighbour_sets, inverse_name, sort_edges
from kgattn.graph.merge import merge_graphs
from kgattn.graph.networkx_io import read_networkx, to_networkx
from kgattn.graph.parts import EncodedParts, GraphParts, GraphWarning, encode
from kgattn.graph.jsonld import DEFAULT_REMOTE_TIMEOUT
from kgattn.graph.rdf import read_rdf
from kgattn.graph.rdf_parse import MAX_LITERAL_LENGTH
from kgattn.graph.neighbourhood import Neighbourhoods
from kgattn.graph.npy_files import content_fingerprint
from kgattn.graph.saved import FORMAT_VERSION, read_graph, write_graph
from kgattn.graph.strings import RaggedIds, RaggedStrings, SortedView, StringTable, alias_index
from kgattn.graph.triples import MAX_LINE_LENGTH, read_triples
from kgattn.graph.triplestore import (DEFAULT_PAGE_SIZE, DEFAULT_RETRIES, DEFAULT_TIMEOUT, read_oxigraph,
                                      read_sparql)

__all__ = ["KnowledgeGraph", "GraphWarning", "FORMAT_VERSION"]

class KnowledgeGraph(Neighbourhoods):
    """An immutable typed directed multigraph with named nodes.

    Build one with :meth:`from_arrays`, :meth:`from_triples`, :meth:`from_rdf`, :meth:`from_sparql`,
    :meth:`from_oxigraph`, :meth:`from_networkx`, the importers in :mod:`kgattn.datasets`, :meth:`load`, or :meth:`union`
    of several graphs.

    Node ``i`` has an id (``node_id(i)``, unique), names (``aliases(i)``, label first;
    ``label(i)`` falls back to the id), types, a description and literal attributes.
    Edge ``e`` goes ``src[e] -> dst[e]`` with relation ``rel[e]``, named
    ``relation_names[rel[e]]`` (``relation_ids`` keeps the source identifiers, e.g. IRIs).
    """

    def __init__(self, *, ids: StringTable, id_order: np.ndarray | None, names: RaggedStrings,
                 types: RaggedIds, descriptions: StringTable, attr_keys: RaggedIds,
                 attr_values: StringTable, src: np.ndarray, dst: np.ndarray, rel: np.ndarray,
                 out_ptr: np.ndarray, adj_ptr: np.ndarray, adj_nbr: np.ndarray, adj_rel: np.ndarray,
                 nbr_ptr: np.ndarray, nbr: np.ndarray, relation_names: list[str], relation_ids: list[str],
                 fingerprint: str | None = None, metadata: dict | None = None):
        # Internal constructor: arrays are trusted (built by _assemble or read by load).
        self._ids, self._id_order = ids, id_order
        self._names, self._types, self._desc = names, types, descriptions
        self._attr_keys, self._attr_values = attr_keys, attr_values
        self._src, self._dst, self._rel = src, dst, rel
        self._out_ptr, self._adj_ptr, self._adj_nbr, self._adj_rel = out_ptr, adj_ptr, adj_nbr, adj_rel
        self._nbr_ptr, self._nbr = nbr_ptr, nbr
        self._degree = np.diff(adj_ptr)
        self.relation_names = list(relation_names)
        self.relation_ids = list(relation_ids)
        self.metadata = dict(metadata or {})
        self._fingerprint = fingerprint
        self._alias_index: dict[str, list[int]] | None = None
        self._hub_threshold: int | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, node_ids: Sequence[str], src, dst, rel, relation_names: Sequence[str], *,
                    labels: Sequence[str | None] | None = None,
                    aliases: Sequence[Sequence[str]] | None = None,
                    types: Sequence[Sequence[str]] | None = None,
                    descriptions: Sequence[str | None] | None = None,
                    attributes: Sequence[Mapping[str, Sequence[str]]] | None = None,
                    relation_ids: Sequence[str] | None = None, add_inverse: bool = False,
                    metadata: dict | None = None, source: str | None = None) -> "KnowledgeGraph":
        """Build a graph from node ids and edge index arrays.

        Args:
            node_ids: N unique string ids; node ``i`` is ``node_ids[i]``.
            src, dst, rel: E edge endpoints (node indices) and relation ids (array-likes).
            relation_names: R readable relation names.
            labels, aliases: per node a label (or None) and further names; stored label first,
                duplicates removed.
            types, descriptions, attributes: per node type strings, a description (or None),
                and other literal values ``{key: [values]}``.
            relation_ids: R source identifiers of the relations (default: the names).
            add_inverse: also store ``dst -> src`` with relation ``r + R`` named
                ``"inverse of <name>"``.
            source: a name for messages (a file path).

        Duplicate edges are removed with a :class:`GraphWarning` giving their count. A graph
        without nodes or edges raises :class:`~kgattn.errors.EmptyGraphError`.
        """
        parts = GraphParts(node_ids, src, dst, rel, relation_names, labels=labels, aliases=aliases,
                           types=types, descriptions=descriptions, attributes=attributes,
                           relation_ids=relation_ids, metadata=dict(metadata or {}), source=source)
        return cls.from_parts(parts, add_inverse=add_inverse)

    @classmethod
    def from_parts(cls, parts: GraphParts | EncodedParts, add_inverse: bool = False) -> "KnowledgeGraph":
        """Build the store from what a reader returns (:mod:`kgattn.graph.parts`): sort the edges,
        remove duplicates (with a :class:`GraphWarning`), optionally add inverse edges, build the
        CSR views (:mod:`kgattn.graph.csr`) and the fingerprint."""
        p = encode(parts) if isinstance(parts, GraphParts) else parts
        ids, relation_names, relation_ids = p.ids, list(p.relation_names), list(p.relation_ids)
        num_rel = len(relation_names)
        where = f"{p.source}: " if p.source else ""
        src, dst, rel, dup = sort_edges(p.src, p.dst, p.rel)
        n_dup = int(dup.sum())
        if n_dup:
            first = int(np.flatnonzero(dup)[0])
            warnings.warn(f"{where}removed {n_dup} duplicate triples (e.g. {ids[int(src[first])]} "
                          f"{relation_names[int(rel[first])]} {ids[int(dst[first])]})", GraphWarning, stacklevel=3)
            keep = ~dup
            src, dst, rel = src[keep], dst[keep], rel[keep]
        del dup
        if add_inverse:
            relation_names += [inverse_name(r) for r in relation_names]
            relation_ids += [inverse_name(r) for r in relation_ids]
            src, dst, rel = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([rel, rel + num_rel])
            order = np.lexsort((rel, dst, src))
            src, dst, rel = src[order], dst[order], rel[order]
            del order
        out_ptr, adj_ptr, adj_nbr, adj_rel = build_csr(len(ids), src, dst, rel)
        nbr_ptr, nbr = build_neighbour_sets(len(ids), src, dst, np.diff(adj_ptr))
        kg = cls(ids=ids, id_order=p.id_order, names=p.names, types=p.types, descriptions=p.descriptions,
                 attr_keys=p.attr_keys, attr_values=p.attr_values, src=src, dst=dst, rel=rel,
                 out_ptr=out_ptr, adj_ptr=adj_ptr, adj_nbr=adj_nbr, adj_rel=adj_rel, nbr_ptr=nbr_ptr, nbr=nbr,
                 relation_names=relation_names, relation_ids=relation_ids, metadata=p.metadata)
        kg.metadata.setdefault("duplicates_removed", n_dup)
        kg._fingerprint = kg._compute_fingerprint()
        return kg

    @classmethod
    def union(cls, graphs: Sequence["KnowledgeGraph"], prefixes: Sequence[str] | None = None, *,
              relations: str = "shared") -> "KnowledgeGraph":
        """One graph holding every node, edge, relation, name, type, description and attribute of ``graphs``.

        Nodes with the same id are merged (names and types united, the first non-empty label
        and description kept) unless ``prefixes`` (one string per graph) are given: then node
        ids become ``prefix + id``. Relations are keyed by their identifier (``relation_ids``),
        so a shared vocabulary (``rdfs:subClassOf``) stays one relation; ``relations="separate"``
        keeps each graph's relations apart. ``metadata["sources"]`` records the inputs; the
        fingerprint is a function of the content. See :mod:`kgattn.graph.merge`.
        """
        return cls.from_parts(merge_graphs(graphs, prefixes, relations=relations))

    @classmethod
    def from_networkx(cls, G, relation_attr: str | None = "relation", label_attr: str = "label",
                      add_inverse: bool = False) -> "KnowledgeGraph":
        """Build from a networkx (Multi)(Di)Graph; see :func:`kgattn.graph.networkx_io.read_networkx`."""
        return cls.from_parts(read_networkx(G, relation_attr=relation_attr, label_attr=label_attr),
                              add_inverse=add_inverse)

    @classmethod
    def from_triples(cls, path, names=None, sep: str = "\t", add_inverse: bool = False,
                     relation_names=None, *, max_line_length: int = MAX_LINE_LENGTH) -> "KnowledgeGraph":
        """Build from ``head<sep>relation<sep>tail`` lines (one file or several; gzip ok), in memory
        (:meth:`import_triples` streams). ``names``: ``id<sep>name`` file(s) of node labels (unnamed
        nodes keep their id); ``relation_names``: ``relation<sep>readable name`` file(s). A line over
        ``max_line_length`` characters is refused, naming file and line (:func:`~kgattn.graph.triples.read_triples`)."""
        return cls.from_parts(read_triples(path, names=names, sep=sep, relation_names=relation_names,
                                           max_line_length=max_line_length), add_inverse=add_inverse)

    @classmethod
    def from_rdf(cls, path_or_paths, format: str | None = None, language: str | None = "en",
                 add_inverse: bool = False, *, engine: str = "auto", type_edges: bool = False,
                 allow_remote: bool = False, remote_timeout: float = DEFAULT_REMOTE_TIMEOUT,
                 max_literal_length: int = MAX_LITERAL_LENGTH) -> "KnowledgeGraph":
        """Build from RDF files (Turtle, N-Triples, N-Quads, TriG, N3, RDF/XML, JSON-LD; ``.gz`` ok).

        ``allow_remote=True`` lets JSON-LD contexts be fetched from ``http(s)`` URLs (``remote_timeout``
        seconds each); by default parsing never touches the network. A literal over ``max_literal_length``
        characters is refused. Mapping: :func:`kgattn.graph.rdf.read_rdf`; parsing: :mod:`kgattn.graph.rdf_parse`."""
        return cls.from_parts(read_rdf(path_or_paths, format=format, language=language, engine=engine,
                                       type_edges=type_edges, allow_remote=allow_remote,
                                       remote_timeout=remote_timeout, max_literal_length=max_literal_length),
                              add_inverse=add_inverse)

    @classmethod
    def import_rdf(cls, path_or_paths, out, *, streaming: bool | str = "auto", format: str | None = None,
                   language: str | None = "en", type_edges: bool = False, progress: bool = False,
                   **from_rdf_options) -> "KnowledgeGraph":
        """Import RDF files into the saved-graph directory ``out`` (written atomically), then :meth:`load` it.

        ``streaming=True`` reads N-Triples (``.nt``, ``.nt.gz``) in bounded memory, straight to disk
        (:mod:`kgattn.graph.streaming`; same fingerprint as ``from_rdf`` + ``save``; ``progress`` shows
        bars); ``"auto"``: N-Triples of 64 MiB or more; ``False``: ``from_rdf(...).save(out)``, any format."""
        from kgattn.graph.streaming import import_ntriples, use_streaming
        from kgattn.persistence import atomic_path

        if use_streaming(path_or_paths, format, streaming):
            import_ntriples(path_or_paths, out, language=language, type_edges=type_edges, progress=progress,
                            **{k: v for k, v in from_rdf_options.items() if k in ("add_inverse", "max_literal_length")})
        else:
            kg = cls.from_rdf(path_or_paths, format=format, language=language, type_edges=type_edges,
                              **from_rdf_options)
            with atomic_path(out) as tmp:
                kg.save(tmp)
        return cls.load(out)

    @classmethod
    def import_triples(cls, path, out, *, streaming: bool | str = "auto", progress: bool = False,
                       **from_triples_options) -> "KnowledgeGraph":
        """Import triple files (the arguments of :meth:`from_triples`) into the saved-graph directory
        ``out`` (written atomically), then :meth:`load` it. ``streaming`` as for :meth:`import_rdf`:
        bounded memory (:mod:`kgattn.graph.stream_triples`), same fingerprint; ``"auto"``: 64 MiB or more."""
        from kgattn.graph.stream_triples import import_triples, use_streaming_triples
        from kgattn.persistence import atomic_path

        if use_streaming_triples(path, streaming):
            import_triples(path, out, progress=progress, **from_triples_options)
        else:
            with atomic_path(out) as tmp:
                cls.from_triples(path, **from_triples_options).save(tmp)
        return cls.load(out)

    @classmethod
    def from_sparql(cls, endpoint: str, query: str | None = None, graph: str | None = None, *,
                    page_size: int = DEFAULT_PAGE_SIZE, timeout: float = DEFAULT_TIMEOUT,
                    retries: int = DEFAULT_RETRIES, language: str | None = "en", add_inverse: bool = False,
                    type_edges: bool = False, max_literal_length: int = MAX_LITERAL_LENGTH) -> "KnowledgeGraph":
        """Build from the triples a SPARQL endpoint returns (paged ``SELECT ?s ?p ?o`` or
        ``CONSTRUCT``, ``timeout`` seconds per request, ``retries``); names, types and
        descriptions are read as for files. See :func:`kgattn.graph.triplestore.read_sparql`."""
        return cls.from_parts(read_sparql(endpoint, query, graph, page_size=page_size, timeout=timeout,
                                          retries=retries, language=language, type_edges=type_edges,
                                          max_literal_length=max_literal_length), add_inverse=add_inverse)

    @classmethod
    def from_oxigraph(cls, path, graph: str | None = None, *, language: str | None = "en",
                      add_inverse: bool = False, type_edges: bool = False) -> "KnowledgeGraph":
        """Build from an Oxigraph store directory, opened read-only (default graph, or ``graph``).
        See :func:`kgattn.graph.triplestore.read_oxigraph`."""
        return cls.from_parts(read_oxigraph(path, graph, language=language, type_edges=type_edges),
                              add_inverse=add_inverse)

    # ------------------------------------------------------------------ sizes and arrays
    @property
    def num_nodes(self) -> int:
        return len(self._ids)

    @property
    def num_edges(self) -> int:
        return int(self._src.shape[0])

    @property
    def num_relations(self) -> int:
        return len(self.relation_names)

    @property
    def src(self) -> torch.Tensor:
        """int64 [E] edge sources, sorted."""
        return torch.from_numpy(self._src)

    @property
    def dst(self) -> torch.Tensor:
        """int64 [E] edge targets (sorted within a source)."""
        return torch.from_numpy(self._dst)

    @property
    def rel(self) -> torch.Tensor:
        """int64 [E] edge relation ids."""
        return torch.from_numpy(self._rel)

    @property
    def edge_index(self) -> torch.Tensor:
        """int64 [2, E] (a copy)."""
        return torch.from_numpy(np.stack([self._src, self._dst]))

    @property
    def names_table(self):
        """Every node's names as one :class:`~kgattn.graph.strings.RaggedStrings` (for bulk readers)."""
        return self._names

    @property
    def degree(self) -> torch.Tensor:
        """int64 [N] in-degree + out-degree."""
        return torch.from_numpy(self._degree)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the content (ids, strings, edges, relation names); stable across save/load."""
        if self._fingerprint is None:
            self._fingerprint = self._compute_fingerprint()
        return self._fingerprint

    # ------------------------------------------------------------------ lookups
    def node_index(self, node_id: str) -> int:
        """Index of the node with id ``node_id`` (binary search over the sorted ids, no dict built)."""
        key = node_id.encode("utf-8") if isinstance(node_id, str) else None
        if key is not None:
            order = self._id_order
            seq = SortedView(self._ids, order)
            k = bisect.bisect_left(seq, key)
            if k < len(seq) and seq[k] == key:
                return int(order[k]) if order is not None else k
        raise UnknownNodeError(f"unknown node id {node_id!r} (the graph has {self.num_nodes} nodes)")

    def __contains__(self, node_id: str) -> bool:
        try:
            self.node_index(node_id)
        except UnknownNodeError:
            return False
        return True

    def _check(self, i) -> int:
        i = int(i)
        if not 0 <= i < self.num_nodes:
            raise UnknownNodeError(f"node index {i} out of range [0, {self.num_nodes})")
        return i

    def node_id(self, i: int) -> str:
        return self._ids[self._check(i)]

    def label(self, i: int) -> str:
        """The first name of the node, or its id when it has none."""
        i = self._check(i)
        first = self._names.first(i)
        return first if first is not None else self._ids[i]

    def aliases(self, i: int) -> list[str]:
        """All names of the node, label first; empty when it has none (then ``label(i)`` is its id)."""
        return self._names.row(self._check(i))

    def types(self, i: int) -> list[str]:
        return self._types.row(self._check(i))

    def description(self, i: int) -> str:
        return self._desc[self._check(i)]

    def attributes(self, i: int) -> dict[str, list[str]]:
        """Other literal values of the node (e.g. RDF literals that are not names or descriptions)."""
        i = self._check(i)
        out: dict[str, list[str]] = {}
        a, b = int(self._attr_keys.ptr[i]), int(self._attr_keys.ptr[i + 1])
        for j in range(a, b):
            out.setdefault(self._attr_keys.vocab[self._attr_keys.ids[j]], []).append(self._attr_values[j])
        return out

    @property
    def type_vocabulary(self) -> list[str]:
        return list(self._types.vocab)

    def alias_index(self) -> dict[str, list[int]]:
        """``normalize_alias(name) -> sorted node indices`` over all names (built once, cached)."""
        if self._alias_index is None:
            self._alias_index = alias_index(self._names)
        return self._alias_index

    # ------------------------------------------------------------------ conversions
    def to_pyg(self):
        """``torch_geometric.data.Data(edge_index [2, E], edge_type [E], num_nodes)``."""
        from torch_geometric.data import Data

        return Data(edge_index=self.edge_index, edge_type=torch.from_numpy(np.array(self._rel)),
                    num_nodes=self.num_nodes)

    def to_networkx(self, relation_attr: str = "relation", label_attr: str = "label"):
        """A ``networkx.MultiDiGraph`` keyed by node id, with label/aliases/types/description."""
        return to_networkx(self, relation_attr=relation_attr, label_attr=label_attr)

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        arrays.update(self._ids.arrays("ids"))
        if self._id_order is not None:
            arrays["id_order"] = self._id_order
        arrays.update(self._names.arrays("names"))
        arrays["types.ptr"], arrays["types.ids"] = self._types.ptr, self._types.ids
        arrays.update(self._desc.arrays("descriptions"))
        arrays["attrs.ptr"], arrays["attrs.ids"] = self._attr_keys.ptr, self._attr_keys.ids
        arrays.update(self._attr_values.arrays("attrs.values"))
        arrays.update(src=self._src, dst=self._dst, rel=self._rel, out_ptr=self._out_ptr,
                      adj_ptr=self._adj_ptr, adj_nbr=self._adj_nbr, adj_rel=self._adj_rel,
                      nbr_ptr=self._nbr_ptr, nbr=self._nbr)
        return arrays

    _DERIVED = ("id_order", "out_ptr", "adj_ptr", "adj_nbr", "adj_rel", "nbr_ptr", "nbr")

    def _strings_meta(self) -> dict:
        return {"relation_names": self.relation_names, "relation_ids": self.relation_ids,
                "type_vocab": self._types.vocab, "attr_vocab": self._attr_keys.vocab}

    def _compute_fingerprint(self) -> str:
        """SHA-256 of the strings and non-derived arrays (:func:`~kgattn.graph.npy_files.content_fingerprint`)."""
        items = []
        for name, arr in self._arrays().items():
            if name in self._DERIVED:
                continue
            arr = np.ascontiguousarray(arr)
            items.append((name, arr.dtype.str, arr.shape, (memoryview(arr).cast("B"),)))
        return content_fingerprint(self._strings_meta(), items, FORMAT_VERSION)

    def save(self, directory) -> Path:
        """Write the graph to ``directory``: one ``.npy`` per array, then the manifest
        ``meta.json`` (counts, strings, fingerprint); see :mod:`kgattn.graph.saved`. Returns the
        directory."""
        return write_graph(directory, self._arrays(), fingerprint=self.fingerprint, num_nodes=self.num_nodes,
                           num_edges=self.num_edges, num_relations=self.num_relations, metadata=self.metadata,
                           **self._strings_meta())

    @classmethod
    def load(cls, directory, mmap: bool = True, verify: bool = False, check: bool = True) -> "KnowledgeGraph":
        """Read a graph written by :meth:`save`; ``mmap=True`` maps the arrays copy-on-write.

        Shapes, pointer ends and index ranges are checked (:func:`~kgattn.graph.saved.read_graph`:
        a damaged directory raises :class:`~kgattn.errors.SavedFileError` naming the file; once per
        unchanged files; ``check=False`` skips it). ``verify=True`` also recomputes the fingerprint
        (:class:`~kgattn.errors.FingerprintMismatchError` when the files were altered)."""
        d = Path(directory)
        a, meta = read_graph(d, mmap=mmap, check=check or verify)
        kg = cls(ids=StringTable(a["ids.blob"], a["ids.offsets"]), id_order=a.get("id_order"),
                 names=RaggedStrings(a["names.ptr"], StringTable(a["names.blob"], a["names.offsets"])),
                 types=RaggedIds(a["types.ptr"], a["types.ids"], meta["type_vocab"]),
                 descriptions=StringTable(a["descriptions.blob"], a["descriptions.offsets"]),
                 attr_keys=RaggedIds(a["attrs.ptr"], a["attrs.ids"], meta["attr_vocab"]),
                 attr_values=StringTable(a["attrs.values.blob"], a["attrs.values.offsets"]),
                 src=a["src"], dst=a["dst"], rel=a["rel"], out_ptr=a["out_ptr"], adj_ptr=a["adj_ptr"],
                 adj_nbr=a["adj_nbr"], adj_rel=a["adj_rel"], nbr_ptr=a["nbr_ptr"], nbr=a["nbr"],
                 relation_names=meta["relation_names"], relation_ids=meta["relation_ids"],
                 fingerprint=meta["fingerprint"], metadata=meta.get("metadata"))
        if verify:
            actual = kg._compute_fingerprint()
            if actual != meta["fingerprint"]:
                raise FingerprintMismatchError(f"{d}: content fingerprint {actual[:16]} does not match the "
                                               f"stored {meta['fingerprint'][:16]}; the files were altered")
        return kg

    def __repr__(self) -> str:
        return (f"KnowledgeGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges}, "
                f"num_relations={self.num_relations}, fingerprint={self.fingerprint[:12]})")
