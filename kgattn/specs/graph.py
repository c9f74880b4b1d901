"""The ``kg`` section of a spec (pipeline or pretraining): where the knowledge graph comes from."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from kgattn.errors import ConfigError
from kgattn.specs.base import PathValue, Section


class _KGSourceFields(Section):
    """Where one graph comes from: exactly one of ``importer``, ``path``, ``sparql``, ``oxigraph``."""

    importer: Literal["wordnet", "fb15k237"] | None = None
    path: PathValue | None = None
    format: str | None = None
    names: PathValue | None = None
    #: A SPARQL endpoint URL read in pages (:meth:`KnowledgeGraph.from_sparql`).
    sparql: str | None = None
    #: An on-disk Oxigraph store, opened read-only (:meth:`KnowledgeGraph.from_oxigraph`).
    oxigraph: PathValue | None = None
    #: Importer settings; unset ones keep the importer's defaults. ``add_inverse``: also add each
    #: edge reversed as its own relation; ``language``: RDF label language; ``splits``: FB15k-237
    #: triple files; ``allow_remote``: let JSON-LD fetch remote contexts (with a timeout; off by
    #: default: parsing never reaches the network); ``query`` (a CONSTRUCT or ``SELECT ?s ?p ?o``),
    #: ``graph`` (a named graph IRI), ``page_size`` and ``timeout`` (seconds per request) for SPARQL.
    add_inverse: bool | None = None
    language: str | None = None
    splits: list[Literal["train", "valid", "test"]] | None = None
    allow_remote: bool | None = None
    query: str | None = None
    graph: str | None = None
    page_size: int | None = Field(None, gt=0)
    timeout: float | None = Field(None, gt=0)

    SOURCE_KEYS: ClassVar[tuple[str, ...]] = ("importer", "path", "sparql", "oxigraph")
    IMPORT_KEYS: ClassVar[tuple[str, ...]] = ("add_inverse", "language", "splits", "allow_remote", "query", "graph",
                                             "page_size", "timeout")
    #: The settings each kind of source takes.
    KIND_KEYS: ClassVar[dict[str, tuple[str, ...]]] = {
        "wordnet": ("add_inverse",), "fb15k237": ("add_inverse", "splits"), "tsv": ("add_inverse",),
        "rdf": ("add_inverse", "language", "allow_remote"),
        "sparql": ("add_inverse", "language", "query", "graph", "page_size", "timeout"),
        "oxigraph": ("add_inverse", "language", "graph"),
    }
    _OMIT_UNSET: ClassVar[tuple[str, ...]] = ("sparql", "oxigraph", *IMPORT_KEYS)

    @property
    def kind(self) -> str | None:
        """``wordnet``, ``fb15k237``, ``tsv``, ``rdf`` (a file or a saved graph), ``sparql`` or ``oxigraph``."""
        if self.importer is not None:
            return self.importer
        if self.sparql is not None or self.oxigraph is not None:
            return "sparql" if self.sparql is not None else "oxigraph"
        if self.path is None:
            return None
        tsv = (self.format or "").lower() in ("tsv", "triples") or (
            self.format is None and any(x in (".tsv", ".txt") for x in self.path.suffixes))
        return "tsv" if tsv else "rdf"

    def _check_source(self) -> None:
        given = [k for k in self.SOURCE_KEYS if getattr(self, k) is not None and not (k == "path" and self.importer)]
        if len(given) > 1:
            raise ValueError(f"give one source, not {' and '.join(map(repr, given))}")
        self.import_options()

    def import_options(self) -> dict[str, Any]:
        """The importer keyword arguments this source sets."""
        given = {k: getattr(self, k) for k in self.IMPORT_KEYS if getattr(self, k) is not None}
        misplaced = sorted(set(given) - set(self.KIND_KEYS.get(self.kind, ())))
        if misplaced:
            raise ValueError(f"{', '.join(map(repr, misplaced))} does not apply to this source ({self.kind})")
        return given


class KGSourceSpec(_KGSourceFields):
    """One graph of a multi-source ``kg`` section: the single-source fields plus ``prefix``,
    a string prepended to this graph's node ids (so that equal ids in two graphs stay apart)."""

    prefix: str = ""

    @model_validator(mode="after")
    def _source(self) -> "KGSourceSpec":
        if self.kind is None:
            raise ValueError("give either 'importer' (wordnet, fb15k237), 'path', 'sparql' or 'oxigraph'")
        self._check_source()
        return self


class KGSpec(_KGSourceFields):
    """Where the knowledge graph comes from: a built-in importer, a file, or several of them.

    ``importer: wordnet`` (WordNet 3.0 from ``path`` or /usr/share/wordnet) or ``fb15k237``
    (``path`` = the FB15k-237 folder, default ``${KGATTN_DATA}/fb15k-237``); otherwise ``path`` is
    an RDF file (``format`` an rdflib name, guessed from the extension when omitted), a TSV of
    ``head<TAB>relation<TAB>tail`` triples (``format: tsv``, ``names`` an optional id->name TSV)
    or a directory written by ``KnowledgeGraph.save``.

    ``sparql``: a SPARQL endpoint URL (pulled in pages with retries and a per-request ``timeout``;
    ``query`` a CONSTRUCT or ``SELECT ?s ?p ?o``, ``graph`` a named graph); ``oxigraph``: the folder
    of an on-disk Oxigraph store, read without loading a file.

    ``sources``, instead of those fields: a list of such sources (each may add a ``prefix``),
    imported one by one and united with :meth:`kgattn.graph.KnowledgeGraph.union` (equal node ids
    are one node unless prefixed; ``relations: shared`` (default) makes equal relation ids one
    relation, ``separate`` keeps every source's relations apart).
    """

    sources: list[KGSourceSpec] | None = Field(None, min_length=1)
    relations: Literal["shared", "separate"] | None = None

    #: Fields left out of the dump (so of every hash) while unset: the specs written before they
    #: existed keep their config hash, so their run directories and stage keys.
    _OMIT_UNSET: ClassVar[tuple[str, ...]] = (*_KGSourceFields._OMIT_UNSET, "sources", "relations")

    @model_validator(mode="after")
    def _source(self) -> "KGSpec":
        if self.sources is not None:
            given = [k for k in ("importer", "path", "format", "names", "sparql", "oxigraph", *self.IMPORT_KEYS)
                     if getattr(self, k) is not None]
            if given:
                raise ValueError(f"give either 'sources' or {', '.join(repr(k) for k in given)}, not both "
                                 "(with 'sources' every source has its own fields)")
            return self
        if self.relations is not None:
            raise ValueError("'relations' applies to several 'sources' only")
        if self.kind is None:
            raise ValueError("give either 'importer' (wordnet, fb15k237), 'path', 'sparql', 'oxigraph' or 'sources'")
        self._check_source()
        return self

    @property
    def source_list(self) -> list[_KGSourceFields]:
        """The sources to import: ``sources``, or this section itself when it names one graph."""
        return list(self.sources) if self.sources is not None else [self]


def import_graph(spec: KGSpec | KGSourceSpec):
    """Build the graph a ``kg`` section names; several ``sources`` are imported one by one and
    united (:meth:`KnowledgeGraph.union`). The pipeline and ``kgattn pretrain`` both call this, so
    the same section gives the same graph (and fingerprint) in both."""
    from kgattn.graph import KnowledgeGraph

    if getattr(spec, "sources", None) is not None:   # a single KGSourceSpec has no sources
        graphs = [_import_source(source, f"kg.sources.{i}") for i, source in enumerate(spec.sources)]
        prefixes = [source.prefix for source in spec.sources]
        return KnowledgeGraph.union(graphs, prefixes if any(prefixes) else None, relations=spec.relations or "shared")
    return _import_source(spec, "kg")


def _import_source(spec: _KGSourceFields, key: str):
    from kgattn.graph import KnowledgeGraph

    if spec.importer == "wordnet":
        from kgattn.datasets.wordnet import wordnet

        return wordnet(spec.path, **spec.import_options())
    if spec.importer == "fb15k237":
        from kgattn.datasets.fb15k237 import fb15k237

        return fb15k237(spec.path, **spec.import_options())
    if spec.kind == "sparql":
        return KnowledgeGraph.from_sparql(spec.sparql, **spec.import_options())
    if spec.kind == "oxigraph":
        return KnowledgeGraph.from_oxigraph(spec.oxigraph, **spec.import_options())
    path = spec.path
    if not path.exists():
        raise ConfigError(f"{key}.path: {path} does not exist")
    if path.is_dir():
        return KnowledgeGraph.load(path)
    options = spec.import_options()
    if spec.kind == "tsv":
        from kgattn.graph.stream_triples import use_streaming_triples

        if use_streaming_triples(path, "auto"):
            return _streamed_graph("triples", [path, *([spec.names] if spec.names else [])],
                                   lambda target: KnowledgeGraph.import_triples(path, target, streaming=True,
                                                                                names=spec.names, **options),
                                   {**options, "names": str(spec.names)})
        return KnowledgeGraph.from_triples(path, names=spec.names, **options)
    if _streams(path, spec.format):
        allowed = {k: v for k, v in options.items() if k in ("language", "add_inverse")}  # N-Triples has no contexts
        return _streamed_graph("ntriples", [path], lambda target: KnowledgeGraph.import_rdf(
            path, target, streaming=True, **allowed), options)
    return KnowledgeGraph.from_rdf(path, format=spec.format, **options)


def _streams(path: Path, format: str | None) -> bool:
    from kgattn.graph.streaming import use_streaming

    return use_streaming(path, format, "auto")


def _streamed_graph(kind: str, files: list[Path], import_into, options: dict):
    """A large N-Triples or triple file (:data:`kgattn.graph.streaming.STREAMING_THRESHOLD_BYTES`
    or more): imported once in bounded memory (``import_into(target)``) into the graph cache,
    keyed by the files' paths, sizes and mtimes and the options, then memory-mapped; the
    in-memory import would need about 0.8 KB of RAM per triple."""
    from kgattn.graph import KnowledgeGraph
    from kgattn.graph.cache import source_key
    from kgattn.paths import cache_dir

    target = cache_dir("graphs") / f"{kind}-{source_key(f'{kind}-stream', files, options)}"
    if (target / "meta.json").is_file():
        return KnowledgeGraph.load(target)
    return import_into(target)
