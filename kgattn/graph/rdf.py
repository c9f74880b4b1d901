"""RDF files -> :class:`~kgattn.graph.KnowledgeGraph`.

How triples map onto the store:

* a literal object never becomes a node: name predicates (``skos:prefLabel``, ``rdfs:label``,
  ``schema:name``, ``foaf:name``, ``skos:altLabel``, in that order of preference for the label)
  give names, description predicates (``rdfs:comment``, ``skos:definition``,
  ``schema:description``, ``dcterms:description``, ``dc:description``) the description (the
  first one; further ones are kept as attributes), any other literal an attribute
  ``{predicate IRI: [values]}``. Language-tagged literals are kept when their tag is
  ``language`` or a sub-tag of it (``en``, ``en-GB``); untagged literals are always kept.
* ``rdf:type`` objects are node types (``type_edges=True`` also stores them as edges).
* every other triple is an edge ``subject -predicate-> object``; relation names are the
  predicate's own name in the data, else its IRI's local name (``bornIn`` -> ``born in``).
* nodes are all subjects and edge objects, sorted by id; a resource used as a predicate is a
  relation, not a node, and triples about it (``rdfs:domain``, ``rdfs:range``, ...) are schema:
  they name the relation (its label) but add no edge (their count is ``metadata["schema_triples"]``).
* blank nodes get ids ``_:cb<hash>`` from rdflib's canonical labelling (RGDA1) of the triples
  that mention them, so they depend on content only, never on parse order.
* named graphs (N-Quads, TriG) are merged; their count is kept in ``kg.metadata``.

Parsing, and what it may and may not do (no network, no entity expansion, literal length
limit), is :mod:`kgattn.graph.rdf_parse`.
"""
from __future__ import annotations

import re
import warnings

from kgattn.errors import EmptyGraphError
from kgattn.graph.jsonld import DEFAULT_REMOTE_TIMEOUT
from kgattn.graph.parts import GraphParts, GraphWarning
from kgattn.graph.rdf_parse import (FORMATS, MAX_LITERAL_LENGTH, Lit, ParseOptions, accepted_formats, guess_format,
                                    iter_triples)
from kgattn.graph.triples import as_paths

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
NAME_PREDICATES = (SKOS + "prefLabel", RDFS + "label", "http://schema.org/name", "https://schema.org/name",
                   "http://xmlns.com/foaf/0.1/name", SKOS + "altLabel")
DESCRIPTION_PREDICATES = (RDFS + "comment", SKOS + "definition", "http://schema.org/description",
                          "https://schema.org/description", "http://purl.org/dc/terms/description",
                          "http://purl.org/dc/elements/1.1/description")


# ---------------------------------------------------------------------- mapping
def _lang_ok(lang: str | None, language: str | None) -> bool:
    if lang is None or language is None:
        return True
    lang, language = lang.lower(), language.lower()
    return lang == language or lang.startswith(language + "-")


def readable_relation(iri: str) -> str:
    """``http://ex.org/bornIn`` -> ``born in``; ``.../place_of_birth`` -> ``place of birth``."""
    local = re.split(r"[#/:]", iri.rstrip("/#"))[-1] or iri
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).replace("_", " ").replace("-", " ")
    return " ".join(spaced.split()).lower() or iri


def read_rdf(path_or_paths, format: str | None = None, language: str | None = "en", engine: str = "auto",
             type_edges: bool = False, *, allow_remote: bool = False,
             remote_timeout: float = DEFAULT_REMOTE_TIMEOUT,
             max_literal_length: int = MAX_LITERAL_LENGTH) -> GraphParts:
    """The parts of a graph read from RDF files, mapped as the module docstring says.

    Args:
        format: an RDF format name (default: from each file's extension).
        language: keep literals tagged with this language or a sub-tag of it (and untagged ones);
            ``None`` keeps all.
        engine: ``"auto"`` (pyoxigraph where it reads the format), ``"rdflib"`` or ``"oxigraph"``.
        type_edges: also store ``rdf:type`` triples as edges.
        allow_remote: let JSON-LD contexts be fetched from ``http(s)`` URLs (off: an error naming
            the URL), each within ``remote_timeout`` seconds.
        max_literal_length: longest literal accepted, in characters.
    """
    paths = as_paths(path_or_paths)
    options = ParseOptions(allow_remote=allow_remote, remote_timeout=remote_timeout,
                           max_literal_length=max_literal_length)
    triples, stats = iter_triples(paths, format, engine, options)
    return map_triples(triples, ", ".join(str(p) for p in paths), language=language, type_edges=type_edges,
                       metadata={"named_graphs": stats["named_graphs"], "engine": stats["engine"]})


def map_triples(triples: list, source: str, language: str | None = "en", type_edges: bool = False,
                metadata: dict | None = None) -> GraphParts:
    """Plain triples ``(subject, predicate, object str | Lit)`` -> graph parts, as the module
    docstring says; ``source`` names the input in messages, ``metadata`` is kept."""
    name_rank = {p: k for k, p in enumerate(NAME_PREDICATES)}
    desc_rank = {p: k for k, p in enumerate(DESCRIPTION_PREDICATES)}
    names: dict[str, list] = {}
    descs: dict[str, list] = {}
    attrs: dict[str, list] = {}
    types: dict[str, list] = {}
    subjects: dict[str, None] = {}
    edges: list[tuple[str, str, str]] = []
    n_lang_filtered = 0
    for s, p, o in triples:
        subjects[s] = None
        if isinstance(o, Lit):
            if not _lang_ok(o.lang, language):
                n_lang_filtered += 1
                continue
            if p in name_rank:
                names.setdefault(s, []).append((name_rank[p], o.lang is None, o.value))
            elif p in desc_rank:
                descs.setdefault(s, []).append((desc_rank[p], o.lang is None, o.value, p))
            else:
                attrs.setdefault(s, []).append((p, o.value))
        elif p == RDF_TYPE:
            types.setdefault(s, []).append(o)
            if type_edges:
                edges.append((s, p, o))
        else:
            edges.append((s, p, o))
    # Triples about the relations themselves (rdfs:domain, rdfs:range, ...) are schema, not edges.
    used_as_relation = {p for _, p, _ in edges}
    n_schema = len(edges)
    edges = [e for e in edges if e[0] not in used_as_relation]
    n_schema -= len(edges)
    edge_nodes = {o for _, _, o in edges}
    edge_nodes.update(s for s, _, _ in edges)
    predicates = {p for _, p, _ in edges}
    # A resource seen only as a predicate (or described only to name it) is a relation, not a node.
    node_set = (set(subjects) - used_as_relation - predicates) | edge_nodes
    node_ids = sorted(node_set)
    pos = {x: i for i, x in enumerate(node_ids)}
    rel_iris = sorted(predicates)
    rel_pos = {r: k for k, r in enumerate(rel_iris)}

    def ordered_names(x: str) -> list[str]:
        vals = sorted(names.get(x, ()))
        return list(dict.fromkeys(v for *_, v in vals))

    rel_names = [(ordered_names(r) or [readable_relation(r)])[0] for r in rel_iris]
    labels, aliases, descriptions, node_attrs, node_types = [], [], [], [], []
    for x in node_ids:
        nm = ordered_names(x)
        labels.append(nm[0] if nm else None)
        aliases.append(nm[1:])
        ds = sorted(descs.get(x, ()))
        descriptions.append(ds[0][2] if ds else None)
        a: dict[str, list[str]] = {}
        for _, _, v, p in ds[1:]:
            a.setdefault(p, []).append(v)
        for p, v in sorted(attrs.get(x, ())):
            a.setdefault(p, []).append(v)
        node_attrs.append(a)
        node_types.append(sorted(set(types.get(x, ()))))
    src = [pos[s] for s, _, _ in edges]
    dst = [pos[o] for _, _, o in edges]
    rel = [rel_pos[p] for _, p, _ in edges]
    meta = {"source": source, **(metadata or {}), "literals_filtered_by_language": n_lang_filtered,
            "schema_triples": n_schema, "language": language}
    # Dangling: edge targets that no triple describes (no name, type or triple of their own).
    # Classes reached through type_edges are vocabulary, not dangling data.
    dangling = sorted({o for _, p, o in edges if p != RDF_TYPE} - set(subjects))
    meta["dangling_nodes"] = len(dangling)
    if dangling:
        warnings.warn(f"{source}: {len(dangling)} of {len(node_ids)} nodes are only ever edge targets, "
                      f"with no name, type or triple of their own (e.g. {dangling[0]}); their id is their label",
                      GraphWarning, stacklevel=3)
    if not edges:
        raise EmptyGraphError(f"{source}: no triple between two resources ({len(triples)} triples read, "
                              f"{len(node_ids)} resources); a knowledge graph needs at least one edge")
    return GraphParts(node_ids, src, dst, rel, rel_names, labels=labels, aliases=aliases, types=node_types,
                      descriptions=descriptions, attributes=node_attrs, relation_ids=rel_iris, metadata=meta,
                      source=source)


__all__ = ["read_rdf", "map_triples", "guess_format", "accepted_formats", "readable_relation", "FORMATS", "Lit"]
