"""Graphs that live in triple stores: a SPARQL endpoint, or an Oxigraph store on disk.

Both readers return the same parts as a file would (:func:`kgattn.graph.rdf.map_triples`):
labels, aliases, types and descriptions come from the same predicates, literals are filtered by
language, and blank nodes get the same content-derived ids, so a graph read from a store that
was loaded from a file has the file's fingerprint.

SPARQL (:func:`read_sparql`), over the SPARQL 1.1 protocol (HTTP POST, stdlib only):

* the default query reads every triple of the default graph (or of ``graph``) as
  ``SELECT ?s ?p ?o ... ORDER BY ?s ?p ?o`` in pages of ``page_size`` rows (ORDER BY makes the
  pages a partition of the result on any endpoint);
* ``query`` may be a user ``SELECT ?s ?p ?o`` or ``CONSTRUCT`` query; it is paged by appending
  ``LIMIT``/``OFFSET`` unless it has its own ``LIMIT`` (then it is sent once); give it an
  ``ORDER BY`` where the endpoint does not promise a stable order;
* each request has ``timeout`` seconds; a request that times out, cannot connect, or gets
  HTTP 429/5xx is retried ``retries`` times (0.5 s, 1 s, 2 s, ... apart), so an unreachable
  endpoint fails after at most ``(retries + 1) * timeout`` seconds plus the pauses; other HTTP
  errors (a bad query) fail at once with the endpoint's message;
* blank node labels are taken as the endpoint gives them; endpoints that relabel blank nodes
  per response (allowed by SPARQL) make paged blank nodes unreliable.
"""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from kgattn.errors import EmptyGraphError, GraphFormatError
from kgattn.graph.parts import GraphParts
from kgattn.graph.rdf import map_triples
from kgattn.graph.rdf_parse import MAX_LITERAL_LENGTH, plain_ox_triples

DEFAULT_PAGE_SIZE = 10_000
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
_KIND = re.compile(r"^(?:\s*(?:#[^\n]*|(?:PREFIX|BASE)\b[^<]*<[^>]*>))*\s*(SELECT|CONSTRUCT|DESCRIBE|ASK)\b",
                   re.IGNORECASE)
_HAS_LIMIT = re.compile(r"\bLIMIT\s+\d+\s*(?:OFFSET\s+\d+\s*)?$|\bOFFSET\s+\d+\s*(?:LIMIT\s+\d+\s*)?$",
                        re.IGNORECASE)


class EndpointError(GraphFormatError):
    """A SPARQL endpoint that cannot be reached, times out, or answers with an error; names it."""


def default_query(graph: str | None) -> str:
    pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    return f"SELECT ?s ?p ?o WHERE {{ {pattern} }} ORDER BY ?s ?p ?o"


def read_sparql(endpoint: str, query: str | None = None, graph: str | None = None, *,
                page_size: int = DEFAULT_PAGE_SIZE, timeout: float = DEFAULT_TIMEOUT,
                retries: int = DEFAULT_RETRIES, language: str | None = "en", type_edges: bool = False,
                max_literal_length: int = MAX_LITERAL_LENGTH) -> GraphParts:
    """The parts of the graph a SPARQL endpoint holds (see the module docstring).

    Args:
        endpoint: the query URL (``http(s)://host/sparql``).
        query: a ``SELECT ?s ?p ?o`` or ``CONSTRUCT`` query; default: every triple of the
            default graph, or of ``graph`` (an IRI) when given. ``graph`` with ``query`` is an error.
        page_size: rows (SELECT) or solutions (CONSTRUCT) per request.
        timeout: seconds per request; ``retries``: further tries of a failed request.
        language, type_edges, max_literal_length: as for :meth:`KnowledgeGraph.from_rdf`.

    Raises :class:`EndpointError` naming the endpoint when it cannot be read, and
    :class:`~kgattn.errors.EmptyGraphError` naming it when the query returns no triple.
    """
    if not re.match(r"https?://", endpoint or ""):
        raise EndpointError("the endpoint must be an http(s):// URL", endpoint)
    if page_size < 1 or timeout <= 0 or retries < 0:
        raise ValueError(f"page_size >= 1, timeout > 0 and retries >= 0 are needed, got {page_size}, "
                         f"{timeout}, {retries}")
    if query is not None and graph is not None:
        raise ValueError("give either query= or graph=, not both (put the GRAPH clause into the query)")
    text = query if query is not None else default_query(graph)
    m = _KIND.match(text)
    kind = m.group(1).upper() if m else None
    if kind not in ("SELECT", "CONSTRUCT"):
        raise EndpointError(f"the query must be a SELECT ?s ?p ?o or a CONSTRUCT query, got {text[:80]!r}",
                            endpoint)
    paged = not _HAS_LIMIT.search(text.strip())
    terms: list = []
    pages = 0
    while True:
        page_query = f"{text}\nLIMIT {page_size} OFFSET {pages * page_size}" if paged else text
        page = _request(endpoint, page_query, kind, timeout, retries)
        rows = _select_triples(page, endpoint) if kind == "SELECT" else _construct_triples(page, endpoint)
        pages += 1
        terms.extend(rows)
        if not paged or not rows or (kind == "SELECT" and len(rows) < page_size):
            break
    if not terms:
        raise EmptyGraphError(f"{endpoint}: the query returned no triple ({text[:200]!r})")
    triples = list(dict.fromkeys(plain_ox_triples(terms, endpoint, max_literal_length)))
    return map_triples(triples, endpoint, language=language, type_edges=type_edges,
                       metadata={"engine": {endpoint: "sparql"}, "named_graphs": 0, "pages": pages,
                                 "query": text})


def _request(endpoint: str, query: str, kind: str, timeout: float, retries: int) -> bytes:
    accept = "application/sparql-results+json" if kind == "SELECT" else "application/n-triples"
    body = urllib.parse.urlencode({"query": query}).encode()
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked
                return response.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace").strip()
            if e.code != 429 and e.code < 500:
                raise EndpointError(f"HTTP {e.code} {e.reason}: {detail}", endpoint) from None
            last = f"HTTP {e.code} {e.reason}: {detail}"
        except (TimeoutError, urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            last = (f"no answer within {timeout:g} s (timeout)" if isinstance(reason, TimeoutError)
                    else f"cannot connect ({reason})")
    raise EndpointError(f"{last}; gave up after {retries + 1} tries", endpoint)


def _select_triples(data: bytes, endpoint: str) -> list:
    import pyoxigraph as ox

    try:
        solutions = ox.parse_query_results(data, ox.QueryResultsFormat.JSON)
        names = {v.value for v in solutions.variables}
        if not {"s", "p", "o"} <= names:
            raise EndpointError(f"a SELECT query must bind ?s ?p ?o, this one binds {sorted(names)}", endpoint)
        rows = [(row["s"], row["p"], row["o"]) for row in solutions]
    except (SyntaxError, ValueError, OSError) as e:
        raise EndpointError(f"unreadable SPARQL JSON results: {e}", endpoint) from None
    if any(t is None for row in rows for t in row):
        raise EndpointError("a result row leaves ?s, ?p or ?o unbound", endpoint)
    return rows


def _construct_triples(data: bytes, endpoint: str) -> list:
    import pyoxigraph as ox

    try:
        return [(t.subject, t.predicate, t.object) for t in ox.parse(data, ox.RdfFormat.N_TRIPLES)]
    except (SyntaxError, ValueError, OSError) as e:
        raise EndpointError(f"unreadable CONSTRUCT result (N-Triples expected): {e}", endpoint) from None


def read_oxigraph(path: str | Path, graph: str | None = None, *, language: str | None = "en",
                  type_edges: bool = False, max_literal_length: int = MAX_LITERAL_LENGTH) -> GraphParts:
    """The parts of the graph in an Oxigraph store directory, opened read-only.

    Reads the default graph, or the named graph ``graph`` (an IRI); nothing is loaded from a
    file and the store is never written. The other arguments are as for :func:`read_sparql`.
    """
    import pyoxigraph as ox

    path = Path(path)
    if not path.is_dir():
        raise GraphFormatError("no Oxigraph store here (not a directory)", path)
    try:
        store = ox.Store.read_only(str(path))
    except OSError as e:
        raise GraphFormatError(f"cannot open as an Oxigraph store: {e}", path) from None
    graph_name = ox.NamedNode(graph) if graph else ox.DefaultGraph()
    terms = [(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph_name)]
    if not terms:
        where = f"named graph <{graph}>" if graph else "default graph"
        raise EmptyGraphError(f"{path}: the store's {where} holds no triple")
    return map_triples(plain_ox_triples(terms, path, max_literal_length), str(path), language=language,
                       type_edges=type_edges, metadata={"engine": {str(path): "oxigraph-store"}, "named_graphs": 0})
