r"""Disambiguation: score each detected span's candidates and choose a node or NIL.

Each candidate :math:`v` of mention :math:`m` gets

.. math::
    s(v) = w_p\,p(v \mid a) + w_c \cos(x_m, e_v) + w_t\,\tau(m, v) + w_h\,h(v)
           + w_k\,\kappa(m, v) + w_s\,\sigma(m, v)

with :math:`p(v \mid a)` the prior from the candidate generator, :math:`x_m` the encoding of
the text window around :math:`m`, :math:`e_v` the cached encoding of the node's label and
description (:class:`kgattn.embeddings.NodeEmbeddings`), :math:`\tau \in \{-1, 0, 1\}` NER-type
compatibility (:mod:`kgattn.linking.coarse`), :math:`\sigma \in \{-1, 0, 1\}` agreement of the
node's part of speech (types such as WordNet's ``noun.animal``) with the one the left neighbour
implies, :math:`h(v)` the coherence with the other mentions of the window (mean cosine between
:math:`e_v` and their prior-weighted mean candidate encoding), and :math:`\kappa \in \{-1,0,1\}`
whether the capitalisation in the text agrees with the node's name. ``mode="prior"`` drops the
two embedding terms and needs no model. The default weights (:class:`ScoreWeights`) were chosen
on the odd-numbered half of ``benchmarks/data/disambiguation.jsonl``. The best candidate is
chosen when :math:`s \ge` ``nil_threshold``, else the mention is NIL (``node=None``). Ties
break by node index: results are deterministic.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kgattn.linking.coarse import NER_TO_COARSE, graph_node_coarse, type_compatibility
from kgattn.linking.detection import DetectedSpan
from kgattn.linking.types import Candidate, Mention

_POS_OF_TYPE = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
#: Rankings memoised (prior mode) before the memo is cleared: bounded memory on endless streams.
_MEMO_SIZE = 100_000


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the candidate score (see the module docstring)."""

    prior: float = 1.0
    context: float = 2.0
    type: float = 0.3
    coherence: float = 0.5
    case: float = 0.2
    pos: float = 0.3


class Disambiguator:
    """Ranks candidates and applies the NIL threshold (see the module docstring).

    Args:
        kg: the graph (node types give the type and part-of-speech features).
        weights: :class:`ScoreWeights`.
        top_k: candidates kept per mention, best score first.
        nil_threshold: least score of a chosen node.
        context: None (prior mode) or the encoders of the context terms, an object with
            ``context_encoder.encode(texts) -> float32 [n, d]`` (text windows) and
            ``node_embeddings(nodes) -> tensor [len(nodes), d]`` (nodes), e.g.
            :class:`~kgattn.linking.context.ContextModels` (built lazily: nothing loads until
            the first span with candidates is scored).
    """

    def __init__(self, kg, weights: ScoreWeights, *, top_k: int, nil_threshold: float, context=None):
        self.kg = kg
        self.weights = weights
        self.top_k = top_k
        self.nil_threshold = float(nil_threshold)
        self.context = context
        self._coarse: dict[int, str | None] = {}
        self._pos: dict[int, str | None] = {}
        self._memo: dict = {}

    @property
    def uses_context(self) -> bool:
        return self.context is not None

    def __call__(self, texts: Sequence[str], detected: list[list[DetectedSpan]]) -> list[list[Mention]]:
        """Mentions of each text from its detected spans (context terms first, when used)."""
        if self.uses_context:
            self.score_context(texts, detected)
        return [self.finish(t, spans) for t, spans in zip(texts, detected)]

    # ------------------------------------------------------------------ node features
    def node_pos(self, node: int) -> str | None:
        """Part of speech of a node from types like WordNet's ``noun.animal`` (else None)."""
        if node not in self._pos:
            found = None
            for t in self.kg.types(node):
                found = _POS_OF_TYPE.get(t.split(".", 1)[0])
                if found:
                    break
            self._pos[node] = found
        return self._pos[node]

    def node_coarse(self, node: int) -> str | None:
        """Coarse type (PER/LOC/ORG/MISC) of a node, or None."""
        if node not in self._coarse:
            self._coarse[node] = graph_node_coarse(self.kg, node)
        return self._coarse[node]

    # ------------------------------------------------------------------ scoring
    def score_context(self, texts: Sequence[str], detected: list[list[DetectedSpan]]) -> None:
        """Fill ``span.scores`` (context, coherence) for every span (one encoder pass per call).

        Coherence compares the mentions of one window: O(w^2) for w mentions per window, and w
        is bounded by the window's ``context_tokens`` pieces, so the cost is linear in the text.
        """
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
        x = np.asarray(self.context.context_encoder.encode(window_texts), dtype=np.float32)
        node_list = sorted(nodes)
        e = self.context.node_embeddings(node_list).numpy()
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

    def finish(self, text: str, spans: list[DetectedSpan]) -> list[Mention]:
        """Rank each span's candidates and choose its node (or NIL)."""
        out = []
        for span in spans:
            if not span.cands:
                out.append(Mention(span.start, span.end, text[span.start:span.end], (), None, span.ner_label))
                continue
            hint = NER_TO_COARSE.get(span.ner_label) if span.ner_label else None
            if span.scores:
                cands = self.rank(span.cands, span.scores, hint, span.case, span.pos)
            else:
                # Without context terms the ranking depends only on these, so it is memoised
                # (candidates are immutable and can be shared between mentions).
                memo_key = (tuple(span.cands), hint, span.case, span.pos)
                cands = self._memo.get(memo_key)
                if cands is None:
                    cands = self.rank(span.cands, None, hint, span.case, span.pos)
                    if len(self._memo) >= _MEMO_SIZE:
                        self._memo.clear()
                    self._memo[memo_key] = cands
            chosen = cands[0].node if cands[0].score >= self.nil_threshold else None
            out.append(Mention(span.start, span.end, text[span.start:span.end], cands, chosen, span.ner_label))
        return out

    def rank(self, cands, ctx, hint: str | None, case: int, pos: str | None) -> tuple[Candidate, ...]:
        """The ``top_k`` candidates by final score, best first (ties: lower node index)."""
        w = self.weights
        scored = []
        for i, (node, p, cased) in enumerate(cands):
            s = w.prior * p
            if ctx is not None:
                sim, coh = ctx[i]
                s += w.context * sim + w.coherence * coh
            if hint is not None:
                s += w.type * type_compatibility(hint, self.node_coarse(node))
            if case:
                s += w.case * (1.0 if (case > 0) == cased else -1.0)
            if pos is not None:
                npos = self.node_pos(node)
                if npos is not None:
                    s += w.pos * (1.0 if npos == pos else -1.0)
            scored.append((-s, node))
        scored.sort()
        return tuple(Candidate(node, -neg) for neg, node in scored[:self.top_k])
