"""Typed output of entity linking."""
from __future__ import annotations

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
