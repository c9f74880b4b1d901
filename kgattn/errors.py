"""Exceptions a user can cause.

Every message names what is wrong and where (file, line, row, key or index), so the
CLI can print it without a traceback.
"""
from __future__ import annotations

from pathlib import Path


class KGAttnError(Exception):
    """Base class of all errors caused by user input or configuration."""


def _where(path: str | Path | None, line: int | None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}: " if line is not None else f"{path}: "


class GraphFormatError(KGAttnError, ValueError):
    """A graph file could not be parsed; names the file and, when known, the line."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path, self.line = path, line
        super().__init__(_where(path, line) + message)


class UnknownFormatError(KGAttnError, ValueError):
    """A file format that no reader accepts; the message lists the accepted ones."""


class EmptyGraphError(KGAttnError, ValueError):
    """A graph with no nodes or no edges after loading."""


class UnknownNodeError(KGAttnError, KeyError):
    """A node id that the graph does not hold."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(KGAttnError, FileNotFoundError):
    """A public data set is not where it was looked for; the message says how to get it."""


class FingerprintMismatchError(KGAttnError, ValueError):
    """Saved state belongs to another knowledge graph than the one given."""


class ConfigError(KGAttnError, ValueError):
    """A configuration (YAML, options) failed validation; names the key and the file.

    ``key``, when given, is the option at fault (the pipeline spec turns it into a dotted key).
    """

    def __init__(self, message: str, key: str | None = None):
        self.key = key
        super().__init__(message)


class CorpusError(KGAttnError, ValueError):
    """A corpus file is missing, unreadable, or has a bad row or column; names file and row."""

    def __init__(self, message: str, path: str | Path | None = None, row: int | None = None):
        self.path, self.row = path, row
        where = f"{path}" if path is not None else ""
        if row is not None:
            where += f" row {row}"
        super().__init__(f"{where}: {message}" if where else message)


class LabelError(KGAttnError, ValueError):
    """Labels that do not match the texts (count, type, unseen label)."""


class BackboneError(KGAttnError, OSError):
    """A backbone path or id that cannot be loaded."""


class InputTextError(KGAttnError, ValueError):
    """A text that cannot be classified (not a string, or empty); names its index."""


class SavedFileError(KGAttnError, ValueError):
    """A saved artefact (graph, linker, classifier, run file) is missing, damaged, or of another
    kind or version than the reader expects; the message names the file."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path, self.line = path, line
        super().__init__(_where(path, line) + message)
