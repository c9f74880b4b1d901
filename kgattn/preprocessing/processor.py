"""The :class:`Preprocessor`: everything between a text and a model batch, saved as one unit.

In the spirit of Hugging Face processors it bundles the tokenizer, the entity linker, the
subgraph settings (:class:`~kgattn.preprocessing.config.FeatureConfig`), the node features and
the collator. Data flows one way::

    text -> tokens (kept window) -> mentions (linker, on that window) -> subgraph -> Example
         -> Collator (padding, node features) -> ModelBatch

Training, prediction, distributed prediction and explanation all go through :meth:`prepare`
and :meth:`collator`. :meth:`save_pretrained` writes ``preprocessor.json`` (a manifest of
:mod:`kgattn.persistence`), ``tokenizer/`` and, when a linker exists, ``linker/``.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from kgattn.errors import BackboneError, ConfigError, SavedFileError
from kgattn.persistence import read_manifest, write_manifest
from kgattn.preprocessing.config import FeatureConfig
from kgattn.training.collate import Collator, Example, Featurizer, shuffle_graphs

KIND, VERSION = "kgattn-preprocessor", 1
MANIFEST, TOKENIZER_DIR, LINKER_DIR = "preprocessor.json", "tokenizer", "linker"


def load_tokenizer(source: str, backbone: str, max_length: int):
    """The backbone's tokenizer from ``source`` and the token limit: ``max_length`` clamped to
    what the tokenizer and the backbone's position embeddings allow (with one warning)."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        backbone_config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise BackboneError(f"cannot load backbone {backbone!r} ({source}): {exc}") from exc
    limits = [max_length]
    if 0 < getattr(tokenizer, "model_max_length", 0) < 1_000_000:
        limits.append(int(tokenizer.model_max_length))
    if backbone_config is not None and getattr(backbone_config, "max_position_embeddings", None):
        limits.append(int(backbone_config.max_position_embeddings))
    if min(limits) < max_length:
        warnings.warn(f"max_length={max_length} exceeds the backbone's limit; using {min(limits)}", stacklevel=4)
    return tokenizer, min(limits)


class Preprocessor:
    """Turns texts into :class:`~kgattn.training.collate.Example` s and batches.

    Args:
        tokenizer: a Hugging Face fast tokenizer.
        features: the :class:`FeatureConfig` (its ``max_length`` already clamped to the backbone).
        backbone: the encoder of the node features (a name, path or hub id).
        kg: the :class:`~kgattn.graph.KnowledgeGraph`, or None (no-graph models only).
        linker: an :class:`~kgattn.linking.EntityLinker`; None builds ``EntityLinker(kg)`` the first
            time a text must be linked (callers that pass mentions never build one).
        device: device of the node-feature encoder (None: the best available).
        seed: seed of the shuffled-graph control.
    """

    def __init__(self, tokenizer, features: FeatureConfig, backbone: str, kg=None, linker=None,
                 device: str | None = None, seed: int = 0):
        self.tokenizer = tokenizer
        self.features = features
        self.backbone = backbone
        self.kg = kg
        self.linker = linker
        self.device = device
        self.seed = seed
        self._featurizers: dict[bool, Featurizer] = {}
        self._node_features = None

    @classmethod
    def from_backbone(cls, backbone: str, features: FeatureConfig, kg=None, linker=None,
                      device: str | None = None, seed: int = 0) -> "Preprocessor":
        """Load the backbone's tokenizer and clamp ``features.max_length`` to its limit."""
        from kgattn.backbone import resolve_backbone

        tokenizer, max_length = load_tokenizer(resolve_backbone(backbone), backbone, features.max_length)
        features = dataclasses.replace(features, max_length=max_length)
        return cls(tokenizer, features, backbone, kg=kg, linker=linker, device=device, seed=seed)

    # ------------------------------------------------------------------ components
    def link_batch(self, texts: Sequence[str]):
        """Link ``texts`` (building ``EntityLinker(kg)`` on first use when no linker was given)."""
        if self.linker is None:
            from kgattn.linking import EntityLinker

            self.linker = EntityLinker(self.kg)
        return self.linker.link_batch(list(texts))

    @property
    def node_features(self):
        """The disk-cached node encodings (:class:`~kgattn.embeddings.NodeEmbeddings`), built lazily."""
        if self._node_features is None:
            from kgattn.embeddings import NodeEmbeddings, TextEncoder

            self._node_features = NodeEmbeddings(self.kg, TextEncoder(self.backbone, device=self.device),
                                                 template=self.features.node_template)
        return self._node_features

    def relevance_scorers(self, texts: Sequence[str]) -> list:
        """One subgraph scorer per text: ``cos(node feature, text encoding)`` (both unit norm, from
        the same encoder), so the capped subgraph keeps the nodes closest to what the text says."""
        features = self.node_features
        vectors = features.encoder.encode(list(texts))   # [n, F]

        def scorer(vector: torch.Tensor):
            return lambda nodes, hop: features(nodes) @ vector

        return [scorer(v) for v in vectors]

    def _featurizer(self, use_graph: bool) -> Featurizer:
        if use_graph not in self._featurizers:
            if use_graph and self.kg is None:
                raise ConfigError("use_graph=True needs the knowledge graph: pass kg= (to the constructor or to "
                                  "KGClassifier.load), or use_graph=False")
            f = self.features
            scorers = self.relevance_scorers if use_graph and f.subgraph_ranking == "relevance" else None
            self._featurizers[use_graph] = Featurizer(self.tokenizer, self.kg if use_graph else None,
                                                      self if use_graph else None, f.hops, f.max_nodes,
                                                      f.max_length, scorers=scorers, focus_marks=f.focus_marks)
        return self._featurizers[use_graph]

    def with_changes(self, kg=None, linker=None, **features) -> "Preprocessor":
        """A copy with another graph/linker or feature settings (the tokenizer is shared)."""
        return Preprocessor(self.tokenizer, dataclasses.replace(self.features, **features), self.backbone,
                            kg=kg if kg is not None else self.kg, linker=linker if linker is not None else self.linker,
                            device=self.device, seed=self.seed)

    # ------------------------------------------------------------------ the data path
    def prepare(self, texts: Sequence[str], mentions=None, use_graph: bool = True,
                warm: bool = False) -> list[Example]:
        """One Example per text (linked unless ``mentions`` are given, one list per text).

        ``warm`` encodes every node of the subgraphs now, so the first training steps do not.
        """
        examples = self._featurizer(use_graph).prepare(texts, mentions)
        if use_graph:
            if self.features.shuffle_graph:
                examples = shuffle_graphs(examples, self.seed)
            nodes = [ex.subgraph.nodes for ex in examples]
            if warm and nodes:
                self.node_features(torch.unique(torch.cat(nodes)))
        return examples

    def collator(self, use_graph: bool) -> Collator:
        pad = self.tokenizer.pad_token_id or 0
        if not use_graph:
            return Collator(pad)
        feats = self.node_features
        return Collator(pad, feats, feats.dim)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory / TOKENIZER_DIR)
        if self.linker is not None:
            self.linker.save(directory / LINKER_DIR)
        write_manifest(directory / MANIFEST, KIND, VERSION, features=dataclasses.asdict(self.features),
                       backbone=self.backbone, seed=self.seed, has_linker=self.linker is not None)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, kg=None, linker=None,
                        device: str | None = None) -> "Preprocessor":
        """Load what :meth:`save_pretrained` wrote. The saved linker is restored (when ``kg`` is
        given) unless ``linker`` is passed."""
        from transformers import AutoTokenizer

        directory = Path(directory)
        meta = read_manifest(directory / MANIFEST, KIND, VERSION)
        try:
            features = FeatureConfig(**meta["features"])
        except (TypeError, KeyError) as exc:
            raise ConfigError(f"{directory / MANIFEST}: bad features entry ({exc})") from None
        if linker is None and kg is not None and meta.get("has_linker") and (directory / LINKER_DIR).is_dir():
            from kgattn.linking import EntityLinker

            linker = EntityLinker.load(directory / LINKER_DIR, kg)
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory / TOKENIZER_DIR)
        except (OSError, ValueError) as exc:
            raise SavedFileError(f"cannot load the saved tokenizer ({exc})", directory / TOKENIZER_DIR) from None
        return cls(tokenizer, features, meta["backbone"], kg=kg, linker=linker, device=device,
                   seed=int(meta.get("seed", 0)))
