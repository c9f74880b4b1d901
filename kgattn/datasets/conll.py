"""Reader of CoNLL-2003 style NER files and their gold mentions as character spans.

Format: one ``token TAG ...`` a line (the tag is the last column but one when there are
four columns, as in the original release with POS and chunk tags, else the second), a
blank line between sentences, ``-DOCSTART-`` lines between documents (skipped). Tags are
BIO (``B-PER``) or IOB1 (``I-PER`` may open a mention); both are decoded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kgattn.errors import CorpusError

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")


@dataclass(frozen=True)
class ConllSentence:
    """A tokenised sentence with one BIO/IOB1 tag per token."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def text(self) -> str:
        """The tokens joined by single spaces: the text gold offsets refer to."""
        return " ".join(self.tokens)


class GoldMention(NamedTuple):
    """A gold entity mention: ``sentence_text[start:end]`` is the mention, ``type`` in PER/LOC/ORG/MISC."""

    sentence_text: str
    start: int
    end: int
    type: str

    @property
    def text(self) -> str:
        return self.sentence_text[self.start:self.end]


def _tag_column(parts: list[str]) -> str:
    # "token TAG 0" (3 columns, this copy) or "token POS CHUNK TAG" (the original 4 columns).
    return parts[3] if len(parts) >= 4 else parts[1]


def read_conll(path: str | Path) -> list[ConllSentence]:
    """Read a CoNLL-2003 file (UTF-8) into sentences.

    Raises:
        CorpusError: the file is missing, a line has fewer than two columns, or a tag is
            neither ``O`` nor ``B-``/``I-`` followed by PER, LOC, ORG or MISC (file and row named).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read CoNLL file ({exc})", path) from exc
    sentences: list[ConllSentence] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            sentences.append(ConllSentence(tuple(tokens), tuple(tags)))
            tokens.clear()
            tags.clear()

    for row, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            flush()
            continue
        if parts[0] == "-DOCSTART-":
            flush()
            continue
        if len(parts) < 2:
            raise CorpusError(f"expected 'token TAG', got {line[:60]!r}", path, row)
        tag = _tag_column(parts)
        if tag != "O" and not (tag[:2] in ("B-", "I-") and tag[2:] in ENTITY_TYPES):
            raise CorpusError(f"unknown tag {tag!r} (expected O, B-X or I-X with X in "
                              f"{'/'.join(ENTITY_TYPES)})", path, row)
        tokens.append(parts[0])
        tags.append(tag)
    flush()
    return sentences


def sentence_spans(sentence: ConllSentence) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last + 1, type)`` of the mentions of one sentence (BIO or IOB1)."""
    spans: list[tuple[int, int, str]] = []
    start, kind = None, None
    for i, tag in enumerate(sentence.tags):
        prefix, _, typ = tag.partition("-")
        # A mention continues only on I- of the same type; B-, O, or a type change closes it.
        if start is not None and not (prefix == "I" and typ == kind):
            spans.append((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "I") and start is None:
            start, kind = i, typ
    if start is not None:
        spans.append((start, len(sentence.tags), kind))
    return spans


def conll_mentions(sentences: list[ConllSentence]) -> list[GoldMention]:
    """Gold mentions of all sentences, in order, with character offsets into ``sentence.text``."""
    out: list[GoldMention] = []
    for sentence in sentences:
        text = sentence.text
        offsets, pos = [], 0
        for token in sentence.tokens:
            offsets.append(pos)
            pos += len(token) + 1
        for first, stop, typ in sentence_spans(sentence):
            start = offsets[first]
            end = offsets[stop - 1] + len(sentence.tokens[stop - 1])
            out.append(GoldMention(text, start, end, typ))
    return out
