"""Where every option is declared: one schema per concern, and the views derived from them.

=============  ===========================================  ============================
schema         declared in                                  YAML section of a pipeline
=============  ===========================================  ============================
model          :class:`kgattn.models.config.KGAugmentedConfig`    ``model:``
features       :class:`kgattn.preprocessing.config.FeatureConfig`  ``features:``
optim          :class:`kgattn.training.config.OptimConfig`        ``train:``
trainer        :class:`kgattn.training.config.TrainerConfig`      ``train:``
=============  ===========================================  ============================

:class:`~kgattn.KGClassifier`'s parameters are the user-settable fields of the four schemas (plus
``kg``, ``linker``, ``callbacks`` and ``init_from``), with the schemas' defaults; the pipeline's
sections are pydantic models built from the same fields (:func:`section_model`); saved
classifiers store the same names. To add an option, add a field to one schema: the classifier,
the YAML and persistence pick it up. Field names are unique across the schemas.

This module is light (dataclasses only): the spec and ``kgattn check`` import it without torch.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping
from typing import Any

from kgattn.errors import ConfigError
from kgattn.models.config import KGAugmentedConfig
from kgattn.preprocessing.config import FeatureConfig
from kgattn.training.config import OptimConfig, TrainerConfig

SCHEMAS: dict[str, type] = {"model": KGAugmentedConfig, "features": FeatureConfig, "optim": OptimConfig,
                            "trainer": TrainerConfig}

#: Model fields filled in from the graph, the labels and the backbone, never by users.
DERIVED_FIELDS = frozenset({"tasks", "node_feature_dim", "num_relations", "max_hops", "backbone_config"})


def user_fields(schema: type) -> list[dataclasses.Field]:
    """The fields of ``schema`` a user sets (the derived model fields left out)."""
    return [f for f in dataclasses.fields(schema) if f.name not in DERIVED_FIELDS]


def field_default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for concern, schema in SCHEMAS.items():
        for f in user_fields(schema):
            if f.name in owners:  # a name in two schemas would make the flat views ambiguous
                raise AssertionError(f"option {f.name!r} is declared in both {owners[f.name]} and {concern}")
            owners[f.name] = concern
    return owners


#: ``option name -> schema name`` for every user option.
OWNER: dict[str, str] = _owners()
#: ``option name -> default`` for every user option.
DEFAULTS: dict[str, Any] = {f.name: field_default(f) for schema in SCHEMAS.values() for f in user_fields(schema)}


def check_names(names, where: str = "KGClassifier", extra: tuple[str, ...] = ()) -> None:
    """Refuse names that are no option, suggesting the closest ones."""
    known = set(OWNER) | set(extra)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            derived = " (it is set from the graph, the labels or the backbone)" if name in DERIVED_FIELDS else ""
            raise ConfigError(f"{where}: unknown parameter {name!r}{derived}{hint}")


def split_options(options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{schema name: {field: value}}`` for a flat mapping of options (unknown names refused)."""
    check_names(options)
    out: dict[str, dict[str, Any]] = {concern: {} for concern in SCHEMAS}
    for name, value in options.items():
        out[OWNER[name]][name] = value
    return out


def build(concern: str, options: Mapping[str, Any]):
    """The schema object of ``concern`` from a flat mapping (other concerns' options ignored)."""
    schema = SCHEMAS[concern]
    mine = {f.name: options[f.name] for f in user_fields(schema) if f.name in options}
    if concern == "model":  # placeholders for the derived fields: checks the user's fields alone
        return schema(tasks={"_": 2}, **mine)
    return schema(**mine)


def field_types(schema: type) -> dict[str, Any]:
    """Resolved type hints of a schema's fields (the modules use postponed annotations)."""
    return typing.get_type_hints(schema)
