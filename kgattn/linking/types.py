"""Typed output of entity linking."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    """A node that a mention may refer to, with its final score (higher is better)."""

    node: int
    score: float


@dataclass(frozen=True)
class Mention:
    """A span of the original text (character offsets, ``text[start:end] == self.text``).

    ``node`` is the chosen node index, or None when every candidate fell below the NIL
    threshold. ``ner_label`` is the NER type hint (e.g. ``"PERSON"``) when a NER model
    proposed the span.
    """

    start: int
    end: int
    text: str
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    node: int | None = None
    ner_label: str | None = None


def focus_mentions(text: str, mentions: Sequence[Mention], marks: tuple[str, str] | None) -> tuple[Mention, ...]:
    """The mentions overlapping the first span of ``text`` between ``marks`` (``(open, close)``);
    all of them when ``marks`` is None or the text lacks either mark."""
    if marks is None:
        return tuple(mentions)
    start = text.find(marks[0])
    end = text.find(marks[1], start + len(marks[0])) if start >= 0 else -1
    if end < 0:
        return tuple(mentions)
    return tuple(m for m in mentions if m.start < end and start + len(marks[0]) < m.end)
