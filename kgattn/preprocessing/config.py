"""The feature schema: how a text becomes model input (light: no torch)."""
from __future__ import annotations

from dataclasses import dataclass, field

from kgattn.embeddings.templates import DEFAULT_TEMPLATE, check_template
from kgattn.errors import ConfigError

#: How the nodes of a capped subgraph are chosen (see :class:`FeatureConfig`).
RANKINGS = ("hops", "relevance")


@dataclass(frozen=True)
class FeatureConfig:
    """Tokens kept per text, the subgraph cut around its linked entities, and the node text.

    ``max_length``: tokens kept per text (clamped to the backbone's limit); the linker reads only
    the characters those tokens cover, so a 2 MB text costs what its first ``max_length`` tokens
    cost. ``max_nodes``/``hops``: the subgraph of at most ``max_nodes`` nodes within ``hops`` of
    the linked entities. ``node_template``: the text whose backbone encoding is a node's feature
    vector (``{label}``, ``{description}``, e.g. WordNet's gloss, and ``{relations}``, the names of
    the node's own relations: :func:`kgattn.embeddings.templates.node_relations`). ``shuffle_graph``: the
    shuffled-graph control, every text gets another text's subgraph (a fixed-seed cycle over each
    corpus passed in), in training and at inference. ``subgraph_ranking``: which nodes fill the
    ``max_nodes`` slots when the neighbourhood is larger: ``"hops"`` (nearest first) or
    ``"relevance"`` (QA-GNN's relevance scoring: the cosine similarity between a node's feature
    vector and the backbone's encoding of the text, nearest hop breaking ties).
    ``focus_marks``: an ``(open, close)`` pair such as ``("[", "]")`` for tasks about one marked
    span of each text (entity typing, relation classification): only the mentions inside the first
    marked span seed the subgraph, so the graph holds the marked entity's neighbourhood and no other
    entity of the text, and a text whose marked span links nothing gets an empty graph (the model
    reads the text alone). A text without both marks keeps every mention. Default None: every
    mention seeds the subgraph.
    """

    max_length: int = 128
    max_nodes: int = 32
    hops: int = 2
    node_template: str = DEFAULT_TEMPLATE
    shuffle_graph: bool = False
    subgraph_ranking: str = "hops"
    # Added after specs were in use: left out of the spec hashes while None (kgattn.specs.base).
    focus_marks: tuple[str, str] | None = field(default=None, metadata={"omit_unset": True})

    def __post_init__(self):
        if self.focus_marks is not None:
            marks = self.focus_marks
            if (isinstance(marks, str) or not isinstance(marks, (list, tuple)) or len(marks) != 2
                    or not all(isinstance(m, str) and m for m in marks)):
                raise ConfigError(f"focus_marks must be two non-empty strings (open, close), got {marks!r}",
                                  key="focus_marks")
            object.__setattr__(self, "focus_marks", tuple(marks))   # a JSON or YAML list comes back a tuple
        for key in ("max_length", "max_nodes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be an integer >= 1, got {value!r}", key=key)
        if isinstance(self.hops, bool) or not isinstance(self.hops, int) or self.hops < 0:
            raise ConfigError(f"hops must be an integer >= 0, got {self.hops!r}", key="hops")
        if self.subgraph_ranking not in RANKINGS:
            raise ConfigError(f"subgraph_ranking must be one of {list(RANKINGS)}, got {self.subgraph_ranking!r}",
                              key="subgraph_ranking")
        try:
            check_template(self.node_template)
        except ConfigError as exc:
            raise ConfigError(str(exc), key="node_template") from None
