"""NER spans from a spaCy pipeline: ``(start, end, label)`` character spans that the mention
detector (:mod:`kgattn.linking.detection`) treats as whole-name look-ups and type hints.

Only the ``ner`` component runs, with the components it listens to (a shared ``tok2vec``);
everything else in the pipeline is disabled. Texts longer than :data:`NER_SEGMENT_CHARS` go to
spaCy in pieces cut at whitespace (spaCy refuses texts over ``nlp.max_length``), with offsets
shifted back into the original text.
"""
from __future__ import annotations

from collections.abc import Sequence

from kgattn.errors import ConfigError

#: Texts longer than this are handed to spaCy in pieces (spaCy refuses texts over nlp.max_length).
NER_SEGMENT_CHARS = 100_000

#: One NER span: character offsets into the text and the NER label (e.g. ``"PERSON"``).
NerSpan = tuple[int, int, str]


def load_spacy(name: str):
    """``spacy.load(name)``; an unknown package raises :class:`~kgattn.errors.ConfigError`."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise ConfigError(f"nlp={name!r}: cannot load this spaCy pipeline ({exc})") from exc


def pipes_to_disable(nlp) -> list[str]:
    """Components of ``nlp`` that NER does not need (all of them when there is no ``ner``)."""
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


def segments(text: str, size: int) -> list[tuple[int, int]]:
    """Cut ``text`` into contiguous pieces of at most about ``size`` characters at whitespace."""
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


class SpacyNER:
    """NER spans of texts from a spaCy pipeline (``nlp``: a ``Language``, a package name, or None).

    ``SpacyNER(None)`` (or a pipeline without ``ner``) proposes no spans.
    """

    def __init__(self, nlp=None):
        self.name = nlp if isinstance(nlp, str) else None
        self.nlp = load_spacy(nlp) if isinstance(nlp, str) else nlp
        self._disable = pipes_to_disable(self.nlp)

    @property
    def active(self) -> bool:
        """Whether this pipeline proposes spans at all."""
        return self.nlp is not None and "ner" in self.nlp.pipe_names

    def __call__(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        """NER spans ``(start, end, label)`` per text (empty lists without an NER model)."""
        if not self.active:
            return [[] for _ in texts]
        pieces, owner, shift = [], [], []
        for i, text in enumerate(texts):
            for a, b in segments(text, NER_SEGMENT_CHARS):
                pieces.append(text[a:b])
                owner.append(i)
                shift.append(a)
        out: list[list[NerSpan]] = [[] for _ in texts]
        for doc, i, a in zip(self.nlp.pipe(pieces, disable=self._disable), owner, shift):
            out[i].extend((a + e.start_char, a + e.end_char, e.label_) for e in doc.ents)
        return out
