"""Typed outputs of prediction and explanation (frozen, JSON-ready through ``to_dict``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kgattn.linking.types import Mention


@dataclass(frozen=True)
class AttendedNode:
    """A knowledge-graph node and the attention it received (mean over heads and tokens)."""

    node: int
    label: str
    weight: float


@dataclass(frozen=True)
class LinkedMention:
    """A span of the text (character offsets) and the node it was linked to (None: unlinked)."""

    start: int
    end: int
    text: str
    node: int | None
    label: str | None


@dataclass(frozen=True)
class LayerAttention:
    """What one fusion block attended to.

    ``gate`` is ``tanh(g)``, the block's residual gate (0: the block changes nothing);
    ``null_weight`` the attention on the learned null node; ``top_nodes`` the most attended
    real nodes, highest first.
    """

    layer: int
    gate: float | None
    null_weight: float
    top_nodes: tuple[AttendedNode, ...]


@dataclass(frozen=True)
class Explanation:
    """Why a text got its prediction: linked mentions, attended nodes per fusion layer, gates."""

    text: str
    prediction: dict[str, object]
    probabilities: dict[str, dict[str, float]]
    mentions: tuple[LinkedMention, ...]
    layers: tuple[LayerAttention, ...]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PredictionBatch:
    """Predictions for a batch of b consecutive inputs of a :meth:`KGClassifier.predict_batches` call.

    Attributes:
        index:         int64 [b]  positions of these inputs in the texts passed in.
        probabilities: ``{task: float32 [b, C]}``, columns in ``classes_[task]`` order.
        labels:        ``{task: list of b labels}``, the argmax classes.
        top_nodes:     per input, the most attended nodes (attention averaged over fusion layers,
                       heads and tokens), highest first; empty tuples without a graph.
        mentions:      per input, the linked mentions used (empty without a graph).
    """

    index: np.ndarray
    probabilities: dict[str, np.ndarray]
    labels: dict[str, list]
    top_nodes: list[tuple[AttendedNode, ...]]
    mentions: list[tuple[Mention, ...]]

    def __len__(self) -> int:
        return int(self.index.shape[0])
