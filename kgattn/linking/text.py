r"""Tokenisation with character offsets, alias normalisation per token, and plural/lemma rules.

Text and aliases go through the same two steps, so a mention matches an alias exactly when
their token keys are equal:

1. split the original text into tokens: runs of letters, digits and combining marks
   (``[\p{L}\p{N}\p{M}]+``), or any other single non-space character;
2. normalise each token with :func:`kgattn.graph.normalize_alias` (NFKC, casefold, ``_`` as
   a space) and split the result again (NFKC may expand one token into several, e.g.
   ``"½"`` -> ``"1⁄2"``); every piece keeps the character span of its original token.

Offsets therefore always point into the original string, whatever Unicode does.
"""
from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass

import regex

from kgattn.graph.strings import fold_alias, normalize_alias

_TOKEN = regex.compile(r"[\p{L}\p{N}\p{M}]+|\S")


@dataclass(frozen=True)
class Tokens:
    """Normalised pieces of ``text``: ``norm[i]`` came from ``text[start[i]:end[i]]``."""

    text: str
    norm: list[str]
    start: list[int]
    end: list[int]

    def __len__(self) -> int:
        return len(self.norm)

    def first_upper(self, i: int) -> bool:
        """The original token of piece ``i`` starts with an upper-case letter."""
        return self.text[self.start[i]].isupper()

    def sentence_start(self, i: int) -> bool:
        """Piece ``i`` opens a sentence: first piece, after ``.``/``!``/``?``, or after a line break."""
        if i == 0:
            return True
        prev = i - 1
        while prev > 0 and self.start[prev] == self.start[i]:
            prev -= 1  # pieces of the same original token
        if self.start[prev] == self.start[i]:
            return True
        return self.text[self.start[prev]:self.end[prev]] in _SENTENCE_END or \
            "\n" in self.text[self.end[prev]:self.start[i]]


def split_normalized(s: str) -> list[str]:
    """Normalise and split a string into the pieces used as match keys (alias side)."""
    return _pieces_of_folded(fold_alias(s))


def _pieces_of_folded(folded: str) -> list[str]:
    """:func:`split_normalized` of a string already :func:`~kgattn.graph.strings.fold_alias`-ed
    (whitespace collapsed as :func:`~kgattn.graph.strings.normalize_alias` does)."""
    return _TOKEN.findall(" ".join(folded.split()))


def alias_key(s: str) -> str:
    """The match key of an alias: its normalised pieces joined by single spaces."""
    return " ".join(split_normalized(s))


def key_of_folded(folded: str) -> str:
    """:func:`alias_key` of a name already :func:`~kgattn.graph.strings.fold_alias`-ed (the bulk
    path of the disk alias index folds a whole block of names at once)."""
    if folded.isascii() and folded.replace(" ", "").isalnum() and "  " not in folded \
            and folded[0] != " " and folded[-1] != " ":
        return folded  # ASCII words between single spaces: each word is one piece already
    return " ".join(_pieces_of_folded(folded))


_SENTENCE_END = frozenset(".!?")


def tokenize(text: str) -> Tokens:
    """Tokens of ``text`` with offsets into it (linear in ``len(text)``)."""
    norm: list[str] = []
    start: list[int] = []
    end: list[int] = []
    if text.isascii():
        # ASCII fast path: NFKC is the identity, casefold is lower(), "_" normalises to nothing.
        low = text.lower()
        for m in _TOKEN.finditer(text):
            s, e = m.span()
            piece = low[s:e]
            if piece != "_":
                norm.append(piece)
                start.append(s)
                end.append(e)
        return Tokens(text, norm, start, end)
    for m in _TOKEN.finditer(text):
        tok = m.group()
        s, e = m.span()
        n = normalize_alias(tok) if not tok.isascii() else (tok.lower() if tok != "_" else "")
        if not n:
            continue
        pieces = (n,) if _TOKEN.fullmatch(n) else _TOKEN.findall(n)
        for piece in pieces:
            norm.append(piece)
            start.append(s)
            end.append(e)
    return Tokens(text, norm, start, end)


# Inflection rules of WordNet's morphy (nouns first, then verbs): suffix -> replacement.
_NOUN_RULES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
               ("men", "man"), ("ies", "y"), ("ves", "f"), ("s", ""))
_VERB_RULES = (("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
               ("ing", "e"), ("ing", ""), ("s", ""))
# Common irregular plurals and verb forms that no suffix rule reaches.
_IRREGULAR = {
    "men": "man", "women": "woman", "children": "child", "people": "person", "feet": "foot",
    "teeth": "tooth", "geese": "goose", "mice": "mouse", "lice": "louse", "oxen": "ox",
    "dice": "die", "wives": "wife", "knives": "knife", "lives": "life", "leaves": "leaf",
    "wolves": "wolf", "halves": "half", "calves": "calf", "shelves": "shelf", "thieves": "thief",
    "criteria": "criterion", "phenomena": "phenomenon", "data": "datum", "media": "medium",
    "cacti": "cactus", "fungi": "fungus", "nuclei": "nucleus", "radii": "radius", "alumni": "alumnus",
    "indices": "index", "matrices": "matrix", "vertices": "vertex", "analyses": "analysis",
    "crises": "crisis", "theses": "thesis", "was": "be", "were": "be", "is": "be", "are": "be",
    "been": "be", "has": "have", "had": "have", "did": "do", "does": "do", "done": "do",
    "went": "go", "gone": "go", "made": "make", "said": "say", "took": "take", "taken": "take",
    "came": "come", "saw": "see", "seen": "see", "knew": "know", "known": "know", "got": "get",
    "gave": "give", "given": "give", "found": "find", "thought": "think", "told": "tell",
    "became": "become", "left": "leave", "felt": "feel", "brought": "bring", "began": "begin",
    "begun": "begin", "kept": "keep", "held": "hold", "wrote": "write", "written": "write",
    "stood": "stand", "heard": "hear", "meant": "mean", "met": "meet", "ran": "run", "paid": "pay",
    "sat": "sit", "spoke": "speak", "spoken": "speak", "lay": "lie", "led": "lead", "grew": "grow",
    "grown": "grow", "lost": "lose", "fell": "fall", "fallen": "fall", "sent": "send", "built": "build",
    "understood": "understand", "drew": "draw", "drawn": "draw", "broke": "break", "broken": "break",
    "spent": "spend", "rose": "rise", "risen": "rise", "drove": "drive", "driven": "drive",
    "bought": "buy", "wore": "wear", "worn": "wear", "chose": "choose", "chosen": "choose",
    "sang": "sing", "sung": "sing", "won": "win", "fought": "fight", "taught": "teach",
    "caught": "catch", "sold": "sell", "flew": "fly", "flown": "fly",
}


class Lemmatizer:
    """Map a normalised piece to a form that the alias vocabulary knows (WordNet-morphy style).

    A piece already in ``vocabulary`` is kept; else an irregular form, then the noun rules,
    then the verb rules are tried and the first result in ``vocabulary`` wins; else the piece
    is returned unchanged. Results are memoised (bounded), so repeated words cost a dict look-up.
    """

    def __init__(self, vocabulary: Iterable[str] | Container[str], max_cache: int = 200_000):
        # Sets and other containers (e.g. the disk index's trie) are kept as they are; a list or
        # an iterator becomes a frozenset, so membership is O(1).
        keep = isinstance(vocabulary, Container) and not isinstance(vocabulary, (list, tuple, str))
        self.vocabulary = vocabulary if keep else frozenset(vocabulary)
        self.max_cache = max_cache
        self._cache: dict[str, str] = {}

    def __call__(self, piece: str) -> str:
        hit = self._cache.get(piece)
        if hit is not None:
            return hit
        out = self._lemma(piece)
        if len(self._cache) >= self.max_cache:
            self._cache.clear()  # bounded memory on endless streams of new words
        self._cache[piece] = out
        return out

    def _lemma(self, piece: str) -> str:
        vocab = self.vocabulary
        if len(piece) < 4 or not piece.isalpha() or piece in vocab:  # the look-up last: on disk it costs most
            return piece
        irregular = _IRREGULAR.get(piece)
        if irregular is not None and irregular in vocab:
            return irregular
        for rules in (_NOUN_RULES, _VERB_RULES):
            for suffix, repl in rules:
                if piece.endswith(suffix):
                    cand = piece[: len(piece) - len(suffix)] + repl
                    if len(cand) >= 2 and cand in vocab:
                        return cand
                    # "running" -> "runn" -> "run", "stopped" -> "stopp" -> "stop"
                    if not repl and suffix in ("ing", "ed") and len(cand) >= 3 and cand[-1] == cand[-2] \
                            and cand[:-1] in vocab:
                        return cand[:-1]
        return piece


def budget_end(text: str, max_chars: int) -> int:
    """End of the part of ``text`` that a character budget of ``max_chars`` links.

    ``len(text)`` when the text fits; else ``max_chars`` cut back to just after the last
    whitespace before it, so no word is split (a word ending exactly at the budget is kept);
    when the first ``max_chars`` characters hold no whitespace at all (e.g. Japanese), the hard
    cut ``max_chars``. Offsets of mentions in ``text[:end]`` are offsets in ``text``. Costs
    O(``max_chars``) at most, never O(``len(text)``).
    """
    if len(text) <= max_chars:
        return len(text)
    if max_chars == 0 or text[max_chars].isspace():
        return max_chars
    i = max_chars - 1
    while i >= 0 and not text[i].isspace():
        i -= 1
    return i + 1 if i >= 0 else max_chars
