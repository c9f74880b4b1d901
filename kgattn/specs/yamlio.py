"""Reading pipeline YAML: duplicate keys refused, and validation errors that name the file, the
dotted key and its line."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError


def key_line(source: str, loc: tuple, exact: bool = False) -> int | None:
    """The 1-based line of the dotted key ``loc`` in the YAML text, when it can be found; else the
    line of its nearest enclosing key that is there (``None`` instead when ``exact``)."""
    try:
        node = yaml.compose(source)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return None if exact else line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return None if exact else line
    return line


def located(source, loc: tuple) -> str:
    """`` (line N)`` for ``loc`` in ``source``: the YAML text of one file, or an object with a
    ``where(loc)`` method (:class:`kgattn.specs.compose.SpecSources`: a spec with its bases and
    overrides, which names the file or ``--set`` too); ``""`` when unknown."""
    if source is None:
        return ""
    if hasattr(source, "where"):
        return source.where(loc)
    line = key_line(source, loc)
    return f" (line {line})" if line else ""


def format_errors(exc: ValidationError, path: Path | None, source, what: str = "pipeline spec") -> str:
    """One message for every problem: ``key 'a.b' (line N): message`` (where the key was written
    when ``source`` is given, see :func:`located`); a schema check's ``[key]`` prefix becomes the
    last part of the key."""
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        message = err["msg"]
        schema_key = re.match(r"Value error, \[(\w+)\] ", message)
        if schema_key:  # a schema's own check (SchemaSection) names the option at fault
            loc, message = (*loc, schema_key.group(1)), message[schema_key.end():]
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = located(source, loc)
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        lines.append(f"key '{key}'{where}: {message}")
    head = f"{path}: " if path is not None else ""
    return head + f"invalid {what}: " + "; ".join(lines)


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice (first on line {seen[key]})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)
