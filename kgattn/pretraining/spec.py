"""The ``kgattn pretrain SPEC`` file: one YAML, validated once with pydantic (unknown keys are errors).

Sections: ``name``, ``kg`` (the graph), ``corpus`` (unlabelled texts), ``linker`` and
``pretrain`` (model, objectives, optimisation, trainer). Paths in ``kg`` and ``corpus`` expand
``${VAR}`` and ``~`` and are relative to the YAML file; ``pretrain.output_dir`` is relative to
the working directory (like a build folder), default ``runs/pretrain/<name>``.

Every error is a :class:`kgattn.errors.ConfigError` naming the file and the dotted key.

This module imports nothing from :mod:`kgattn.pipeline` (the pipeline may embed
:class:`PretrainSection`; the reverse import would be a cycle).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from kgattn.errors import ConfigError
from kgattn.models.config import FUSION_KINDS, LINK_SCORERS, KGAugmentedConfig
from kgattn.models.registry import GNN_CONVS
from kgattn.preprocessing.config import FeatureConfig

_MODEL = {f.name: f.default for f in fields(KGAugmentedConfig)}
_FEATURES = {f.name: f.default for f in fields(FeatureConfig)}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(value: str) -> str:
    def repl(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name in os.environ:
            return os.environ[name]
        if name == "KGATTN_DATA":
            from kgattn.paths import data_dir

            return str(data_dir().resolve())
        raise ValueError(f"environment variable {name} is not set (in {value!r})")

    return os.path.expanduser(_VAR.sub(repl, value))


def _path(value: Any, info: ValidationInfo) -> Any:
    if value is None or isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a path string, got {type(value).__name__}")
    path = Path(_expand(value))
    base = (info.context or {}).get("base_dir")
    return Path(base) / path if not path.is_absolute() and base is not None else path


#: A path relative to the spec file, with ``${VAR}`` and ``~`` expanded.
SpecPath = Annotated[Path, BeforeValidator(_path)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PretrainKGSource(_Section):
    """One graph: ``importer`` (wordnet, fb15k237; ``path`` optional) or ``path`` (an RDF file, a
    ``head<TAB>rel<TAB>tail`` TSV with ``format: tsv``, or a folder written by ``KnowledgeGraph.save``).
    ``prefix`` (within ``sources`` only) is prepended to the graph's node ids."""

    importer: Literal["wordnet", "fb15k237"] | None = None
    path: SpecPath | None = None
    format: str | None = None
    names: SpecPath | None = None
    prefix: str = ""

    @model_validator(mode="after")
    def _source(self) -> "PretrainKGSource":
        if self.importer is None and self.path is None:
            raise ValueError("give either 'importer' (wordnet, fb15k237) or 'path'")
        return self


class PretrainKGSection(_Section):
    """The graph: the fields of one source, or ``sources`` (several, united with
    :meth:`KnowledgeGraph.union` as the pipeline's ``kg.sources`` are, so the fingerprint equals
    the pipeline's for the same sources; ``relations``: shared or separate)."""

    importer: Literal["wordnet", "fb15k237"] | None = None
    path: SpecPath | None = None
    format: str | None = None
    names: SpecPath | None = None
    sources: list[PretrainKGSource] | None = Field(None, min_length=1)
    relations: Literal["shared", "separate"] = "shared"

    @model_validator(mode="after")
    def _source(self) -> "PretrainKGSection":
        given = [k for k in ("importer", "path", "format", "names") if getattr(self, k)]
        if self.sources is not None and given:
            raise ValueError(f"give either 'sources' or {', '.join(map(repr, given))}, not both")
        if self.sources is None and self.importer is None and self.path is None:
            raise ValueError("give either 'importer' (wordnet, fb15k237), 'path' or 'sources'")
        return self

    @property
    def source_list(self) -> list[PretrainKGSource]:
        if self.sources is not None:
            return list(self.sources)
        return [PretrainKGSource(importer=self.importer, path=self.path, format=self.format, names=self.names)]


class PretrainCorpusSection(_Section):
    """Unlabelled texts: CSV, TSV, JSONL or Parquet files (globs allowed); only ``text_column`` is read.

    Rows whose text is empty are skipped (and counted). ``max_rows`` caps the corpus (first rows).
    ``shard_rows`` texts are linked and saved together: the unit of resume and of the split across
    ``torchrun`` ranks.
    """

    paths: list[SpecPath] = Field(min_length=1)
    text_column: str = "text"
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet"] = "auto"
    max_rows: int | None = Field(None, gt=0)
    shard_rows: int = Field(5000, gt=0)


class PretrainLinkerSection(_Section):
    """Arguments of :class:`kgattn.linking.EntityLinker`; unset ones keep the linker's defaults."""

    disambiguate: Literal["context", "prior"] = "context"
    context: Literal["static", "encoder"] | None = None
    top_k: int | None = Field(None, gt=0)
    nil_threshold: float | None = None
    spacy_model: str | None = None
    #: Encoder of context disambiguation; default: ``pretrain.backbone``.
    backbone: str | None = None
    batch_size: int = Field(256, gt=0)
    n_process: int = Field(1, gt=0)


class ObjectiveWeights(_Section):
    r"""Weights of the pretraining losses, :math:`\mathcal{L} = w_{mlm} L_{mlm} + w_{link} L_{link}
    + w_{align} L_{align}`; a weight of 0 switches the objective off."""

    mlm: float = Field(1.0, ge=0)
    link: float = Field(1.0, ge=0)
    align: float = Field(0.1, ge=0)

    @model_validator(mode="after")
    def _some(self) -> "ObjectiveWeights":
        if not (self.mlm or self.link or self.align):
            raise ValueError("every objective weight is 0: switch at least one objective on")
        return self


class PretrainSection(_Section):
    """Model, objectives, optimisation and trainer of the pretraining.

    Architecture keys (``gnn``, ``gnn_dim``, ``gnn_layers``, ``fusion``, ``fusion_layers``,
    ``fusion_heads``, ``hops``, ``backbone``, ``node_template``) must match the classifier that
    later starts from the result (``KGClassifier(init_from=...)``); a mismatch is refused there.
    Their defaults are those of :class:`KGAugmentedConfig` and :class:`FeatureConfig`, so a
    default classifier fits a default pretraining.
    ``use_graph: false`` is the MLM-only control: the same texts, masking and steps without the
    graph input (only the MLM objective can run).

    Masking: each real token is masked with probability ``mask_rate``, tokens of linked mentions
    with ``entity_mask_rate`` (entity-aware masking; 80% [MASK], 10% random, 10% unchanged).
    ``link_hide_rate``: the fraction of the edges that touch a linked entity which is hidden from
    the GNN and predicted (at least one per batch when there is such an edge).
    """

    output_dir: Path | None = None
    backbone: str = _MODEL["backbone"]
    use_graph: bool = True
    gnn: str = _MODEL["gnn"]
    gnn_dim: int = Field(_MODEL["gnn_dim"], gt=0)
    gnn_layers: int = Field(_MODEL["gnn_layers"], ge=1, le=3)
    fusion: Literal["cross_attention", "greaselm"] = _MODEL["fusion"]
    fusion_layers: list[int] | None = None
    fusion_heads: int = Field(_MODEL["fusion_heads"], gt=0)
    link_scorer: Literal["distmult", "transe"] = "distmult"
    node_template: str = _FEATURES["node_template"]
    max_length: int = Field(_FEATURES["max_length"], gt=1)
    max_nodes: int = Field(_FEATURES["max_nodes"], gt=0)
    hops: int = Field(_FEATURES["hops"], ge=0)
    objectives: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    mask_rate: float = Field(0.15, ge=0, le=1)
    entity_mask_rate: float = Field(0.5, ge=0, le=1)
    link_hide_rate: float = Field(0.5, gt=0, le=1)
    max_epochs: int = Field(1, ge=1)
    max_steps: int = Field(-1, ge=-1)
    batch_size: int = Field(32, gt=0)
    lr: float = Field(1e-3, gt=0)
    backbone_lr: float = Field(5e-5, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    grad_clip: float | None = Field(1.0, gt=0)
    seed: int = 0
    precision: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    accelerator: str = "auto"
    #: Save the resumable checkpoint every this many optimiser steps (and at the end).
    checkpoint_every: int = Field(50, gt=0)
    log_every: int = Field(5, gt=0)
    progress_bar: bool = True

    @field_validator("gnn")
    @classmethod
    def _gnn(cls, value: str) -> str:
        if value not in GNN_CONVS:   # the registry: built-in GNNs and register_gnn() entries
            raise ValueError(f"must be one of {sorted(GNN_CONVS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> "PretrainSection":
        # The Literals above must stay within what the model accepts.
        assert self.fusion in FUSION_KINDS and self.link_scorer in LINK_SCORERS
        if not self.use_graph and not self.objectives.mlm:
            raise ValueError("use_graph: false (the MLM-only control) needs objectives.mlm > 0")
        from kgattn.embeddings.templates import check_template

        check_template(self.node_template)
        return self

    #: Keys that may change between a killed run and its resume (how long and where it trains).
    RESUMABLE_KEYS: ClassVar[tuple[str, ...]] = (
        "max_epochs", "max_steps", "precision", "devices", "strategy", "accelerator", "progress_bar", "log_every",
        "checkpoint_every", "output_dir")


class PretrainSpec(_Section):
    """A ``kgattn pretrain`` spec: ``name``, ``kg``, ``corpus``, ``linker``, ``pretrain``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    kg: PretrainKGSection
    corpus: PretrainCorpusSection
    linker: PretrainLinkerSection = Field(default_factory=PretrainLinkerSection)
    pretrain: PretrainSection = Field(default_factory=PretrainSection)

    @property
    def output_dir(self) -> Path:
        return self.pretrain.output_dir or Path("runs") / "pretrain" / self.name

    def training_key(self) -> str:
        """A hash of every setting that shapes the pretrained weights except how long it trains:
        a checkpoint of the same key can be resumed (and trained further)."""
        data = self.model_dump(mode="json")
        for key in PretrainSection.RESUMABLE_KEYS:
            data["pretrain"].pop(key, None)
        data.pop("description", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def link_key(self) -> str:
        """A hash of what the linked shards depend on (graph source, corpus, linker, backbone)."""
        data = self.model_dump(mode="json", include={"kg", "corpus", "linker"})
        data["corpus"].pop("max_rows", None)
        data["backbone"] = self.linker.backbone or self.pretrain.backbone
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _key_of(error: dict) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "(top level)"


def parse_pretrain_spec(data: Any, source: str | Path = "<spec>", base_dir: str | Path | None = None) -> PretrainSpec:
    """Validate a spec given as a mapping; errors name ``source`` and the dotted key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a pretrain spec must be a mapping with name, kg, corpus, pretrain")
    try:
        return PretrainSpec.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first.get("msg", "invalid value").removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{source}: key {_key_of(first)!r}: {msg}"
                          + (f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else "")
                          ) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_pretrain_spec(path: str | Path) -> PretrainSpec:
    """Read and validate a pretrain spec YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: spec file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the spec ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_pretrain_spec(data, path, base_dir=path.resolve().parent)
