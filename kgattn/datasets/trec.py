"""Reader of the TREC question classification data (Li & Roth, 2002).

One question a line, ``COARSE:fine question text``; the training file is Latin-1, the test
file ASCII. Files that decode as UTF-8 are read as UTF-8, others as Latin-1 (which never
fails), so both releases read correctly without the caller naming an encoding.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kgattn.errors import CorpusError

#: The six coarse classes of the taxonomy.
COARSE_LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")

_LINE = re.compile(r"^([A-Z]+):(\S+)\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class TrecQuestion:
    """One labelled question: ``coarse`` (e.g. ``"LOC"``), ``fine`` (e.g. ``"city"``), ``text``."""

    coarse: str
    fine: str
    text: str

    @property
    def label(self) -> str:
        """The fine label in the usual ``COARSE:fine`` form."""
        return f"{self.coarse}:{self.fine}"


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding is not None:
        return raw.decode(encoding)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_trec(path: str | Path, encoding: str | None = None) -> list[TrecQuestion]:
    """Read a TREC ``.label`` file.

    Args:
        path: the file (``train_5500.label`` or ``TREC_10.label``).
        encoding: force an encoding; default: UTF-8 when the file decodes as such, else Latin-1.

    Raises:
        CorpusError: the file is missing, or a non-empty line is not ``COARSE:fine text``
            with a known coarse class (the error names the file and the 1-based row).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read TREC file ({exc.strerror or exc})", path) from exc
    questions = []
    for row, line in enumerate(_decode(raw, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise CorpusError(f"expected 'COARSE:fine question', got {line[:60]!r}", path, row)
        coarse, fine, text = match.groups()
        if coarse not in COARSE_LABELS:
            raise CorpusError(f"unknown coarse label {coarse!r} (expected one of {', '.join(COARSE_LABELS)})",
                              path, row)
        questions.append(TrecQuestion(coarse, fine, text))
    return questions
