"""Building blocks of the YAML specs: path values, the strict section base, and sections
derived from the option schemas of :mod:`kgattn.schemas` (so every option is declared once)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, create_model, model_serializer, \
    model_validator
from pydantic.fields import FieldInfo

from kgattn.errors import ConfigError
from kgattn.paths import data_dir
from kgattn.schemas import SCHEMAS, build, field_default, field_types, user_fields

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_vars(value: str) -> str:
    """Expand ``${VAR}``/``$VAR`` and ``~``; an unset variable is an error (except KGATTN_DATA)."""
    def repl(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name in os.environ:
            return os.environ[name]
        if name == "KGATTN_DATA":
            return str(data_dir().resolve())
        raise ValueError(f"environment variable {name} is not set (in {value!r})")

    return os.path.expanduser(_VAR.sub(repl, value))


def _path(value: Any, info: ValidationInfo) -> Any:
    if value is None or isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a path string, got {type(value).__name__}")
    expanded = Path(expand_vars(value))
    base = (info.context or {}).get("base_dir")
    if not expanded.is_absolute() and base is not None:
        expanded = Path(base) / expanded
    return expanded


#: A filesystem path: env vars and ``~`` expanded, relative paths resolved against the spec file.
PathValue = Annotated[Path, BeforeValidator(_path)]


def _relocated(value: Any, base: Path, relative_to: Path | None) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if Path(expand_vars(value)).is_absolute():
            return value
    except ValueError:     # an unset variable: left for validation to report
        return value
    if relative_to is None:
        return os.path.abspath(base / value)
    try:
        return os.path.relpath(base / value, relative_to)
    except ValueError:     # another drive (Windows): no relative path exists
        return os.path.abspath(base / value)


def relocate_paths(data: Any, annotation: Any, base: Path, relative_to: Path | None = None) -> Any:
    """``data`` (unvalidated YAML values for ``annotation``, a spec model or a type) with every
    relative :data:`PathValue` string, meant relative to ``base``, rewritten relative to the folder
    ``relative_to`` (absolute when it is None); nothing else changes.

    So a mapping read from one file (a base spec, a ``--set``) can be merged into a spec read
    from another folder. Written relative to that spec's folder, a path a user would spell the
    same way there (``../data/x.csv``) gives the same spec, the same hash, the same run directory.
    """
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        if any(isinstance(m, BeforeValidator) and m.func is _path for m in metadata):
            return _relocated(data, base, relative_to)
        return relocate_paths(data, inner, base, relative_to)
    if origin in (Union, UnionType):
        for option in get_args(annotation):
            moved = relocate_paths(data, option, base, relative_to)
            if moved != data:
                return moved
        return data
    if origin is list and isinstance(data, list):
        (item,) = get_args(annotation) or (Any,)
        return [relocate_paths(v, item, base, relative_to) for v in data]
    if origin is dict and isinstance(data, dict):
        value_type = (get_args(annotation) or (Any, Any))[1]
        return {k: relocate_paths(v, value_type, base, relative_to) for k, v in data.items()}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(data, dict):
        fields = annotation.model_fields
        return {k: relocate_paths(v, _field_type(fields[k]), base, relative_to) if k in fields else v
                for k, v in data.items()}
    return data


def _field_type(info: FieldInfo) -> Any:
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Optional fields added after specs were in use: left out of the dump (and so of the run
    #: and stage hashes) while unset, so older specs keep their run directories.
    _OMIT_UNSET: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        data = handler(self)
        for key in self._OMIT_UNSET:
            if data.get(key, 0) is None:
                del data[key]
        return data

class SchemaSection(Section):
    """A section whose keys are fields of option schemas; after type checks, the schemas' own
    validation runs too (so ``kgattn check`` catches an unknown GNN name before any work)."""

    concerns: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _schema_checks(self) -> "SchemaSection":
        values = self.model_dump()
        for concern in self.concerns:
            try:
                build(concern, values)
            except ConfigError as exc:  # "[key] message": the spec's error names section.key
                raise ValueError(f"[{exc.key}] {exc}" if exc.key else str(exc)) from None
        return self


def schema_section(name: str, doc: str, concerns: tuple[str, ...], exclude: tuple[str, ...] = (),
                   extra: dict[str, tuple[Any, Any]] | None = None) -> type[Section]:
    """A strict pydantic section with one key per user field of the named schemas (same types,
    same defaults), minus ``exclude``, plus ``extra`` keys ``{name: (type, default)}`` that belong
    to the section but to no schema (left out of the dump, so of every hash, while unset; so are
    schema fields whose metadata says ``omit_unset``: options added after specs were in use)."""
    fields: dict[str, Any] = dict(extra or {})
    omit_unset = list(extra or ())
    for concern in concerns:
        schema = SCHEMAS[concern]
        hints = field_types(schema)
        for f in user_fields(schema):
            if f.name in exclude:
                continue
            default = field_default(f)
            value = Field(default_factory=lambda d=default: type(d)(d)) if isinstance(default, (list, dict)) \
                else Field(default)
            fields[f.name] = (hints[f.name], value)
            if f.metadata.get("omit_unset"):   # a schema option added later: hashed only once set
                omit_unset.append(f.name)
    base = type(f"{name}Base", (SchemaSection,), {"concerns": concerns, "_OMIT_UNSET": tuple(omit_unset),
                                                 "__annotations__": {}})
    return create_model(name, __base__=base, __doc__=doc, **fields)
