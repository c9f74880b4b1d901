"""The one persistence layer: atomic writes and versioned manifests for every saved artefact.

Every directory kgattn saves (graph, alias table, linker, preprocessor, classifier, pretrained
model) holds one JSON *manifest* ``{"kind": ..., "version": ..., <fields>}``. Readers call
:func:`read_manifest` with the kind and version they understand; anything else (a missing or
truncated file, invalid JSON, another kind, another version) raises one error type,
:class:`~kgattn.errors.SavedFileError`, naming the file. :func:`reading` turns the low-level
errors of reading a damaged array or weights file (``OSError``, ``ValueError``, ``EOFError``,
safetensors' ``SafetensorError``) into the same error.

Writes go to a temporary name in the same folder, are flushed, fsynced and renamed
(``os.replace`` is atomic on POSIX): a crash leaves the old file or the new one, never half a
file under the final name, and a failed write never removes what was there before.

This module sits on the ground floor: it imports nothing from kgattn but :mod:`kgattn.errors`.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kgattn.errors import SavedFileError

__all__ = ["atomic_path", "atomic_write_text", "write_json", "write_manifest", "read_manifest", "reading",
           "remove_path", "SavedFileError"]


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_path(path: str | Path) -> None:
    """Remove a file or a folder if it exists (a symlink is removed, never followed)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def temporary_sibling(final: str | Path) -> Path:
    """The hidden name ``.<name>.tmp-<pid>`` beside ``final`` that :func:`atomic_path` writes to."""
    final = Path(final)
    return final.with_name(f".{final.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success it replaces ``final`` atomically.

    The caller writes a file or a folder at the yielded path. On an exception the temporary
    path is removed and ``final`` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    remove_path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        if tmp.is_dir() and final.is_dir():
            remove_path(final)
        os.replace(tmp, final)
        fsync_dir(final.parent)
    finally:
        remove_path(tmp)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data: Any, indent: int | None = 1) -> Path:
    """Write ``data`` as JSON (sorted keys; non-JSON values via ``str``) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=True, default=str) + "\n")


def write_manifest(path: str | Path, kind: str, version: int, **fields: Any) -> Path:
    """Write the manifest ``{"kind", "version", **fields}`` to ``path`` atomically."""
    for key in ("kind", "version"):
        if key in fields:
            raise ValueError(f"manifest field {key!r} is reserved")
    return write_json(path, {"kind": kind, "version": version, **fields}, indent=2)


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Parse a JSON file; a missing, unreadable or invalid one raises SavedFileError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SavedFileError(f"{what} not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SavedFileError(f"cannot read {what} ({exc})", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SavedFileError(f"not valid JSON ({exc.msg}); the file is damaged", path, exc.lineno) from None


def read_manifest(path: str | Path, kind: str, version: int | tuple[int, ...]) -> dict[str, Any]:
    """Read a manifest written by :func:`write_manifest` and check its kind and version.

    ``version`` may be a tuple of the versions this reader understands. Manifests written before
    this layer existed (``format``/``format_version`` keys) are read too. Every failure raises
    :class:`SavedFileError` naming ``path``.
    """
    path = Path(path)
    data = read_json(path, f"{kind} manifest")
    if not isinstance(data, dict):
        raise SavedFileError(f"not a {kind} manifest (a JSON object was expected)", path)
    found_kind = data.get("kind", data.get("format"))
    found_version = data.get("version", data.get("format_version"))
    versions = version if isinstance(version, tuple) else (version,)
    if found_kind != kind:
        raise SavedFileError(f"not a {kind} (this file holds {found_kind!r})", path)
    if found_version not in versions:
        raise SavedFileError(f"{kind} of version {found_version!r}; this kgattn reads version "
                             f"{' or '.join(map(str, versions))}", path)
    return data


@contextlib.contextmanager
def reading(path: str | Path, what: str = "saved file") -> Iterator[None]:
    """Turn the errors of reading a damaged file (truncated array, weights, gzip) into
    :class:`SavedFileError` naming ``path``; other kgattn errors pass through unchanged."""
    from kgattn.errors import KGAttnError

    try:
        yield
    except KGAttnError:
        raise
    except FileNotFoundError as exc:
        raise SavedFileError(f"{what} is missing ({exc.filename or path})", path) from None
    except (OSError, ValueError, EOFError, RuntimeError) as exc:
        raise SavedFileError(f"{what} is damaged or truncated ({type(exc).__name__}: {exc})", path) from None
    except Exception as exc:  # safetensors raises its own SafetensorError (not an OSError)
        if type(exc).__name__ == "SafetensorError":
            raise SavedFileError(f"{what} is damaged or truncated ({exc})", path) from None
        raise
