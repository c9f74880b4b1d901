"""Parsing RDF files into plain triples, and what parsing may and may not do.

rdflib reads every format; N-Triples, N-Quads, Turtle and TriG go through pyoxigraph when it is
installed (``engine="auto"``), measured >= 10x faster (``benchmarks/graph.py``).

Security model (a graph file may come from anyone):

* **No network.** Parsing never opens a URL. JSON-LD context references are resolved by an
  offline loader (:mod:`kgattn.graph.jsonld`): a remote ``@context``/``@import`` is an error
  naming the URL unless ``allow_remote=True`` (then fetched with ``remote_timeout``). RDF/XML
  external entities are never fetched.
* **No exponential work.** RDF/XML documents that declare entities in their DTD ("billion
  laughs", external entities) are refused as soon as the declaration is read
  (:class:`HardenedExpatParser`), not after the expansion.
* **Bounded strings.** A literal longer than :data:`MAX_LITERAL_LENGTH` characters
  (``max_literal_length=``) is refused naming file, subject and predicate.
* **Damaged files.** A truncated or damaged ``.gz``, invalid UTF-8, or a syntax error is a
  :class:`~kgattn.errors.GraphFormatError` naming the file (and the line when the parser knows
  it). A ``\\uD801\\uDC69``-style UTF-16 surrogate-pair escape, valid in Turtle and N-Triples but
  refused by pyoxigraph, is read by rdflib and decoded to the one character it encodes; a lone
  surrogate is an error.
"""
from __future__ import annotations

import gzip
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple
from xml.sax.expatreader import ExpatParser

from kgattn.errors import GraphFormatError, UnknownFormatError
from kgattn.graph.jsonld import DEFAULT_REMOTE_TIMEOUT, ContextLoader, parse_json

#: Longest literal (characters) a graph file may hold: 1 MiB.
MAX_LITERAL_LENGTH = 1 << 20

#: file extension -> rdflib format name
FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt", ".nq": "nquads",
           ".nquads": "nquads", ".trig": "trig", ".n3": "n3", ".rdf": "xml", ".xml": "xml", ".owl": "xml",
           ".jsonld": "json-ld", ".json": "json-ld"}
_ALIASES = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt", "n-triples": "nt",
            "nquads": "nquads", "nq": "nquads", "n-quads": "nquads", "trig": "trig", "n3": "n3",
            "xml": "xml", "rdf/xml": "xml", "rdfxml": "xml", "application/rdf+xml": "xml",
            "json-ld": "json-ld", "jsonld": "json-ld"}
_DATASET_FORMATS = {"nquads", "trig"}
_OX_FORMATS = {"nt": "N_TRIPLES", "nquads": "N_QUADS", "turtle": "TURTLE", "trig": "TRIG"}
ENGINES = ("auto", "rdflib", "oxigraph")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Lit(NamedTuple):
    value: str
    lang: str | None


class ParseOptions(NamedTuple):
    """What a caller may relax; see the module docstring."""

    allow_remote: bool = False
    remote_timeout: float = DEFAULT_REMOTE_TIMEOUT
    max_literal_length: int = MAX_LITERAL_LENGTH


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


_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _gzip_error(e: Exception, path: Path) -> GraphFormatError:
    return GraphFormatError(f"truncated or damaged gzip file ({type(e).__name__}: {e})", path)


def read_bytes(path: Path) -> bytes:
    """The (gunzipped) content of ``path``; a damaged ``.gz`` names the file."""
    with _open_binary(path) as f:
        try:
            return f.read()
        except _GZIP_ERRORS as e:
            raise _gzip_error(e, path) from None


# ---------------------------------------------------------------------- RDF/XML without entities
class _EntityDeclared(Exception):
    def __init__(self, what: str, line: int):
        super().__init__(what, line)
        self.what, self.line = what, line


class HardenedExpatParser(ExpatParser):
    """xml.sax's expat reader that stops at the first DTD entity declaration.

    Entity declarations are what "billion laughs" (nested internal entities) and external
    entities need; refusing them when expat reports the declaration costs nothing, whereas the
    expansion they ask for grows exponentially. Documents without a DTD parse as before.
    """

    def reset(self):
        super().reset()
        parser = self._parser

        def refuse(name, *args):
            raise _EntityDeclared(f"declares the entity {name!r} in its DTD", parser.CurrentLineNumber)

        def refuse_external(context, base, sysid, pubid):
            raise _EntityDeclared(f"refers to the external DTD or entity {sysid or pubid!r}",
                                  parser.CurrentLineNumber)

        parser.EntityDeclHandler = refuse
        parser.UnparsedEntityDeclHandler = refuse
        parser.ExternalEntityRefHandler = refuse_external


def _parse_rdfxml(data: bytes, graph, public_id: str) -> None:
    """rdflib's RDF/XML handler fed by :class:`HardenedExpatParser` (rdflib's ``create_parser``
    with the reader swapped)."""
    from xml.sax import handler

    from rdflib.parser import create_input_source
    from rdflib.plugins.parsers.rdfxml import ErrorHandler, RDFXMLHandler

    source = create_input_source(data=data, publicID=public_id, format="xml")
    parser = HardenedExpatParser()
    parser.start_namespace_decl("xml", "http://www.w3.org/XML/1998/namespace")
    parser.setFeature(handler.feature_namespaces, 1)
    content = RDFXMLHandler(graph)
    content.setDocumentLocator(source)
    parser.setContentHandler(content)
    parser.setErrorHandler(ErrorHandler())
    parser.parse(source)


# ---------------------------------------------------------------------- parsers
def _rdflib_terms(path: Path, fmt: str, options: ParseOptions) -> tuple[list, int]:
    """All triples of a file as rdflib terms, and the number of named graphs."""
    import rdflib
    from rdflib.parser import PythonInputSource

    g = rdflib.Dataset() if fmt in _DATASET_FORMATS else rdflib.Graph()
    data = read_bytes(path)
    public_id = path.resolve().as_uri()
    try:
        with warnings.catch_warnings():
            # rdflib's own parsers call its deprecated Dataset APIs; nothing the user can act on.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"rdflib\.")
            if fmt == "xml":
                _parse_rdfxml(data, g, public_id)
            elif fmt == "json-ld":
                doc = ContextLoader(path, options.allow_remote, options.remote_timeout).inline(parse_json(data, path))
                g.parse(source=PythonInputSource(doc, public_id), format=fmt)
            else:
                g.parse(data=data, format=fmt, publicID=public_id)
    except (FileNotFoundError, UnknownFormatError, GraphFormatError):
        raise
    except _EntityDeclared as e:
        raise GraphFormatError(f"RDF/XML {e.what}; entity declarations and external references are refused "
                               "(they expand exponentially, 'billion laughs', or read other files and URLs)",
                               path, e.line) from None
    except Exception as e:  # rdflib raises many types; all mean "malformed"
        raise _rdflib_error(e, path, data, fmt) from None
    if fmt in _DATASET_FORMATS:
        from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

        triples = [(s, p, o) for s, p, o, _ in g.quads()]
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


class _UseRdflib(Exception):
    """pyoxigraph refused something valid that rdflib reads (a surrogate-pair escape)."""


def _oxigraph_terms(path: Path, fmt: str, max_literal_length: int) -> tuple[list, list, set]:
    """Triples without blank nodes as plain tuples (literals checked against the limit); triples
    with blank nodes as rdflib terms."""
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
                    value = o.value
                    if len(value) > max_literal_length:
                        _too_long(value, s.value, p.value, path, max_literal_length)
                    plain.append((s.value, p.value, Lit(value, o.language)))
                elif type(o) is NamedNode and type(s) is NamedNode:
                    plain.append((s.value, p.value, o.value))
                else:
                    raise GraphFormatError(f"unsupported RDF term (RDF-star triple term?): {q}", path)
    except SyntaxError as e:
        text = str(e.msg if hasattr(e, "msg") else e)
        if "escape sequence" in text and "not a valid unicode character" in text:
            raise _UseRdflib from None
        raise GraphFormatError(f"malformed {fmt}: {text}", path, _ox_line(e)) from None
    except _GZIP_ERRORS as e:
        raise _gzip_error(e, path) from None
    return plain, with_bnodes, graphs


def plain_ox_triples(triples: Iterable[tuple], source, max_literal_length: int = MAX_LITERAL_LENGTH) -> list:
    """pyoxigraph ``(subject, predicate, object)`` terms (from a store or a SPARQL endpoint) as
    plain triples, literals checked and blank nodes canonically labelled exactly as for files."""
    import pyoxigraph as ox

    plain, with_bnodes = [], []
    for s, p, o in triples:
        if type(s) is ox.BlankNode or type(o) is ox.BlankNode:
            with_bnodes.append(_ox_to_rdflib(s, p, o))
        elif type(o) is ox.Literal:
            plain.append((s.value, p.value, Lit(o.value, o.language)))
        elif type(o) is ox.NamedNode and type(s) is ox.NamedNode:
            plain.append((s.value, p.value, o.value))
        else:
            raise GraphFormatError(f"unsupported RDF term (RDF-star triple term?): {s} {p} {o}", source)
    out = list(_checked(plain, source, max_literal_length, False))
    if with_bnodes:
        out.extend(_checked(_plain(_canonical_bnode_triples(with_bnodes)), source, max_literal_length, False))
    return out


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


def _checked(triples: Iterable[tuple], path: Path, max_literal_length: int, surrogates: bool) -> Iterator[tuple]:
    """Refuse over-long literals; with ``surrogates`` (rdflib's output), join the UTF-16 surrogate
    pairs that rdflib leaves split (``\\uD801\\uDC69`` -> one character)."""
    for s, p, o in triples:
        if isinstance(o, Lit) and len(o.value) > max_literal_length:
            _too_long(o.value, s, p, path, max_literal_length)
        if surrogates and (_SURROGATE.search(s) or _SURROGATE.search(p)
                           or _SURROGATE.search(o.value if isinstance(o, Lit) else o)):
            s, p = _join_pairs(s, path), _join_pairs(p, path)
            o = Lit(_join_pairs(o.value, path), o.lang) if isinstance(o, Lit) else _join_pairs(o, path)
        yield s, p, o


def _too_long(value: str, s: str, p: str, path, limit: int):
    raise GraphFormatError(f"literal of {len(value)} characters (limit max_literal_length={limit}) for subject "
                           f"{s[:100]} predicate {p[:100]}", path)


def _join_pairs(text: str, path: Path) -> str:
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise GraphFormatError(f"lone UTF-16 surrogate escape in {text[:100]!r}; it encodes no character",
                               path) from None


def iter_triples(paths: list[Path], format: str | None, engine: str,
                 options: ParseOptions = ParseOptions()) -> tuple[list, dict]:
    """Every triple of ``paths`` as (subject, predicate, object str or :class:`Lit`) and parse stats."""
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
            try:
                plain, bnode_triples, graphs = _oxigraph_terms(path, fmt, options.max_literal_length)
                stats["named_graphs"] += len(graphs)
                out.extend(plain)
            except _UseRdflib:
                use_ox = False
        if not use_ox:
            import rdflib

            triples, n_graphs = _rdflib_terms(path, fmt, options)
            stats["named_graphs"] += n_graphs
            bnode_triples, plain_triples = [], []
            for t in triples:
                (bnode_triples if isinstance(t[0], rdflib.BNode) or isinstance(t[2], rdflib.BNode)
                 else plain_triples).append(t)
            out.extend(_checked(_plain(plain_triples), path, options.max_literal_length, True))
        stats["engine"][str(path)] = "oxigraph" if use_ox else "rdflib"
        if bnode_triples:
            # Blank node labels are file-local: canonicalise each file's share separately.
            out.extend(_checked(_plain(_canonical_bnode_triples(bnode_triples)), path, options.max_literal_length,
                                not use_ox))
    return out, stats


def _have_oxigraph() -> bool:
    try:
        import pyoxigraph  # noqa: F401
    except ImportError:
        return False
    return True
