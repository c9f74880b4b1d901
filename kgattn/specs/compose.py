"""Reading a spec file into one mapping: ``extends:`` chains and ``--set`` overrides.

A spec may start from another: ``extends: base.yaml`` (relative to the file that says it) reads the
base first, then lays this file over it. Mappings merge key by key, at any depth; any other value
(a scalar, a list) replaces the base's, and ``null`` sets the key to null (to drop a base key that
excludes another, e.g. ``kg: {importer: null, path: my.ttl}``). A base may extend another, up to
:data:`MAX_DEPTH` files; a cycle is an error. Relative paths keep the meaning they have in their
own file: a base's are resolved against the base's folder before the merge.

Overrides (``kgattn run SPEC --set train.seed=1 --set evaluate.seeds=[1]``) are laid over the
result in the order given; the value is read as YAML (``1`` an int, ``[1, 2]`` a list, ``null``),
a relative path in it against the working directory, like any command-line path.

The result is validated as if it had been written out in one file, so stage keys and run
directories do not depend on how a spec was split. :class:`SpecSources` remembers where each key
came from, so an error names the file and line (or the ``--set``) that gave the bad value.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import BaseModel

from kgattn.errors import ConfigError
from kgattn.specs.base import expand_vars, relocate_paths
from kgattn.specs.yamlio import UniqueKeyLoader, key_line

EXTENDS_KEY = "extends"
#: The longest ``extends`` chain, counting the spec given: deeper is almost surely a mistake.
MAX_DEPTH = 8
_OVERRIDE = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)=(.*)$", re.S)


@dataclass
class SpecSources:
    """Where a composed spec's keys were written: the spec file, its bases, the overrides.

    :meth:`where` turns a dotted key into `` (line N)`` (the spec given), `` (base.yaml line N)``
    or `` (--set a.b=...)``; error messages append it to ``key 'a.b'``.
    """

    path: Path
    text: str
    bases: list[tuple[Path, str]] = field(default_factory=list)      # nearest first
    overrides: list[tuple[dict[str, Any], str]] = field(default_factory=list)   # (nested value, as given)

    def where(self, loc: Sequence[str | int]) -> str:
        loc = tuple(loc)
        for layer, given in reversed(self.overrides):      # the last --set of a key wins
            if _sets(layer, loc):
                return f" (--set {given})"
        for i, (path, text) in enumerate([(self.path, self.text), *self.bases]):
            line = key_line(text, loc, exact=True)
            if line is not None:
                return f" (line {line})" if i == 0 else f" ({path} line {line})"
        line = key_line(self.text, loc)   # a missing key: the nearest enclosing key of the spec given
        return f" (line {line})" if line else ""


def _sets(layer: Any, loc: tuple) -> bool:
    """Whether the override ``layer`` (a nested mapping) gave the value at ``loc``: it names the
    key, or replaced a value above it (a mapping laid on a mapping replaces only its own keys)."""
    for part in loc:
        if not isinstance(layer, dict):
            return True
        if str(part) not in layer:
            return False
        layer = layer[str(part)]
    return True


@dataclass
class ComposedSpec:
    """A spec file read with its bases and overrides: ``data`` to validate, ``sources`` for errors."""

    data: dict[str, Any]
    sources: SpecSources


def read_yaml_mapping(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """One YAML file that must hold a mapping (a spec); every problem is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} must be a mapping of sections, got {type(data).__name__}")
    return data, text


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces. Neither changes."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(given: str) -> tuple[tuple[str, ...], Any]:
    """``"train.seed=1"`` -> ``(("train", "seed"), 1)``; the value is read as YAML."""
    match = _OVERRIDE.match(given)
    if match is None:
        raise ConfigError(f"--set {given}: expected KEY=VALUE with a dotted key, e.g. train.seed=1")
    keys = tuple(match.group(1).split("."))
    if keys[0] == EXTENDS_KEY:
        raise ConfigError(f"--set {given}: '{EXTENDS_KEY}' is read from the spec file only")
    try:
        value = yaml.safe_load(match.group(2)) if match.group(2).strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {given}: the value is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return keys, value


def _nested(keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(keys):
        value = {key: value}
    return value


def _check_mapping_path(data: dict[str, Any], keys: tuple[str, ...], given: str) -> None:
    node: Any = data
    for depth, key in enumerate(keys[:-1]):
        node = node.get(key) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            raise ConfigError(f"--set {given}: '{'.'.join(keys[:depth + 1])}' is not a mapping of keys "
                              f"in the spec (it holds {node!r})")


def _read_chain(path: Path, what: str) -> list[tuple[Path, dict[str, Any], str]]:
    """``path`` and the specs it extends, nearest first: (file, its mapping without ``extends``, text)."""
    chain: list[tuple[Path, dict[str, Any], str]] = []
    while True:
        data, text = read_yaml_mapping(path, what)
        chain.append((path, data, text))
        if EXTENDS_KEY not in data:
            return chain
        base_name = data.pop(EXTENDS_KEY)
        at = f"{path}: key '{EXTENDS_KEY}' (line {key_line(text, (EXTENDS_KEY,))})"
        if not isinstance(base_name, str) or not base_name.strip():
            raise ConfigError(f"{at}: expected the path of one spec file, got {base_name!r}")
        try:
            base_path = Path(expand_vars(base_name))
        except ValueError as exc:
            raise ConfigError(f"{at}: {exc}") from None
        base_path = base_path if base_path.is_absolute() else path.parent / base_path
        if base_path.resolve() in [p.resolve() for p, _, _ in chain]:
            cycle = " -> ".join(str(p) for p in (*[p for p, _, _ in chain], base_path))
            raise ConfigError(f"{at}: the specs extend each other in a cycle ({cycle})")
        if len(chain) >= MAX_DEPTH:
            raise ConfigError(f"{at}: more than {MAX_DEPTH} specs extend one another")
        if not base_path.is_file():
            raise ConfigError(f"{at}: {base_path} does not exist")
        path = base_path


def compose(path: str | Path, model: type[BaseModel], overrides: Sequence[str] = (),
            what: str = "pipeline spec") -> ComposedSpec:
    """Read the spec at ``path`` with its ``extends`` chain and lay ``overrides`` on top.

    ``model`` (the spec's pydantic class) tells which keys hold paths, so that a base's relative
    paths, and an override's, can be resolved before the merge. The returned data is unvalidated.
    """
    path = Path(path)
    chain = _read_chain(path, what)
    here = path.parent
    data: dict[str, Any] = {}
    for file, layer, _ in reversed(chain[1:]):     # the farthest base first
        data = merge(data, relocate_paths(layer, model, file.parent, relative_to=here))
    data = merge(data, chain[0][1])
    sources = SpecSources(path, chain[0][2], [(file, text) for file, _, text in chain[1:]])
    for given in overrides:
        keys, value = parse_override(given)
        _check_mapping_path(data, keys, given)
        layer = relocate_paths(_nested(keys, value), model, Path(os.getcwd()))
        data = merge(data, layer)
        sources.overrides.append((layer, given))
    return ComposedSpec(data, sources)
