"""The ``kgattn pretrain SPEC`` file: one YAML, validated once with pydantic (unknown keys are errors).

Sections: ``name``, ``kg`` (the graph), ``corpus`` (unlabelled texts), ``linker`` and
``pretrain`` (model, objectives, optimisation, trainer). Paths in ``kg`` and ``corpus`` expand
``${VAR}`` and ``~`` and are relative to the YAML file; ``pretrain.output_dir`` is relative to
the working directory (like a build folder), default ``runs/pretrain/<name>``.

Every error is a :class:`kgattn.errors.ConfigError` naming the file and the dotted key.

The ``kg`` section is the pipeline's (:class:`kgattn.specs.graph.KGSpec`: importers, files,
SPARQL, Oxigraph, several ``sources``), so one section names the same graph in both specs;
the ``linker`` section is the pipeline's too (:class:`kgattn.specs.linker.LinkerSpec`).
This module imports nothing from :mod:`kgattn.pipeline` (the pipeline may embed
:class:`PretrainSection`; the reverse import would be a cycle).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence

from pydantic import Field, ValidationError, model_validator

from kgattn.errors import ConfigError
from kgattn.specs.base import PathValue, Section, schema_section
from kgattn.specs.compose import SpecSources, compose
from kgattn.specs.graph import KGSpec
from kgattn.specs.linker import LinkerSpec
from kgattn.specs.yamlio import format_errors

class PretrainCorpusSection(Section):
    """Unlabelled texts: CSV, TSV, JSONL or Parquet files (globs allowed); only ``text_column`` is read.

    Rows whose text is empty are skipped (and counted). ``max_rows`` caps the corpus (first rows).
    ``shard_rows`` texts are linked and saved together: the unit of resume and of the split across
    ``torchrun`` ranks.
    """

    paths: list[PathValue] = Field(min_length=1)   # relative to the spec file
    text_column: str = "text"
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet"] = "auto"
    max_rows: int | None = Field(None, gt=0)
    shard_rows: int = Field(5000, gt=0)


class ObjectiveWeights(Section):
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


#: Options of the four schemas that pretraining sets itself: link prediction and the alignment loss
#: follow ``objectives``, there is no validation data to stop on, no task to shuffle graphs for, and
#: the graph is never dropped (whole-graph dropout is a fine-tuning regulariser), and no task marks a span to focus on.
_NOT_PRETRAINING = ("link_prediction", "alignment", "patience", "shuffle_graph", "subgraph_ranking", "graph_dropout",
                    "focus_marks")

PretrainSection = schema_section("PretrainSection", """Model, objectives, optimisation and trainer of the pretraining.

Every option of the four schemas (:mod:`kgattn.schemas`: architecture, features, optimisation,
trainer) with the same names and defaults as :class:`~kgattn.KGClassifier` and a pipeline spec,
so a default classifier fits a default pretraining; architecture keys (``gnn``, ``gnn_dim``,
``fusion``, ``fusion_layers``, ``hops``, ``backbone``, ``node_template``, ...) must match the
classifier that later starts from the result (``init_from``), which refuses a mismatch.
``use_graph: false`` is the MLM-only control: the same texts, masking and steps without the graph
input (only the MLM objective can run). ``output_dir``: where everything goes (relative to the
working directory; default ``runs/pretrain/<name>``).

Pretraining's own keys: ``objectives`` (the losses' weights), masking (each real token is masked
with probability ``mask_rate``, tokens of linked mentions with ``entity_mask_rate``; 80% [MASK],
10% random, 10% unchanged), ``link_hide_rate`` (the fraction of the edges touching a linked entity
hidden from the GNN and predicted, at least one per batch when there is such an edge),
``link_scorer`` and ``checkpoint_every`` (optimiser steps between resumable checkpoints).""",
                                 ("model", "features", "optim", "trainer"), exclude=_NOT_PRETRAINING,
                                 extra={"objectives": (ObjectiveWeights, ObjectiveWeights()),
                                        "mask_rate": (Annotated[float, Field(ge=0, le=1)], 0.15),
                                        "entity_mask_rate": (Annotated[float, Field(ge=0, le=1)], 0.5),
                                        "link_hide_rate": (Annotated[float, Field(gt=0, le=1)], 0.5),
                                        "link_scorer": (Literal["distmult", "transe"], "distmult"),
                                        "checkpoint_every": (Annotated[int, Field(gt=0)], 50)})
#: Keys that may change between a killed run and its resume (how long and where it trains).
RESUMABLE_KEYS: tuple[str, ...] = ("max_epochs", "max_steps", "precision", "devices", "num_nodes", "strategy",
                                   "accelerator", "progress_bar", "log_every_n_steps", "checkpoint_every",
                                   "output_dir")


def _check_pretraining(section) -> None:
    if not section.use_graph and not section.objectives.mlm:
        raise ValueError("use_graph: false (the MLM-only control) needs objectives.mlm > 0")
    if section.fusion == "bag":
        raise ValueError("fusion: bag has no fusion blocks to pretrain; use cross_attention or greaselm")


class PretrainSpec(Section):
    """A ``kgattn pretrain`` spec: ``name``, ``kg``, ``corpus``, ``linker``, ``pretrain``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    kg: KGSpec
    corpus: PretrainCorpusSection
    linker: LinkerSpec = Field(default_factory=LinkerSpec)
    pretrain: PretrainSection = Field(default_factory=PretrainSection)

    @property
    def output_dir(self) -> Path:
        return Path(self.pretrain.output_dir) if self.pretrain.output_dir else Path("runs") / "pretrain" / self.name

    @model_validator(mode="after")
    def _pretraining(self) -> "PretrainSpec":
        _check_pretraining(self.pretrain)
        return self

    def training_key(self) -> str:
        """A hash of every setting that shapes the pretrained weights except how long it trains:
        a checkpoint of the same key can be resumed (and trained further)."""
        data = self.model_dump(mode="json")
        for key in RESUMABLE_KEYS:
            data["pretrain"].pop(key, None)
        data.pop("description", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def link_key(self) -> str:
        """A hash of what the linked shards depend on (graph source, corpus, linker, backbone)."""
        data = self.model_dump(mode="json", include={"kg", "corpus", "linker"})
        data["corpus"].pop("max_rows", None)
        data["backbone"] = self.linker.backbone or self.pretrain.backbone
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def parse_pretrain_spec(data: Any, source: str | Path = "<spec>", base_dir: str | Path | None = None,
                        text: str | SpecSources | None = None) -> PretrainSpec:
    """Validate a spec given as a mapping; errors name ``source``, the dotted key and, given the
    YAML ``text`` (or a composed spec's :class:`SpecSources`), where it was written."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a pretrain spec must be a mapping with name, kg, corpus, pretrain")
    try:
        return PretrainSpec.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, Path(source), text, what="pretrain spec")) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_pretrain_spec(path: str | Path, overrides: Sequence[str] = ()) -> PretrainSpec:
    """Read and validate a pretrain spec YAML file, with its ``extends`` chain and ``--set``
    overrides (:mod:`kgattn.specs.compose`, as for pipeline specs)."""
    path = Path(path)
    composed = compose(path, PretrainSpec, overrides, what="pretrain spec")
    return parse_pretrain_spec(composed.data, path, base_dir=path.resolve().parent, text=composed.sources)
