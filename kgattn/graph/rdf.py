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

Parsing: rdflib reads every format. N-Triples, N-Quads, Turtle and TriG go through pyoxigraph
when it is installed (``engine="auto"``), measured >= 10x faster (``benchmarks/graph.py``).
"""
from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from kgattn.errors import GraphFormatError, UnknownFormatError

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
NAME_PREDICATES = (SKOS + "prefLabel", RDFS + "label", "http://schema.org/name", "https://schema.org/name",
                   "http://xmlns.com/foaf/0.1/name", SKOS + "altLabel")
DESCRIPTION_PREDICATES = (RDFS + "comment", SKOS + "definition", "http://schema.org/description",
                          "https://schema.org/description", "http://purl.org/dc/terms/description",
                          "http://purl.org/dc/elements/1.1/description")

#: file extension -> rdflib format name
FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt", ".nq": "nquads",
           ".nquads": "nquads", ".trig": "trig", ".n3": "n3", ".rdf": "xml", ".xml": "xml", ".owl": "xml",
           ".jsonld": "json-ld", ".json": "json-ld"}
_ALIASES = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt", "n-triples": "nt",
            "nquads": "nquads", "nq": "nquads", "n-quads": "nquads", "trig": "trig", "n3": "n3",
            "xml": "xml", "rdf/xml": "xml", "rdfxml": "xml", "application/rdf+xml": "xml",
            "json-ld": "json-ld", "jsonld": "json-ld"}
_DATASET_FORMATS = {"nquads", "trig"}
ENGINES = ("auto", "rdflib", "oxigraph")


class Lit(NamedTuple):
    value: str
    lang: str | None


def accepted_formats() -> str:
    exts = ", ".join(sorted(FORMATS))
    return f"formats {sorted(set(FORMATS.values()))} (extensions {exts}, optionally + .gz)"


def guess_format(path: Path, format: str | None) -> str:
    if format is not None:
        fmt = _ALIASES.get(format.lower())
        if fmt is None:
            raise UnknownFormatError(f"{path}: unknown RDF format {format!r}; accepted: {accepted_formats()}")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise UnknownFormatError(f"{path}: cannot tell the RDF format from the file name; pass format=... "
                                 f"Accepted: {accepted_formats()}")
    return fmt


def _open_binary(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


# ---------------------------------------------------------------------- parsers
def _rdflib_terms(path: Path, fmt: str) -> tuple[list, int]:
    """All triples of a file as rdflib terms, and the number of named graphs."""
    import rdflib

    g = rdflib.Dataset() if fmt in _DATASET_FORMATS else rdflib.Graph()
    try:
        with _open_binary(path) as f:
            data = f.read()
        with warnings.catch_warnings():
            # rdflib's own parsers call its deprecated Dataset APIs; nothing the user can act on.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"rdflib\.")
            g.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
    except (FileNotFoundError, UnknownFormatError):
        raise
    except Exception as e:  # rdflib raises many types; all mean "malformed"
        raise _rdflib_error(e, path, data if "data" in locals() else b"", fmt) from None
    if fmt in _DATASET_FORMATS:
        triples = [(s, p, o) for s, p, o, _ in g.quads()]
        from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

        n_graphs = len({c for *_, c in g.quads() if c is not None and c != DATASET_DEFAULT_GRAPH_ID})
    else:
        triples = list(g)
        n_graphs = 0
    return triples, n_graphs


def _rdflib_error(e: Exception, path: Path, data: bytes, fmt: str) -> GraphFormatError:
    line = None
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if hasattr(e, "lines"):  # turtle/n3 BadSyntax: 0-based line
        line = int(e.lines) + 1
        msg = str(getattr(e, "_why", "") or msg)
    elif hasattr(e, "getLineNumber"):  # RDF/XML SAXParseException
        line = e.getLineNumber()
    elif hasattr(e, "lineno") and isinstance(e.lineno, int):  # JSON
        line = e.lineno
    elif fmt in ("nt", "nquads"):
        line = _first_bad_line(data, fmt)
    return GraphFormatError(f"malformed {fmt}: {msg[:300]}", path, line)


def _first_bad_line(data: bytes, fmt: str) -> int | None:
    """Line-based formats: parse each line alone to find the first that fails (error path only)."""
    import rdflib

    for lineno, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            (rdflib.Dataset() if fmt == "nquads" else rdflib.Graph()).parse(data=line, format=fmt)
        except Exception:
            return lineno
    return None


_OX_FORMATS = {"nt": "N_TRIPLES", "nquads": "N_QUADS", "turtle": "TURTLE", "trig": "TRIG"}


def _oxigraph_terms(path: Path, fmt: str) -> tuple[Iterator, list, set]:
    """Triples without blank nodes as plain tuples; triples with blank nodes as rdflib terms."""
    import pyoxigraph as ox

    rdf_format = getattr(ox.RdfFormat, _OX_FORMATS[fmt])
    plain: list = []
    with_bnodes: list = []
    graphs: set = set()
    NamedNode, BlankNode, Literal = ox.NamedNode, ox.BlankNode, ox.Literal
    try:
        with _open_binary(path) as f:
            for q in ox.parse(f, rdf_format, base_iri=path.resolve().as_uri()):
                s, p, o = q.subject, q.predicate, q.object
                if fmt in _DATASET_FORMATS and not isinstance(q.graph_name, ox.DefaultGraph):
                    graphs.add(q.graph_name.value)
                if type(s) is BlankNode or type(o) is BlankNode:
                    with_bnodes.append(_ox_to_rdflib(s, p, o))
                elif type(o) is Literal:
                    plain.append((s.value, p.value, Lit(o.value, o.language)))
                elif type(o) is NamedNode and type(s) is NamedNode:
                    plain.append((s.value, p.value, o.value))
                else:
                    raise GraphFormatError(f"unsupported RDF term (RDF-star triple term?): {q}", path)
    except SyntaxError as e:
        line = _ox_line(e)
        raise GraphFormatError(f"malformed {fmt}: {e.msg if hasattr(e, 'msg') else e}", path, line) from None
    return plain, with_bnodes, graphs


def _ox_line(e: SyntaxError) -> int | None:
    if isinstance(getattr(e, "lineno", None), int):
        return e.lineno
    m = re.search(r"line (\d+)", str(e))
    return int(m.group(1)) if m else None


def _ox_to_rdflib(s, p, o):
    import pyoxigraph as ox
    import rdflib

    def term(t):
        if isinstance(t, ox.NamedNode):
            return rdflib.URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return rdflib.BNode(t.value)
        return rdflib.Literal(t.value, lang=t.language,
                              datatype=None if t.language else rdflib.URIRef(t.datatype.value))

    return term(s), rdflib.URIRef(p.value), term(o)


def _canonical_bnode_triples(triples: list) -> Iterator[tuple]:
    """Rename blank nodes by rdflib's canonical (content-derived) labelling."""
    import rdflib
    from rdflib.compare import _TripleCanonicalizer

    g = rdflib.Graph()
    for t in triples:
        g.add(t)
    yield from _TripleCanonicalizer(g).canonical_triples()


def _plain(triples: Iterable[tuple]) -> Iterator[tuple]:
    """rdflib terms -> (subject str, predicate str, object str | Lit); blank nodes as ``_:label``."""
    import rdflib

    for s, p, o in triples:
        s_str = f"_:{s}" if isinstance(s, rdflib.BNode) else str(s)
        if isinstance(o, rdflib.Literal):
            yield s_str, str(p), Lit(str(o), o.language)
        elif isinstance(o, rdflib.BNode):
            yield s_str, str(p), f"_:{o}"
        else:
            yield s_str, str(p), str(o)


def iter_triples(paths: list[Path], format: str | None, engine: str) -> tuple[list, dict]:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    out: list = []
    stats = {"named_graphs": 0, "engine": {}}
    for path in paths:
        fmt = guess_format(path, format)
        use_ox = engine == "oxigraph" or (engine == "auto" and fmt in _OX_FORMATS and _have_oxigraph())
        if use_ox and fmt not in _OX_FORMATS:
            raise UnknownFormatError(f"{path}: the oxigraph engine reads {sorted(_OX_FORMATS)}, not {fmt!r}")
        if use_ox:
            plain, with_bnodes, graphs = _oxigraph_terms(path, fmt)
            out.extend(plain)
            bnode_triples = with_bnodes
            stats["named_graphs"] += len(graphs)
        else:
            import rdflib

            triples, n_graphs = _rdflib_terms(path, fmt)
            stats["named_graphs"] += n_graphs
            bnode_triples = []
            plain_triples = []
            for t in triples:
                (bnode_triples if isinstance(t[0], rdflib.BNode) or isinstance(t[2], rdflib.BNode)
                 else plain_triples).append(t)
            out.extend(_plain(plain_triples))
        stats["engine"][str(path)] = "oxigraph" if use_ox else "rdflib"
        if bnode_triples:
            # Blank node labels are file-local: canonicalise each file's share separately.
            out.extend(_plain(_canonical_bnode_triples(bnode_triples)))
    return out, stats


def _have_oxigraph() -> bool:
    try:
        import pyoxigraph  # noqa: F401
    except ImportError:
        return False
    return True


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


def read_rdf(cls, path_or_paths, format: str | None = None, language: str | None = "en",
             add_inverse: bool = False, engine: str = "auto", type_edges: bool = False):
    from kgattn.graph.triples import as_paths

    paths = as_paths(path_or_paths)
    triples, stats = iter_triples(paths, format, engine)
    source = ", ".join(str(p) for p in paths)
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
    meta = {"source": source, "named_graphs": stats["named_graphs"], "engine": stats["engine"],
            "literals_filtered_by_language": n_lang_filtered,
            "schema_triples": n_schema, "language": language}
    # Dangling: edge targets that no triple describes (no name, type or triple of their own).
    # Classes reached through type_edges are vocabulary, not dangling data.
    dangling = sorted({o for _, p, o in edges if p != RDF_TYPE} - set(subjects))
    meta["dangling_nodes"] = len(dangling)
    if dangling:
        from kgattn.graph.store import GraphWarning

        warnings.warn(f"{source}: {len(dangling)} of {len(node_ids)} nodes are only ever edge targets, "
                      f"with no name, type or triple of their own (e.g. {dangling[0]}); their id is their label",
                      GraphWarning, stacklevel=3)
    if not edges:
        from kgattn.errors import EmptyGraphError

        raise EmptyGraphError(f"{source}: no triple between two resources ({len(triples)} triples read, "
                              f"{len(node_ids)} resources); a knowledge graph needs at least one edge")
    return cls.from_arrays(node_ids, src, dst, rel, rel_names, labels=labels, aliases=aliases,
                           types=node_types, descriptions=descriptions, attributes=node_attrs,
                           relation_ids=rel_iris, add_inverse=add_inverse, metadata=meta, source=source)


__all__ = ["read_rdf", "guess_format", "accepted_formats", "readable_relation", "FORMATS"]
