"""The pipeline spec: one YAML file, validated once at the boundary with pydantic.

Sections: ``kg``, ``corpus``, ``linker``, ``model``, ``features``, ``train``, ``evaluate``,
``predict`` (and ``name``, ``run_root``). Unknown keys are errors, and there is no untyped
escape hatch: ``model``, ``features`` and ``train`` are built from the option schemas of
:mod:`kgattn.schemas` (the same names and defaults as :class:`kgattn.KGClassifier`). Path values expand environment variables
(``${KGATTN_DATA}`` defaults to :func:`kgattn.paths.data_dir` when unset) and ``~``; relative
paths are resolved against the directory of the YAML file, so a spec works from any working
directory. ``run_root`` (default ``runs``) is the exception: it is relative to the working
directory, like a build folder.

Every error raised here is a :class:`kgattn.errors.ConfigError` naming the file, the dotted key
and, when known, its line.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Sequence

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from kgattn.errors import ConfigError
from kgattn.evaluation.variants import DefaultVariants, check_variant_name
from kgattn.graph.verbalize import MAX_HOPS
from kgattn.specs.graph import KGSourceSpec, KGSpec  # noqa: F401 (part of the spec schema)
from kgattn.specs.linker import LinkerSpec
from kgattn.specs.base import PathValue, Section, expand_vars, schema_section
from kgattn.specs.compose import SpecSources, compose
from kgattn.specs.yamlio import format_errors

#: An evaluation variant: a name in the registry kgattn.evaluation.variants; ALL_VARIANTS: its defaults.
Variant = Annotated[str, AfterValidator(check_variant_name)]
ALL_VARIANTS = DefaultVariants()
SPLITS = ("train", "val", "test")
RESERVED_COLUMNS = ("id", "text", "split", "entities", "top_nodes", "mentions", "row")

class CorpusSpec(Section):
    """A labelled corpus: files (CSV, TSV, JSONL, Parquet; globs allowed) or a built-in data set.

    ``dataset: trec`` / ``conll2003`` prepares a Parquet corpus from the raw files under
    ``dataset_dir`` (default ``${KGATTN_DATA}/<name>``) in the link stage; ``paths`` is then not
    needed. Labels: ``labels`` maps task name -> column (a list means task = column name).
    Splits: a ``split_column`` whose values ``split_values`` maps onto train/val/test, or
    ``split_ratios`` (hash of id and ``seed``, so the split is stable while streaming);
    ``val_fraction`` carves a validation split out of train when the corpus has none.
    """

    dataset: Literal["trec", "conll2003"] | None = None
    dataset_dir: PathValue | None = None
    paths: list[PathValue] = Field(default_factory=list)
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet"] = "auto"
    id_column: str | None = "id"
    text_column: str = "text"
    labels: dict[str, str] = Field(default_factory=lambda: {"label": "label"})
    split_column: str | None = "split"
    split_values: dict[Literal["train", "val", "test"], str] = Field(
        default_factory=lambda: {s: s for s in SPLITS})
    split_ratios: dict[Literal["train", "val", "test"], float] | None = None
    val_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    seed: int = 0
    #: Rows per shard of the link stage (the unit of resume and of the DDP split).
    shard_rows: int = Field(5000, gt=0)
    #: Train on at most this many training rows (a seeded sample with ``seed``, in corpus order),
    #: for learning curves with the full evaluation (all variants, paired tests, graph removed);
    #: validation and test rows are kept whole. Unset: every training row.
    max_train_rows: int | None = Field(None, gt=0)

    _OMIT_UNSET: ClassVar[tuple[str, ...]] = ("max_train_rows",)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {value: value}
        if isinstance(value, list):
            return {str(v): str(v) for v in value}
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one label column is needed")
        for task in value:
            if task in RESERVED_COLUMNS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", task):
                raise ValueError(f"task name {task!r} is reserved or not an identifier")
        return value

    @field_validator("split_ratios")
    @classmethod
    def _ratios(cls, value: dict | None) -> dict | None:
        if value is not None:
            if any(v < 0 for v in value.values()) or abs(sum(value.values()) - 1.0) > 1e-6:
                raise ValueError(f"split ratios must be >= 0 and sum to 1, got {value}")
        return value

    @model_validator(mode="after")
    def _source(self) -> "CorpusSpec":
        if self.dataset is None and not self.paths:
            raise ValueError("give 'paths' (corpus files) or 'dataset' (trec, conll2003)")
        if self.split_ratios is not None and self.split_column is not None and self.dataset is None:
            # Explicit null split_column is needed to use ratios: two sources of truth are a mistake.
            raise ValueError("give either 'split_column' or 'split_ratios' (set split_column: null)")
        return self


ModelSpec = schema_section("ModelSpec", """The model architecture: the user fields of
:class:`kgattn.models.KGAugmentedConfig` (``backbone``, ``gnn``, ``fusion``, ``fusion_layers``,
``gnn_dim``, ``link_prediction``, ``loss_weights``, ...), with its defaults, and ``init_from``: a
directory written by ``kgattn pretrain`` that fine-tuning starts from.""", ("model",),
                           extra={"init_from": (PathValue | None, None)})

FeaturesSpec = schema_section("FeaturesSpec", """How texts become model input: the fields of
:class:`kgattn.preprocessing.FeatureConfig` (``max_length``, ``max_nodes``, ``hops``,
``node_template``, ``shuffle_graph``).""", ("features",))

TrainSpec = schema_section("TrainSpec", """Optimisation and the training loop: the fields of
:class:`kgattn.training.config.OptimConfig` (``lr``, ``backbone_lr``, ``gate_lr``,
``weight_decay``, ``warmup_ratio``, ``schedule``) and
:class:`kgattn.training.config.TrainerConfig` (``max_epochs``, ``batch_size``, ``precision``,
``seed``, ``patience``, ``devices``, ``strategy``, ``accelerator``, ...). The pipeline sets the
progress bar and the output folder itself.

Scale-out: ``strategy: ddp`` with ``devices: N`` lets Lightning spawn N processes; or launch
``torchrun --nproc_per_node N kgattn run spec.yaml`` (Lightning picks the torchrun environment
up). In both cases link and predict split their shards across the ranks.""", ("optim", "trainer"),
                           exclude=("progress_bar", "output_dir"))


class EvaluateSpec(Section):
    """The with/without-graph evaluation: variants x seeds, paired statistics, learning curves."""

    variants: list[Variant] = Field(default_factory=lambda: list(ALL_VARIANTS))
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    split: Literal["val", "test"] = "test"
    #: Training-set sizes for learning curves: values <= 1 are fractions, larger ones row counts.
    train_sizes: list[float] = Field(default_factory=list)
    #: Variants trained again at each training size.
    curve_variants: list[Variant] = Field(default_factory=lambda: ["full", "no_graph"])
    bootstrap: int = Field(10000, gt=0)
    permutations: int = Field(10000, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    #: Texts shown with their attended nodes in the report (from ``KGClassifier.explain``).
    explain: int = Field(1, ge=0)
    #: ``knowledge_as_text`` variant: neighbour labels appended per linked node (default 8), the
    #: token limit of its longer texts (default 128), whether each linked node's description
    #: (WordNet: its gloss) is appended too (default false), and how many hops of neighbours are
    #: written out (default 1; 2 then describes each neighbour the same way, breadth first). Unset, they stay
    #: out of the stage key, so specs written before these fields existed keep their run directories.
    text_neighbours: int | None = Field(None, ge=0)
    text_max_length: int | None = Field(None, gt=0)
    text_glosses: bool | None = None
    text_hops: int | None = Field(None, ge=1, le=MAX_HOPS)

    #: Pseudonymised evaluation (:func:`kgattn.evaluation.pseudonymize.pseudonymize`): every variant
    #: is trained and scored on texts whose linked entity mentions carry invented names
    #: (``mentions``; the names become the nodes' aliases), or whose entities' names are replaced
    #: in the graph too (``entities``), so only the graph's relations and descriptions know them.
    #: Unset: the plain texts.
    pseudonymize: Literal["mentions", "entities"] | None = None
    pseudonymize_seed: int | None = None

    _OMIT_UNSET: ClassVar[tuple[str, ...]] = ("text_neighbours", "text_max_length", "text_glosses", "text_hops",
                                             "pseudonymize", "pseudonymize_seed")
    TEXT_DEFAULTS: ClassVar[dict[str, int | bool]] = {"text_neighbours": 8, "text_max_length": 128,
                                                      "text_glosses": False, "text_hops": 1}

    def text_settings(self) -> dict[str, int | bool]:
        """The knowledge-as-text options set in the spec (stored with that variant's predictions)."""
        return {key: getattr(self, key) for key in self.TEXT_DEFAULTS if getattr(self, key) is not None}

    def text_option(self, key: str) -> int | bool:
        value = getattr(self, key)
        return self.TEXT_DEFAULTS[key] if value is None else value

    @field_validator("variants")
    @classmethod
    def _full_first(cls, value: list[str]) -> list[str]:
        if "full" not in value:
            raise ValueError("variants must include 'full' (the others are compared with it)")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate variants in {value}")
        return value

    @field_validator("train_sizes")
    @classmethod
    def _sizes(cls, value: list[float]) -> list[float]:
        for v in value:
            if v <= 0 or (v > 1 and v != int(v)):
                raise ValueError(f"training size {v} must be a fraction in (0, 1] or a whole row count")
        return value


class PredictInputSpec(Section):
    """Texts to predict on (labels not needed); same reader options as the corpus."""

    paths: list[PathValue] = Field(min_length=1)
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet"] = "auto"
    id_column: str | None = "id"
    text_column: str = "text"


class PredictSpec(Section):
    """Batch prediction. Without ``input`` the test split of the corpus is predicted."""

    input: PredictInputSpec | None = None
    #: Output file; default ``<run dir>/predict/predictions.<format>``.
    output: PathValue | None = None
    format: Literal["auto", "parquet", "jsonl"] = "auto"
    shard_rows: int = Field(1000, gt=0)
    batch_size: int = Field(32, gt=0)
    top_nodes: int = Field(5, ge=0)

    @property
    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        if self.output is not None and self.output.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            return "jsonl"
        return "parquet"


class PipelineSpec(Section):
    """A whole pipeline, as one YAML file (or a chain of them, see :mod:`kgattn.specs.compose`) gives it."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    run_root: Path = Path("runs")
    #: Stages ``kgattn run`` runs by default (prerequisites are added when not done).
    stages: list[Literal["link", "train", "evaluate", "predict"]] = Field(
        default_factory=lambda: ["link", "train", "evaluate", "predict"], min_length=1)
    kg: KGSpec
    corpus: CorpusSpec
    linker: LinkerSpec = Field(default_factory=LinkerSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    features: FeaturesSpec = Field(default_factory=FeaturesSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    evaluate: EvaluateSpec = Field(default_factory=EvaluateSpec)
    predict: PredictSpec = Field(default_factory=PredictSpec)

    @field_validator("run_root", mode="before")
    @classmethod
    def _run_root(cls, value: Any) -> Any:
        return Path(expand_vars(value)) if isinstance(value, str) else value

    # Which sections decide each stage's output; a stage reruns when its key changes.
    STAGE_SECTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "link": ("kg", "corpus", "linker"),
        "train": ("kg", "corpus", "linker", "model", "features", "train"),
        "evaluate": ("kg", "corpus", "linker", "model", "features", "train", "evaluate"),
        "predict": ("kg", "corpus", "linker", "model", "features", "train", "predict"),
    }

    def section_hash(self, *sections: str) -> str:
        """A short sha256 of the canonical JSON of the given sections."""
        data = self.model_dump(mode="json", include=set(sections))
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def config_hash(self) -> str:
        """Keys the run directory: everything that decides the trained model.

        ``evaluate`` and ``predict`` are left out on purpose: changing the output path or the
        number of seeds reruns only that stage (its own key lives in its stage marker) instead
        of relinking and retraining from scratch.
        """
        return self.section_hash("name", *self.STAGE_SECTIONS["train"])

    def stage_key(self, stage: str) -> str:
        return self.section_hash(*self.STAGE_SECTIONS[stage])


def parse_spec(data: Any, base_dir: str | Path | None = None, path: str | Path | None = None,
               source: str | SpecSources | None = None) -> PipelineSpec:
    """Validate a spec given as a dict; ``base_dir`` resolves relative paths; ``source`` (the YAML
    text, or a composed spec's :class:`SpecSources`) lets errors name the line of the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'spec'}: a pipeline spec must be a mapping of sections, "
                          f"got {type(data).__name__}")
    try:
        return PipelineSpec.model_validate(
            data, context={"base_dir": Path(base_dir) if base_dir is not None else None})
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, Path(path) if path else None, source)) from None


def read_spec(path: str | Path, overrides: Sequence[str] = ()) -> tuple[PipelineSpec, SpecSources]:
    """Read and validate a pipeline YAML with its ``extends`` chain and ``--set`` overrides
    (:mod:`kgattn.specs.compose`); every problem is a ConfigError naming file, key and line.
    Also returns where each key was written, for later errors (see :func:`check_resources`)."""
    path = Path(path)
    composed = compose(path, PipelineSpec, overrides)
    spec = parse_spec(composed.data, base_dir=path.resolve().parent, path=path, source=composed.sources)
    return spec, composed.sources


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> PipelineSpec:
    """Read and validate a pipeline YAML (see :func:`read_spec`)."""
    return read_spec(path, overrides)[0]
