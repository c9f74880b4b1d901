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

Every array is a plain ``.npy`` file on disk, so :meth:`KnowledgeGraph.load` memory-maps a
graph of millions of nodes in milliseconds; nothing is pickled.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from kgattn.errors import EmptyGraphError, FingerprintMismatchError, GraphFormatError, UnknownNodeError
from kgattn.graph.retrieval import Scorer, subgraph as _subgraph
from kgattn.graph.strings import RaggedIds, RaggedStrings, StringTable, normalize_alias
from kgattn.graph.subgraph import Subgraph

FORMAT_VERSION = 2  # 2: neighbour sets (nbr_ptr, nbr) saved
#: Share of nodes, by degree, that count as hubs in subgraph expansion.
HUB_FRACTION = 0.001
#: Neighbours sampled when a hub is expanded.
DEFAULT_HUB_CAP = 256


class GraphWarning(UserWarning):
    """Input that was repaired while loading a graph (duplicates removed, names unused, ...)."""


def inverse_name(name: str) -> str:
    return f"inverse of {name}"


def sort_edges(src: np.ndarray, dst: np.ndarray, rel: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges sorted by (src, dst, rel), and a mask of those repeating the edge before them."""
    order = np.lexsort((rel, dst, src))
    src, dst, rel = src[order], dst[order], rel[order]
    dup = np.zeros(src.size, dtype=bool)
    dup[1:] = (src[1:] == src[:-1]) & (dst[1:] == dst[:-1]) & (rel[1:] == rel[:-1])
    return src, dst, rel, dup


class KnowledgeGraph:
    """An immutable typed directed multigraph with named nodes.

    Build one with :meth:`from_arrays`, :meth:`from_triples`, :meth:`from_rdf`,
    :meth:`from_networkx`, the importers in :mod:`kgattn.datasets`, :meth:`load`, or :meth:`union`
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
        where = f"{source}: " if source else ""
        ids_list = list(node_ids)
        n = len(ids_list)
        src = _as_index_array(src, "src")
        dst = _as_index_array(dst, "dst")
        rel = _as_index_array(rel, "rel")
        if not (src.shape == dst.shape == rel.shape):
            raise GraphFormatError(f"src, dst and rel differ in length: {src.size}, {dst.size}, {rel.size}",
                                   source)
        if n == 0 or src.size == 0:
            raise EmptyGraphError(f"{where}the graph has {n} nodes and {src.size} edges; "
                                  "a knowledge graph needs at least one edge")
        num_rel = len(relation_names)
        for name, arr, hi in (("src", src, n), ("dst", dst, n), ("rel", rel, num_rel)):
            bad = np.flatnonzero((arr < 0) | (arr >= hi))
            if bad.size:
                what = "node" if name != "rel" else "relation"
                raise GraphFormatError(f"edge {int(bad[0])}: {name} {what} index {int(arr[bad[0]])} out of range "
                                       f"[0, {hi}) ({bad.size} such edges)", source)
        for name, seq in (("labels", labels), ("aliases", aliases), ("types", types),
                          ("descriptions", descriptions), ("attributes", attributes)):
            if seq is not None and len(seq) != n:
                raise GraphFormatError(f"{name} has {len(seq)} entries for {n} nodes", source)

        ids = StringTable.from_strings(ids_list)
        id_order = _sorted_order(ids_list, source)
        names_rows = []
        for i in range(n):
            row: list[str] = []
            label = labels[i] if labels is not None else None
            if label:
                row.append(label)
            if aliases is not None:
                for a in aliases[i]:
                    if a and a not in row:
                        row.append(a)
            names_rows.append(row)
        type_rows = [list(dict.fromkeys(t)) for t in types] if types is not None else [[] for _ in range(n)]
        desc = [d or "" for d in descriptions] if descriptions is not None else [""] * n
        key_rows, value_rows = [], []
        for i in range(n):
            attrs = attributes[i] if attributes is not None else {}
            keys, vals = [], []
            for k in sorted(attrs):
                for v in attrs[k]:
                    keys.append(k)
                    vals.append(v)
            key_rows.append(keys)
            value_rows.extend(vals)
        rel_names = list(relation_names)
        rel_ids = list(relation_ids) if relation_ids is not None else list(rel_names)
        if len(rel_ids) != num_rel:
            raise GraphFormatError(f"relation_ids has {len(rel_ids)} entries for {num_rel} relations", source)
        return cls._assemble(
            ids=ids, id_order=id_order, names=RaggedStrings.from_lists(names_rows),
            types=RaggedIds.from_lists(type_rows), descriptions=StringTable.from_strings(desc),
            attr_keys=RaggedIds.from_lists(key_rows), attr_values=StringTable.from_strings(value_rows),
            src=src, dst=dst, rel=rel, relation_names=rel_names, relation_ids=rel_ids,
            add_inverse=add_inverse, metadata=metadata, source=source)

    @classmethod
    def _assemble(cls, *, ids, id_order, names, types, descriptions, attr_keys, attr_values,
                  src, dst, rel, relation_names, relation_ids, add_inverse, metadata, source):
        n, num_rel = len(ids), len(relation_names)
        where = f"{source}: " if source else ""
        src, dst, rel, dup = sort_edges(src, dst, rel)
        n_dup = int(dup.sum())
        if n_dup:
            first = int(np.flatnonzero(dup)[0])
            warnings.warn(f"{where}removed {n_dup} duplicate triples (e.g. {ids[int(src[first])]} "
                          f"{relation_names[int(rel[first])]} {ids[int(dst[first])]})", GraphWarning, stacklevel=3)
            keep = ~dup
            src, dst, rel = src[keep], dst[keep], rel[keep]
        del dup
        if add_inverse:
            relation_names = list(relation_names) + [inverse_name(r) for r in relation_names]
            relation_ids = list(relation_ids) + [inverse_name(r) for r in relation_ids]
            src, dst, rel = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([rel, rel + num_rel])
            order = np.lexsort((rel, dst, src))
            src, dst, rel = src[order], dst[order], rel[order]
            del order
        out_ptr, adj_ptr, adj_nbr, adj_rel = build_csr(n, src, dst, rel)
        nbr_ptr, nbr = build_neighbour_sets(n, src, dst, np.diff(adj_ptr))
        kg = cls(ids=ids, id_order=id_order, names=names, types=types, descriptions=descriptions,
                 attr_keys=attr_keys, attr_values=attr_values, src=src, dst=dst, rel=rel,
                 out_ptr=out_ptr, adj_ptr=adj_ptr, adj_nbr=adj_nbr, adj_rel=adj_rel, nbr_ptr=nbr_ptr, nbr=nbr,
                 relation_names=relation_names, relation_ids=relation_ids, metadata=metadata)
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
        from kgattn.graph.merge import union

        return union(graphs, prefixes, relations=relations, cls=cls)

    @classmethod
    def from_networkx(cls, G, relation_attr: str | None = "relation", label_attr: str = "label",
                      add_inverse: bool = False) -> "KnowledgeGraph":
        """Build from a networkx (Multi)(Di)Graph.

        Node keys become ids (``str(key)``); node attributes ``label_attr``, ``aliases``,
        ``types`` (or ``type``) and ``description`` become names, types and description. The
        edge attribute ``relation_attr`` names the relation (``relation_attr=None``: every
        edge is ``"related to"``). An undirected graph stores each edge once, as iterated.
        """
        nodes = list(G.nodes)
        ids = [str(v) for v in nodes]
        pos = {v: i for i, v in enumerate(nodes)}
        labels, aliases, types, descs = [], [], [], []
        for v in nodes:
            d = G.nodes[v]
            label = d.get(label_attr)
            labels.append(str(label) if label is not None else None)
            al = d.get("aliases") or []
            aliases.append([al] if isinstance(al, str) else [str(a) for a in al])
            ty = d.get("types", d.get("type")) or []
            types.append([ty] if isinstance(ty, str) else [str(t) for t in ty])
            desc = d.get("description")
            descs.append(str(desc) if desc is not None else None)
        rel_lookup: dict[str, int] = {}
        src, dst, rel = [], [], []
        for u, v, d in G.edges(data=True):
            if relation_attr is None:
                name = "related to"
            elif relation_attr in d:
                name = str(d[relation_attr])
            else:
                raise GraphFormatError(f"edge ({u!r}, {v!r}) has no attribute {relation_attr!r}; "
                                       "set relation_attr=None to give every edge one relation")
            src.append(pos[u])
            dst.append(pos[v])
            rel.append(rel_lookup.setdefault(name, len(rel_lookup)))
        return cls.from_arrays(ids, src, dst, rel, list(rel_lookup), labels=labels, aliases=aliases,
                               types=types, descriptions=descs, add_inverse=add_inverse)

    @classmethod
    def from_triples(cls, path, names=None, sep: str = "\t", add_inverse: bool = False,
                     relation_names=None) -> "KnowledgeGraph":
        """Build from ``head<sep>relation<sep>tail`` lines (one file or several; gzip ok).

        ``names``: optional ``id<sep>name`` file(s) giving node labels (ids missing from it keep
        their id as label; listed ids that occur in no triple are reported, not added).
        ``relation_names``: optional ``relation<sep>readable name`` file(s).
        """
        from kgattn.graph.triples import read_triples

        return read_triples(cls, path, names=names, sep=sep, add_inverse=add_inverse,
                            relation_names=relation_names)

    @classmethod
    def from_rdf(cls, path_or_paths, format: str | None = None, language: str | None = "en",
                 add_inverse: bool = False, **kwargs) -> "KnowledgeGraph":
        """Build from RDF files (Turtle, N-Triples, N-Quads, TriG, N3, RDF/XML, JSON-LD; ``.gz`` ok).

        See :func:`kgattn.graph.rdf.read_rdf` for how triples map to nodes, names and edges.
        """
        from kgattn.graph.rdf import read_rdf

        return read_rdf(cls, path_or_paths, format=format, language=language, add_inverse=add_inverse,
                        **kwargs)

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
            seq = _SortedIds(self._ids, order)
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

    def neighbors(self, i: int, direction: str = "both") -> tuple[torch.Tensor, torch.Tensor]:
        """(neighbour node indices, relation ids) of node ``i``, O(degree) through the CSR.

        ``direction``: ``"out"`` (targets of edges from ``i``), ``"in"`` (sources of edges into
        ``i``) or ``"both"`` (out then in).
        """
        i = self._check(i)
        a, b = int(self._adj_ptr[i]), int(self._adj_ptr[i + 1])
        if direction == "both":
            pass
        elif direction in ("out", "in"):
            mid = a + int(self._out_ptr[i + 1] - self._out_ptr[i])
            a, b = (a, mid) if direction == "out" else (mid, b)
        else:
            raise ValueError(f"direction must be 'out', 'in' or 'both', got {direction!r}")
        return (torch.from_numpy(np.array(self._adj_nbr[a:b], dtype=np.int64)),
                torch.from_numpy(np.array(self._adj_rel[a:b], dtype=np.int64)))

    def alias_index(self) -> dict[str, list[int]]:
        """``normalize_alias(name) -> sorted node indices`` over all names (built once, cached)."""
        if self._alias_index is None:
            index: dict[str, list[int]] = {}
            values = self._names.values
            blob, offsets = values.blob.tobytes(), values.offsets.tolist()
            rows = self._names.rows_of_values().tolist()
            for j, node in enumerate(rows):
                key = normalize_alias(blob[offsets[j]:offsets[j + 1]].decode("utf-8"))
                if not key:
                    continue
                lst = index.setdefault(key, [])
                if not lst or lst[-1] != node:  # rows come in node order, so lists stay sorted
                    lst.append(node)
            self._alias_index = index
        return self._alias_index

    # ------------------------------------------------------------------ subgraphs
    @property
    def hub_threshold(self) -> int:
        """Smallest degree of the top 0.1% of nodes by degree (hubs, when above the hub cap)."""
        if self._hub_threshold is None:
            k = max(1, int(np.ceil(self.num_nodes * HUB_FRACTION)))
            deg = np.asarray(self._degree)
            self._hub_threshold = int(np.partition(deg, deg.size - k)[deg.size - k])
        return self._hub_threshold

    def subgraph(self, seeds: Sequence[int], hops: int = 2, max_nodes: int = 64,
                 scorer: Scorer | None = None, *, hub_cap: int = DEFAULT_HUB_CAP) -> Subgraph:
        """The ``hops``-hop neighbourhood of ``seeds`` (both edge directions), capped at ``max_nodes``.

        Seeds are always kept, first, in the given order, de-duplicated. Other nodes are ranked by
        ``scorer(nodes [m], hop [m]) -> scores [m]`` (higher first; ties by hop, then index) or by
        default by hop, then lower degree (more specific), then index. Edges: all stored edges
        among kept nodes, in local indices. Hubs (top 0.1% by degree) are expanded through
        ``hub_cap`` neighbours: their lowest-degree ones with the default ranking (exact while
        ``hub_cap >= max_nodes``), a deterministic sample per (seed set, hub) with a scorer;
        ``hub_cap=0`` turns capping off. See :mod:`kgattn.graph.retrieval`.
        """
        return _subgraph(self, seeds, hops=hops, max_nodes=max_nodes, scorer=scorer, hub_cap=hub_cap)

    def subgraphs(self, seed_lists: Sequence[Sequence[int]], hops: int = 2, max_nodes: int = 64,
                  scorer: Scorer | None = None, *, hub_cap: int = DEFAULT_HUB_CAP) -> list[Subgraph]:
        """:meth:`subgraph` for each seed list (an empty list gives :meth:`Subgraph.empty`)."""
        return [_subgraph(self, s, hops=hops, max_nodes=max_nodes, scorer=scorer, hub_cap=hub_cap)
                for s in seed_lists]

    # ------------------------------------------------------------------ conversions
    def to_pyg(self):
        """``torch_geometric.data.Data(edge_index [2, E], edge_type [E], num_nodes)``."""
        from torch_geometric.data import Data

        return Data(edge_index=self.edge_index, edge_type=torch.from_numpy(np.array(self._rel)),
                    num_nodes=self.num_nodes)

    def to_networkx(self, relation_attr: str = "relation", label_attr: str = "label"):
        """A ``networkx.MultiDiGraph`` keyed by node id, with label/aliases/types/description."""
        import networkx as nx

        G = nx.MultiDiGraph()
        for i in range(self.num_nodes):
            attrs = {label_attr: self.label(i)}
            if self._names.count(i) > 1:
                attrs["aliases"] = self.aliases(i)[1:]
            if (t := self.types(i)):
                attrs["types"] = t
            if (d := self.description(i)):
                attrs["description"] = d
            G.add_node(self._ids[i], **attrs)
        ids = [self._ids[i] for i in range(self.num_nodes)]
        names = self.relation_names
        G.add_edges_from((ids[s], ids[d], {relation_attr: names[r]})
                         for s, d, r in zip(self._src.tolist(), self._dst.tolist(), self._rel.tolist()))
        return G

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
        h = hashlib.sha256()
        h.update(json.dumps({"v": FORMAT_VERSION, **self._strings_meta()}, sort_keys=True).encode())
        for name, arr in sorted(self._arrays().items()):
            if name in self._DERIVED:
                continue
            arr = np.ascontiguousarray(arr)
            h.update(f"{name}:{arr.dtype.str}:{arr.shape}".encode())
            h.update(memoryview(arr).cast("B"))
        return h.hexdigest()

    def save(self, directory) -> Path:
        """Write the graph to ``directory``: ``meta.json`` (counts, strings, fingerprint) and one
        ``.npy`` per array. Returns the directory."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = self._arrays()
        for name, arr in arrays.items():
            np.save(d / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        meta = {"format": "kgattn-graph", "version": FORMAT_VERSION, "fingerprint": self.fingerprint,
                "num_nodes": self.num_nodes, "num_edges": self.num_edges,
                "num_relations": self.num_relations, "arrays": sorted(arrays),
                "metadata": self.metadata, **self._strings_meta()}
        # meta.json last: a directory without it is an incomplete save.
        (d / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory, mmap: bool = True, verify: bool = False) -> "KnowledgeGraph":
        """Read a graph written by :meth:`save`.

        ``mmap=True`` maps the arrays copy-on-write: loading is O(1) in the graph size and pages
        are read when touched. ``verify=True`` recomputes the fingerprint and raises
        :class:`~kgattn.errors.FingerprintMismatchError` when the files were altered.
        """
        d = Path(directory)
        meta_path = d / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path}: no saved knowledge graph here (meta.json missing)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise GraphFormatError(f"invalid JSON: {e.msg}", meta_path, e.lineno) from None
        if meta.get("format") != "kgattn-graph" or meta.get("version") != FORMAT_VERSION:
            raise GraphFormatError(f"not a kgattn graph of format version {FORMAT_VERSION} "
                                   f"(format={meta.get('format')!r}, version={meta.get('version')!r})", meta_path)
        mode = "c" if mmap else None
        a = {}
        for name in meta["arrays"]:
            p = d / f"{name}.npy"
            if not p.is_file():
                raise GraphFormatError(f"array file {p.name} listed in meta.json is missing", d)
            arr = np.load(p, mmap_mode=mode, allow_pickle=False)
            # A plain ndarray view of the map: slicing a np.memmap costs a Python-level
            # __array_finalize__ per access, which dominates small subgraph queries.
            a[name] = arr.view(np.ndarray) if isinstance(arr, np.memmap) else arr
        kg = cls(ids=StringTable(a["ids.blob"], a["ids.offsets"]), id_order=a.get("id_order"),
                 names=RaggedStrings(a["names.ptr"], StringTable(a["names.blob"], a["names.offsets"])),
                 types=RaggedIds(a["types.ptr"], a["types.ids"], meta["type_vocab"]),
                 descriptions=StringTable(a["descriptions.blob"], a["descriptions.offsets"]),
                 attr_keys=RaggedIds(a["attrs.ptr"], a["attrs.ids"], meta["attr_vocab"]),
                 attr_values=StringTable(a["attrs.values.blob"], a["attrs.values.offsets"]),
                 src=a["src"], dst=a["dst"], rel=a["rel"], out_ptr=a["out_ptr"], adj_ptr=a["adj_ptr"],
                 adj_nbr=a["adj_nbr"], adj_rel=a["adj_rel"], nbr_ptr=a["nbr_ptr"], nbr=a["nbr"],
                 relation_names=meta["relation_names"],
                 relation_ids=meta["relation_ids"], fingerprint=meta["fingerprint"],
                 metadata=meta.get("metadata"))
        if kg.num_nodes != meta["num_nodes"] or kg.num_edges != meta["num_edges"]:
            raise GraphFormatError(f"arrays hold {kg.num_nodes} nodes / {kg.num_edges} edges, meta.json says "
                                   f"{meta['num_nodes']} / {meta['num_edges']}", d)
        if verify:
            actual = kg._compute_fingerprint()
            if actual != meta["fingerprint"]:
                raise FingerprintMismatchError(f"{d}: content fingerprint {actual[:16]} does not match the "
                                               f"stored {meta['fingerprint'][:16]}; the files were altered")
        return kg

    def __repr__(self) -> str:
        return (f"KnowledgeGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges}, "
                f"num_relations={self.num_relations}, fingerprint={self.fingerprint[:12]})")


class _SortedIds:
    """The node ids in sorted order as a lazy sequence of bytes, for ``bisect``."""

    __slots__ = ("ids", "order")

    def __init__(self, ids: StringTable, order: np.ndarray | None):
        self.ids, self.order = ids, order

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k: int) -> bytes:
        return self.ids.raw(int(self.order[k]) if self.order is not None else k)


def _as_index_array(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise GraphFormatError(f"{name} must be a 1-d integer array, got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _sorted_order(ids: list[str], source) -> np.ndarray | None:
    """Permutation sorting the ids (None when already sorted); duplicate ids are an error."""
    already = all(a < b for a, b in zip(ids, ids[1:]))
    if already:
        return None
    order = sorted(range(len(ids)), key=ids.__getitem__)
    for a, b in zip(order, order[1:]):
        if ids[a] == ids[b]:
            raise GraphFormatError(f"duplicate node id {ids[a]!r} (nodes {min(a, b)} and {max(a, b)})", source)
    return np.asarray(order, dtype=np.int64)


def build_csr(n: int, src: np.ndarray, dst: np.ndarray, rel: np.ndarray):
    """Out-CSR pointer and the both-directions CSR of edges sorted by (src, dst, rel)."""
    out_deg = np.bincount(src, minlength=n).astype(np.int64)
    in_deg = np.bincount(dst, minlength=n).astype(np.int64)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out_deg, out=out_ptr[1:])
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(in_deg, out=in_ptr[1:])
    adj_ptr = out_ptr + in_ptr
    e = src.size
    adj_nbr = np.empty(2 * e, dtype=np.int64)
    adj_rel = np.empty(2 * e, dtype=np.int64)
    # Out part of node u: adj_ptr[u] + (edge position within u's out-list).
    pos = np.arange(e, dtype=np.int64) - out_ptr[src] + adj_ptr[src]
    adj_nbr[pos] = dst
    adj_rel[pos] = rel
    # In part of node v, after its out part, sorted by (source, relation).
    order = np.lexsort((rel, src, dst))
    d_sorted = dst[order]
    pos = np.arange(e, dtype=np.int64) - in_ptr[d_sorted] + adj_ptr[d_sorted] + out_deg[d_sorted]
    adj_nbr[pos] = src[order]
    adj_rel[pos] = rel[order]
    return out_ptr, adj_ptr, adj_nbr, adj_rel


def build_neighbour_sets(n: int, src: np.ndarray, dst: np.ndarray, degree: np.ndarray):
    """CSR of each node's distinct neighbours (either direction, no self), sorted by (degree, index).

    Subgraph expansion reads these: with the default ranking (lower degree first) the best
    ``k`` neighbours of a node are a prefix of its list, so a node is expanded through at most
    ``max_nodes`` entries without changing the result (see :mod:`kgattn.graph.retrieval`).
    """
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    keep = a != b
    a, b = a[keep], b[keep]
    # distinct (node, neighbour) pairs
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    del order
    distinct = np.ones(a.size, dtype=bool)
    distinct[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b = a[distinct], b[distinct]
    del distinct
    order = np.lexsort((b, degree[b], a))
    nbr = b[order]
    del order
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=ptr[1:])
    return ptr, nbr
