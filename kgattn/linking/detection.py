"""Mention detection: text -> spans that may name graph nodes, each with its candidates and the
features the disambiguator reads (spaCy's entity linker splits the same way: NER / matching
first, candidates and scoring after).

Per text, in one pass that is linear in its length (plus sorting the matches):

1. **Gazetteer** -- the alias table's matcher over the normalised pieces
   (:meth:`~kgattn.linking.gazetteer.AliasTable.find`), and again over their lemmas
   (:class:`~kgattn.linking.text.Lemmatizer`: ``"banks"`` finds ``bank``). The longest match
   wins, among equally long ones the leftmost. A span whose keys get no candidate from the
   candidate generator (e.g. none passes ``node_types``) is no mention, so a shorter name inside
   it can match instead. Names of fewer than three characters match only when written in
   capitals (``UK``, ``TV``).
2. **NER spans** (from :class:`~kgattn.linking.ner.SpacyNER` or given by the caller): a span
   that names a key replaces the gazetteer matches it overlaps and carries its label; one that
   names no key is kept as a NIL mention when nothing overlaps it (else the matches inside it
   stand, and the one covering its last piece inherits the label as a type hint).
3. **Mention rules** (:mod:`kgattn.linking.rules`, when given): no match may cut an
   initialism ("the U" of "the U.N."), and a lower-case span or a capitalised piece of a longer
   name loses its *entity* candidates (a span left with none is no mention).
4. **Span features** -- capitalisation (neutral at sentence starts and in all-caps text), the
   part of speech the left neighbour implies ("the *bat*": noun, "to *bat*": verb), and the
   context window (``context_tokens`` pieces, aligned to multiples of it) whose encoding the
   context score compares with the candidates.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from kgattn.errors import ConfigError
from kgattn.linking.candidates import CandidateGenerator, RawCandidate
from kgattn.linking.coarse import NER_TO_COARSE
from kgattn.linking.ner import NerSpan, SpacyNER
from kgattn.linking.rules import MentionRules, TextRules
from kgattn.linking.text import Lemmatizer, Tokens, tokenize

#: Left neighbours after which a word is a noun ("the bat") or a verb ("to bat").
NOUN_BEFORE = frozenset("a an the this that these those my your his her its our their every each no "
                        "of in on at from with into onto for by about under over near s".split())
VERB_BEFORE = frozenset("to will would can could should must may might shall".split())


@dataclass
class DetectedSpan:
    """A detected mention before scoring: what detection hands to disambiguation."""

    start: int                      # character offsets into the text
    end: int
    first: int                      # first piece
    cands: list[RawCandidate]       # from the candidate generator, best prior first
    ner_label: str | None = None
    case: int = 0                   # +1 text capitalised, -1 lower-case, 0 neutral
    pos: str | None = None          # part of speech the left neighbour implies ("n" after "the")
    window: tuple[int, int] = (0, 0)  # character span of the context window
    scores: list[tuple[float, float]] = field(default_factory=list)  # (context, coherence) per candidate


# (first piece, stop piece, alias keys, NER label) of a chosen span, before its features.
_Chosen = tuple[int, int, list[int], "str | None"]


def mostly_upper(text: str) -> bool:
    """True for all-caps text (headlines), where capitalisation says nothing about names."""
    letters = sum(map(str.isalpha, text))
    return letters >= 4 and sum(map(str.isupper, text)) > 0.6 * letters


class MentionDetector:
    """Gazetteer + lemma + NER mention detection over one alias table (see the module docstring).

    Args:
        table: the :class:`~kgattn.linking.gazetteer.AliasTable` (or an index with the same
            ``find`` / ``lookup`` / ``vocabulary`` methods).
        candidates: the candidate generator (:mod:`kgattn.linking.candidates`).
        ner: the NER model proposing spans (:class:`~kgattn.linking.ner.SpacyNER`).
        lemmatize: also match lemmatised pieces.
        context_tokens: pieces per context window.
        rules: the :class:`~kgattn.linking.rules.MentionRules`; None: none.
        is_entity: ``node -> bool`` (:class:`~kgattn.graph.entities.EntityTest`); needed when
            ``rules`` restricts entity links.
        stop_words: casefolded words that never make a name (for ``rules.whole_names``).
    """

    def __init__(self, table, candidates: CandidateGenerator, ner: SpacyNER | None = None, *,
                 lemmatize: bool = True, context_tokens: int = 48, rules: MentionRules | None = None,
                 is_entity=None, stop_words: frozenset[str] = frozenset()):
        self.table = table
        self.candidates = candidates
        self.ner = ner or SpacyNER(None)
        self.lemmatize = lemmatize
        self.context_tokens = int(context_tokens)
        self.rules = rules if rules is not None and (rules.any_entity_rule or rules.whole_initialisms) else None
        if self.rules is not None and self.rules.any_entity_rule and is_entity is None:
            raise ConfigError("rules: rules that restrict entity links need is_entity (a node -> bool test)")
        self.is_entity = is_entity
        self.stop_words = stop_words
        self._concept_words: dict[str, bool] = {}
        self._lemmatizer: Lemmatizer | None = None

    @property
    def lemmatizer(self) -> Lemmatizer:
        """The lemmatiser over the table's vocabulary (built on first use)."""
        if self._lemmatizer is None:
            self._lemmatizer = Lemmatizer(self.table.vocabulary())
        return self._lemmatizer

    def detect_batch(self, texts: Sequence[str],
                     ents: Sequence[Sequence[NerSpan]] | None = None) -> list[list[DetectedSpan]]:
        """Spans of each text; ``ents`` (NER spans per text) replaces running the NER model."""
        if ents is None:
            ents = self.ner(texts)
        return [self.detect(t, e) for t, e in zip(texts, ents)]

    def detect(self, text: str, ents: Sequence[NerSpan] = ()) -> list[DetectedSpan]:
        """Spans of one text, sorted by start and non-overlapping; ``ents`` are its NER spans."""
        if not text or text.isspace():
            return []
        toks = tokenize(text)
        if not len(toks):
            return []
        rules = None if self.rules is None else TextRules(self.rules, text, toks, self.is_entity,
                                                           self.stop_words, self._concept_word)
        chosen, cands_of = self._gazetteer(text, toks, rules)
        if ents:
            chosen = self._merge_ner(toks, chosen, ents)
        else:
            chosen.sort(key=lambda c: c[0])
        return self._features(text, toks, chosen, cands_of, rules)

    def _concept_word(self, piece: str) -> bool:
        """The graph knows ``piece`` alone as the name of a concept ("pope", "president")."""
        hit = self._concept_words.get(piece)
        if hit is None:
            key = self.table.lookup([piece])
            hit = key is not None and any(not self.is_entity(c[0]) for c in self.candidates([key]))
            if len(self._concept_words) >= 100_000:
                self._concept_words.clear()  # bounded memory on endless streams of new words
            self._concept_words[piece] = hit
        return hit

    # ------------------------------------------------------------------ steps
    def _gazetteer(self, text: str, toks: Tokens, rules: TextRules | None = None) -> tuple[list[_Chosen], dict]:
        """Longest-first, non-overlapping gazetteer matches, and the candidates found for them."""
        table = self.table
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
        taken = bytearray(len(toks))
        chosen: list[_Chosen] = []
        cands_of: dict[tuple[int, ...], list[RawCandidate]] = {}
        for (first, stop), keys in sorted(found.items(), key=lambda kv: (kv[0][0] - kv[0][1], kv[0][0])):
            if any(taken[first:stop]) or (rules is not None and rules.cuts_initialism(first, stop)):
                continue
            kt = tuple(keys)
            if kt not in cands_of:
                cands_of[kt] = self.candidates(keys)
            if not cands_of[kt]:
                continue  # no node the generator accepts: not a mention; a shorter name may match
            if rules is not None and not rules.filter(cands_of[kt], first, stop):
                if rules.piece_of_name(first, stop):
                    # A piece of a longer name: the names inside it are pieces too ("York" of
                    # "New York Titans"), so none of them may match.
                    taken[first:stop] = b"\x01" * (stop - first)
                continue
            surface = text[toks.start[first]:toks.end[stop - 1]]
            if len(surface) < 3 and not surface.isupper() and surface.lower() != surface.upper():
                continue  # short cased names match only as capitals ("UK"), not "ad", "ma"; 東京 is fine
            taken[first:stop] = b"\x01" * (stop - first)
            chosen.append((first, stop, keys, None))
        return chosen, cands_of

    def _merge_ner(self, toks: Tokens, chosen: list[_Chosen], ents: Sequence[NerSpan]) -> list[_Chosen]:
        """Add NER spans (see the module docstring). The spans stay non-overlapping, so they are
        kept sorted by start and each NER span finds what it overlaps by bisection: the merge
        costs O(E log M) for E NER spans and M matches, not O(E M)."""
        table = self.table
        chosen = sorted(chosen, key=lambda c: c[0])
        starts = [c[0] for c in chosen]
        by_start = {c[0]: c for c in chosen}
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
            # Spans overlapping [first, stop): at most one starting before `first`, then those
            # starting before `stop` (non-overlapping spans sorted by start have sorted ends).
            lo = hi = bisect.bisect_left(starts, first)
            if lo > 0 and by_start[starts[lo - 1]][1] > first:
                lo -= 1
            while hi < len(starts) and starts[hi] < stop:
                hi += 1
            if keys:
                for st in starts[lo:hi]:
                    del by_start[st]
                starts[lo:hi] = [first]
                by_start[first] = (first, stop, keys, label)
            elif lo == hi:
                starts.insert(lo, first)
                by_start[first] = (first, stop, [], label)
            else:
                # The span names nothing the graph knows as a whole; its parts keep their matches,
                # and a part covering the span's head (last piece) inherits the type hint.
                for st in starts[lo:hi]:
                    c = by_start[st]
                    if c[1] == stop and c[3] is None:
                        by_start[st] = (c[0], c[1], c[2], label)
        return [by_start[st] for st in starts]

    def _features(self, text: str, toks: Tokens, chosen: list[_Chosen], cands_of: dict,
                  rules: TextRules | None = None) -> list[DetectedSpan]:
        shouting = mostly_upper(text)
        ct, n = self.context_tokens, len(toks)
        spans = []
        for first, stop, keys, label in chosen:
            cands = cands_of.get(tuple(keys))
            if cands is None:
                cands = self.candidates(keys) if keys else []
            if rules is not None:
                cands = rules.filter(cands, first, stop)
            start, end = toks.start[first], toks.end[stop - 1]
            case = 0
            if not shouting and not toks.sentence_start(first):
                case = 1 if toks.first_upper(first) else -1
            pos = None
            if first and not toks.sentence_start(first):
                prev = toks.norm[first - 1]
                pos = "n" if prev in NOUN_BEFORE else "v" if prev in VERB_BEFORE else None
            a = (first // ct) * ct
            window = (toks.start[a], toks.end[min(n, a + ct) - 1])
            spans.append(DetectedSpan(start, end, first, cands, label, case, pos, window))
        return spans
