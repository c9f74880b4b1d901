"""What the pipeline needs of the graph, the linker, the classifier and their factory.

The stages call only these members. :class:`kgattn.graph.KnowledgeGraph`,
:class:`kgattn.linking.EntityLinker` and :class:`kgattn.api.KGClassifier` satisfy them, and so
must anything passed as ``components=`` to :func:`kgattn.pipeline.run_pipeline` (the test doubles
in ``tests/doubles.py`` are written against these protocols, and a test checks that the real
classes and the doubles agree with them parameter for parameter).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the protocols import nothing heavy
    from kgattn.explain import Explanation, PredictionBatch
    from kgattn.linking.types import Mention
    from kgattn.pipeline.spec import PipelineSpec


@runtime_checkable
class GraphLike(Protocol):
    """The graph as the stages use it (counts, fingerprint, labels and ids of node indices)."""

    @property
    def num_nodes(self) -> int: ...

    @property
    def num_edges(self) -> int: ...

    @property
    def num_relations(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def node_id(self, i: int) -> str: ...

    def label(self, i: int) -> str: ...

    def description(self, i: int) -> str: ...

    def neighbors(self, i: int, direction: str = "both") -> tuple[Any, Any]: ...

    def save(self, directory) -> Path: ...


@runtime_checkable
class LinkerLike(Protocol):
    """Links texts to graph nodes, streaming one list of mentions per text in input order."""

    def link(self, text: str) -> list[Mention]: ...

    def link_batch(self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1) -> Iterator[list[Mention]]: ...


@runtime_checkable
class ClassifierLike(Protocol):
    """A trained (or trainable) classifier: the part of :class:`kgattn.api.KGClassifier` the
    pipeline and the evaluation call."""

    @property
    def classes_(self) -> dict[str, list]: ...

    def fit(self, texts: Sequence[str], labels, val=None, mentions=None) -> ClassifierLike: ...

    def predict(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None) -> dict[str, list]: ...

    def predict_batches(self, texts: Iterable[str], mentions=None, *, use_graph: bool | None = None,
                        top_k: int = 5, chunk_size: int | None = None) -> Iterator[PredictionBatch]: ...

    def explain(self, text: str, mentions=None, top_k: int = 5) -> Explanation: ...

    def save(self, directory) -> Path: ...


@runtime_checkable
class ComponentsLike(Protocol):
    """Factories for the graph, the linker and the classifier (:class:`kgattn.pipeline.Components`)."""

    def import_kg(self, spec) -> GraphLike: ...

    def load_kg(self, directory: Path) -> GraphLike: ...

    def make_linker(self, kg: GraphLike, spec: PipelineSpec) -> LinkerLike: ...

    def make_classifier(self, kg: GraphLike, linker: LinkerLike, spec: PipelineSpec,
                        **overrides: Any) -> ClassifierLike: ...

    def load_classifier(self, directory: Path, kg: GraphLike, linker: LinkerLike) -> ClassifierLike: ...


__all__ = ["ClassifierLike", "ComponentsLike", "GraphLike", "LinkerLike"]
