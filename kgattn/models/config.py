"""Configuration of :class:`~kgattn.models.KGAugmentedModel`, stored as JSON."""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kgattn.errors import ConfigError
from kgattn.models.registry import GNN_CONVS
from kgattn.persistence import atomic_write_text, read_json

FUSION_KINDS = ("cross_attention", "greaselm", "bag")
ATTENTION_KINDS = ("dot", "additive")
LINK_SCORERS = ("distmult", "transe")
LOSS_WEIGHTINGS = ("fixed", "uncertainty")

#: Weight of a loss term in ``loss_weighting="fixed"`` when ``loss_weights`` does not name it.
DEFAULT_LOSS_WEIGHTS = {"task": 1.0, "link": 0.1, "align": 0.1}


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"model config key {key!r}: {message}", key=key)


@dataclass(frozen=True)
class KGAugmentedConfig:
    """Everything needed to rebuild a :class:`KGAugmentedModel` (JSON round-trips exactly).

    Graph side: ``node_feature_dim`` is F of ``GraphBatch.node_features``; ``num_relations`` the
    KG's relation vocabulary (``add_inverse_edges`` doubles it inside the GNN so messages also
    flow target -> source); ``gnn_dim`` the node-state size d. ``fusion_layers`` lists backbone
    layer indices (negative counts from the end) after which a fusion block sits; ``None`` means
    the last two. ``fusion="bag"`` is the graph-features-only baseline: no fusion block and no
    GNN; a :class:`~kgattn.models.bag.NodeBag` of the subgraph's nodes (hashed into
    ``bag_buckets`` rows) and relation types replaces the graph pool.
    ``loss_weights`` keys are ``"task:<name>"``, ``"link"`` and ``"align"``. ``graph_dropout``: the
    probability that a training example is seen without its subgraph (whole-graph dropout), so
    the model keeps working from the text alone where the graph is irrelevant. Default 0.5, chosen
    on TREC + WordNet (benchmarks/RESULTS.md, session 8): against 0.0 it removed the coarse-label
    harm at 500 questions (full - no_graph -0.9 -> 0.0) and halved it at 200 (-3.7 -> -1.9),
    keeping the fine-label gain (+1.7 at both sizes; 0.0 gave +2.8 and +1.5); the quickstart, where
    the graph holds the answer, scored 97.5 against 98.1. Pretraining always sees the graph.
    ``backbone_config`` is filled in by the model (the backbone's own ``config.to_dict()``) so a
    saved model rebuilds offline.
    """

    tasks: dict[str, int]
    backbone: str = "minilm"
    use_graph: bool = True
    node_feature_dim: int = 384
    num_relations: int = 1
    add_inverse_edges: bool = True
    max_hops: int = 3
    gnn: str = "rgcn"
    gnn_layers: int = 2
    gnn_dim: int = 128
    gnn_heads: int = 4
    num_bases: int = 8
    dropout: float = 0.1
    graph_dropout: float = 0.5
    fusion_layers: list[int] | None = None
    fusion: str = "cross_attention"
    attention: str = "dot"
    fusion_heads: int = 4
    bag_buckets: int = 65536
    link_prediction: str | None = None
    num_negatives: int = 8
    link_edge_fraction: float = 0.15
    transe_margin: float = 12.0
    alignment: bool = True
    loss_weights: dict[str, float] = field(default_factory=dict)
    loss_weighting: str = "fixed"
    attn_implementation: str | None = None
    backbone_config: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # JSON turns tuples into lists and may hand us ints as floats; normalise first.
        if isinstance(self.backbone, os.PathLike):
            object.__setattr__(self, "backbone", os.fspath(self.backbone))
        if self.fusion_layers is not None:
            object.__setattr__(self, "fusion_layers", list(self.fusion_layers))
        object.__setattr__(self, "tasks", dict(self.tasks))
        object.__setattr__(self, "loss_weights", dict(self.loss_weights))
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        if not isinstance(self.tasks, dict) or not self.tasks:
            _fail("tasks", "needs at least one task, e.g. {'label': 6}")
        for name, n in self.tasks.items():
            if not isinstance(name, str) or not name:
                _fail("tasks", f"task names must be non-empty strings, got {name!r}")
            if isinstance(n, bool) or not isinstance(n, int) or n < 2:
                _fail("tasks", f"task {name!r} needs an integer number of classes >= 2, got {n!r}")
        if not isinstance(self.backbone, str) or not self.backbone:
            _fail("backbone", f"must be a name, path or hub id, got {self.backbone!r}")
        for key in ("node_feature_dim", "num_relations", "gnn_dim", "gnn_heads", "num_bases",
                    "fusion_heads", "num_negatives", "bag_buckets"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                _fail(key, f"must be a positive integer, got {v!r}")
        if isinstance(self.max_hops, bool) or not isinstance(self.max_hops, int) or self.max_hops < 0:
            _fail("max_hops", f"must be an integer >= 0, got {self.max_hops!r}")
        if isinstance(self.gnn_layers, bool) or self.gnn_layers not in (1, 2, 3):
            _fail("gnn_layers", f"must be 1, 2 or 3, got {self.gnn_layers!r}")
        self._choice("gnn", tuple(GNN_CONVS))
        self._choice("fusion", FUSION_KINDS)
        self._choice("attention", ATTENTION_KINDS)
        self._choice("loss_weighting", LOSS_WEIGHTINGS)
        if self.link_prediction is not None:
            self._choice("link_prediction", LINK_SCORERS)
        if GNN_CONVS[self.gnn].heads_divide_dim and self.gnn_dim % self.gnn_heads:
            _fail("gnn_heads", f"gnn_dim={self.gnn_dim} is not divisible by gnn_heads={self.gnn_heads}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            _fail("dropout", f"must be in [0, 1), got {self.dropout!r}")
        if not (isinstance(self.graph_dropout, (int, float)) and 0.0 <= self.graph_dropout < 1.0):
            _fail("graph_dropout", f"must be in [0, 1), got {self.graph_dropout!r}")
        if not (isinstance(self.link_edge_fraction, (int, float)) and 0.0 <= self.link_edge_fraction <= 1.0):
            _fail("link_edge_fraction", f"must be in [0, 1], got {self.link_edge_fraction!r}")
        if not (isinstance(self.transe_margin, (int, float)) and math.isfinite(self.transe_margin)):
            _fail("transe_margin", f"must be a finite number, got {self.transe_margin!r}")
        if self.fusion_layers is not None:
            if not self.fusion_layers:
                _fail("fusion_layers", "must list at least one layer index (or be null for the last two)")
            for i in self.fusion_layers:
                if isinstance(i, bool) or not isinstance(i, int):
                    _fail("fusion_layers", f"layer indices must be integers, got {i!r}")
        known = set(self.loss_terms())
        for key, w in self.loss_weights.items():
            if key not in known:
                _fail("loss_weights", f"unknown loss term {key!r}; this config has {sorted(known)}")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                _fail("loss_weights", f"weight of {key!r} must be a finite number >= 0, got {w!r}")
        if self.attn_implementation not in (None, "eager", "sdpa", "flash_attention_2", "flex_attention"):
            _fail("attn_implementation", f"unknown attention implementation {self.attn_implementation!r}")

    def _choice(self, key: str, allowed: tuple[str, ...]) -> None:
        if getattr(self, key) not in allowed:
            _fail(key, f"must be one of {list(allowed)}, got {getattr(self, key)!r}")

    # ------------------------------------------------------------------ loss terms
    def loss_terms(self) -> list[str]:
        """Names of every loss term this model can return, in a fixed order."""
        terms = [f"task:{name}" for name in self.tasks]
        if self.uses_gnn and self.link_prediction is not None:
            terms.append("link")
        if self.uses_gnn and self.alignment:
            terms.append("align")
        return terms

    @property
    def uses_gnn(self) -> bool:
        """Whether the model encodes the graph with the GNN (not with no graph or a bag of nodes)."""
        return self.use_graph and self.fusion != "bag"

    def loss_weight(self, term: str) -> float:
        """The fixed weight (alpha) of a loss term."""
        if term in self.loss_weights:
            return float(self.loss_weights[term])
        return DEFAULT_LOSS_WEIGHTS[term.split(":", 1)[0]]

    def resolve_fusion_layers(self, num_layers: int) -> list[int]:
        """Sorted non-negative fusion layer indices for a backbone with ``num_layers`` layers."""
        if self.fusion == "bag":
            return []
        wanted = self.fusion_layers if self.fusion_layers is not None else [-2, -1]
        out = set()
        for i in wanted:
            j = i + num_layers if i < 0 else i
            if not 0 <= j < num_layers:
                _fail("fusion_layers", f"layer index {i} is out of range for a backbone with {num_layers} layers")
            out.add(j)
        return sorted(out)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path | None = None) -> "KGAugmentedConfig":
        where = f" in {source}" if source is not None else ""
        if not isinstance(data, dict):
            raise ConfigError(f"model config{where} must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown model config key {unknown[0]!r}{where}; known keys: {sorted(names)}")
        if "tasks" not in data:
            raise ConfigError(f"model config key 'tasks' is missing{where}")
        try:
            return cls(**data)
        except ConfigError as exc:
            if source is None:
                raise
            raise ConfigError(f"{source}: {exc}") from exc

    def save_json(self, path: str | Path) -> Path:
        # Not sort_keys: the order of ``tasks`` is the order of the heads (and of the loss terms).
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> "KGAugmentedConfig":
        return cls.from_dict(read_json(path, "model config"), source=Path(path))

    def replace(self, **changes: Any) -> "KGAugmentedConfig":
        return replace(self, **changes)
