"""``KGClassifier``: a scikit-learn style text classifier that attends over a knowledge graph.

Example::

    from kgattn import KGClassifier, KnowledgeGraph

    kg = KnowledgeGraph.load("data/quickstart/kg.ttl")
    clf = KGClassifier(kg=kg, max_epochs=3).fit(train_texts, train_labels, val=(val_texts, val_labels))
    clf.predict(["Kelbrook Group shares fell 4%."])
    clf.evaluate(test_texts, test_labels)                   # {"label": {"accuracy": ..., "macro_f1": ...}}
    clf.evaluate(test_texts, test_labels, use_graph=False)  # the same model with the graph removed
    clf.save("out/model"); KGClassifier.load("out/model", kg=kg)
"""
from __future__ import annotations

import itertools
import json
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from kgattn.embeddings.node_cache import DEFAULT_TEMPLATE
from kgattn.errors import BackboneError, ConfigError, FingerprintMismatchError, InputTextError, LabelError
from kgattn.explain import AttendedNode, Explanation, LayerAttention, LinkedMention, PredictionBatch
from kgattn.linking.types import Mention
from kgattn.training.collate import Collator, Example, Featurizer, check_texts, shuffle_graphs
from kgattn.training.labels import DEFAULT_TASK, LabelEncoder, fit_encoders, normalize_labels


#: File names inside a saved classifier directory.
CLASSIFIER_JSON, MODEL_DIR, TOKENIZER_DIR, LINKER_DIR = "classifier.json", "model", "tokenizer", "linker"
FORMAT, FORMAT_VERSION = "kgattn.KGClassifier", 1

_PARAMS = ("backbone", "use_graph", "gnn", "fusion_layers", "max_nodes", "hops", "node_template", "fusion",
           "max_length", "batch_size", "max_epochs", "lr", "backbone_lr", "gate_lr", "weight_decay",
           "warmup_ratio", "schedule", "grad_clip", "accumulate", "precision", "seed", "patience", "loss_weights",
           "loss_weighting", "link_prediction", "shuffle_graph", "devices", "strategy", "accelerator", "output_dir",
           "progress_bar")


class KGClassifier:
    """Text classifier whose backbone attends over linked knowledge-graph subgraphs.

    No work happens in ``__init__``; :meth:`fit` links the corpus once, cuts one subgraph per
    text, builds a :class:`~kgattn.models.KGAugmentedModel` and trains it with Lightning.

    Args:
        kg: the :class:`~kgattn.graph.KnowledgeGraph`; needed when ``use_graph``.
        linker: an :class:`~kgattn.linking.EntityLinker`; None builds ``EntityLinker(kg)``.
        backbone: Hugging Face encoder path or hub id (``"minilm"``: the packaged MiniLM-L6).
        use_graph: False gives the same architecture without graph input (the no-graph baseline).
        gnn, fusion_layers, fusion: see :class:`~kgattn.models.KGAugmentedConfig`.
        max_nodes, hops: subgraph size and radius around the linked entities.
        node_template: how a node becomes the text whose backbone encoding is its feature vector;
            ``{label}`` and ``{description}`` (WordNet: the gloss) are filled in.
        max_length: tokens kept per text (clamped to the backbone's limit); longer texts are
            truncated with one warning.
        batch_size, max_epochs, lr (new layers), backbone_lr (0 freezes the backbone),
        gate_lr (the fusion gates' own rate; None = ``lr``),
        weight_decay, warmup_ratio, schedule (``"linear"``, ``"cosine"``, ``"constant"``),
        grad_clip, accumulate, precision (``"auto"``, ``"bf16"``, ``"32"``), seed: training.
        patience: early stopping on validation macro-F1 (needs ``val``).
        loss_weights, loss_weighting (``"fixed"`` or ``"uncertainty"``), link_prediction
            (None, ``"distmult"``, ``"transe"``): the multi-task objective.
        shuffle_graph: the shuffled-graph control: every text gets another text's subgraph (a
            fixed-seed cycle over each corpus passed in), in training and at inference.
        devices, strategy, accelerator: Lightning ``Trainer`` arguments (``strategy="ddp"`` for
            multi-process training).
        output_dir: where Lightning logs (CSV, TensorBoard when installed) and checkpoints go;
            None uses a temporary folder removed after ``fit``.
        progress_bar: show Lightning's progress bar.
        callbacks: extra Lightning callbacks for ``fit`` (not saved).
        **model_options: further :class:`~kgattn.models.KGAugmentedConfig` fields (``gnn_dim``,
            ``attention``, ``dropout``, ...).

    Fitted attributes: ``classes_`` (``{task: [labels]}``), ``model_``, ``module_``.

    Bad input: labels whose count or type does not match the texts, and labels not seen in
    training, raise :class:`~kgattn.errors.LabelError` naming the task and index; empty or
    non-string texts raise :class:`~kgattn.errors.InputTextError` naming the index; texts
    longer than ``max_length`` tokens are truncated with a single warning; a backbone that
    cannot be loaded raises :class:`~kgattn.errors.BackboneError`.
    """

    def __init__(self, kg=None, linker=None, backbone: str = "minilm", use_graph: bool = True, gnn: str = "rgcn",
                 fusion_layers: list[int] | None = None, max_nodes: int = 32, hops: int = 2,
                 node_template: str = DEFAULT_TEMPLATE, fusion: str = "cross_attention", max_length: int = 128,
                 batch_size: int = 32,
                 max_epochs: int = 3, lr: float = 1e-3, backbone_lr: float = 3e-5, gate_lr: float | None = None,
                 weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, schedule: str = "linear", grad_clip: float | None = 1.0,
                 accumulate: int = 1, precision: str = "auto", seed: int = 0, patience: int | None = None,
                 loss_weights: dict[str, float] | None = None, loss_weighting: str = "fixed",
                 link_prediction: str | None = None, shuffle_graph: bool = False, devices="auto",
                 strategy: str = "auto", accelerator: str = "auto", output_dir: str | None = None,
                 progress_bar: bool = True, callbacks: list | None = None, **model_options):
        self.kg = kg
        self.linker = linker
        self.backbone = backbone
        self.use_graph = use_graph
        self.gnn = gnn
        self.fusion_layers = fusion_layers
        self.max_nodes = max_nodes
        self.hops = hops
        self.node_template = node_template
        self.fusion = fusion
        self.max_length = max_length
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.gate_lr = gate_lr
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.schedule = schedule
        self.grad_clip = grad_clip
        self.accumulate = accumulate
        self.precision = precision
        self.seed = seed
        self.patience = patience
        self.loss_weights = loss_weights
        self.loss_weighting = loss_weighting
        self.link_prediction = link_prediction
        self.shuffle_graph = shuffle_graph
        self.devices = devices
        self.strategy = strategy
        self.accelerator = accelerator
        self.output_dir = output_dir
        self.progress_bar = progress_bar
        self.callbacks = callbacks
        self.model_options = model_options

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> dict:
        """The constructor arguments except ``kg`` and ``linker`` (JSON-ready)."""
        params = {name: getattr(self, name) for name in _PARAMS}
        params.update(self.model_options)
        if params["output_dir"] is not None:
            params["output_dir"] = str(params["output_dir"])
        return params

    def set_params(self, **params) -> "KGClassifier":
        """Change constructor arguments (scikit-learn style). Changing ``max_nodes``, ``hops``,
        ``max_length``, ``kg`` or ``linker`` on a fitted classifier affects later predictions;
        architecture arguments take effect at the next ``fit``."""
        for key, value in params.items():
            if key in _PARAMS or key in ("kg", "linker", "callbacks"):
                setattr(self, key, value)
            else:
                self.model_options[key] = value
        # components built from these arguments are rebuilt on next use
        self.__dict__.pop("_featurizers_", None)
        if {"kg", "backbone", "accelerator", "node_template"} & set(params):
            self.__dict__.pop("_node_features_", None)
        if {"backbone", "max_length"} & set(params):
            self.__dict__.pop("_tokenizer_", None)
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k in ("backbone", "use_graph", "gnn"))
        return f"KGClassifier({shown})"

    @property
    def classes_(self) -> dict[str, list]:
        self._check_fitted()
        return {task: list(enc.classes) for task, enc in self.encoders_.items()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise ConfigError("this KGClassifier is not fitted yet: call fit() or KGClassifier.load()")

    # ------------------------------------------------------------------ components (lazy)
    def _tokenizer(self):
        if getattr(self, "_tokenizer_", None) is None:
            from transformers import AutoConfig, AutoTokenizer

            from kgattn.backbone import resolve_backbone

            source = getattr(self, "_tokenizer_dir_", None) or resolve_backbone(self.backbone)
            try:
                self._tokenizer_ = AutoTokenizer.from_pretrained(source)
                backbone_config = AutoConfig.from_pretrained(resolve_backbone(self.backbone)) \
                    if getattr(self, "_tokenizer_dir_", None) is None else None
            except (OSError, ValueError) as exc:
                raise BackboneError(f"cannot load backbone {self.backbone!r} ({source}): {exc}") from exc
            limits = [self.max_length]
            if 0 < getattr(self._tokenizer_, "model_max_length", 0) < 1_000_000:
                limits.append(int(self._tokenizer_.model_max_length))
            if backbone_config is not None and getattr(backbone_config, "max_position_embeddings", None):
                limits.append(int(backbone_config.max_position_embeddings))
            self._max_length_ = min(limits)
            if self._max_length_ < self.max_length:
                warnings.warn(f"max_length={self.max_length} exceeds the backbone's limit; using {self._max_length_}",
                              stacklevel=3)
        return self._tokenizer_

    def _graph_needed(self, use_graph: bool) -> None:
        if use_graph and self.kg is None:
            raise ConfigError("use_graph=True needs the knowledge graph: pass kg= (to the constructor or to "
                              "KGClassifier.load), or use_graph=False")

    def _node_features(self):
        if getattr(self, "_node_features_", None) is None:
            from kgattn.embeddings import NodeEmbeddings, TextEncoder

            accel = None if self.accelerator in ("auto", "gpu") else self.accelerator
            self._node_features_ = NodeEmbeddings(self.kg, TextEncoder(self.backbone, device=accel),
                                                   template=self.node_template)
        return self._node_features_

    def _linker(self):
        if self.linker is None:
            from kgattn.linking import EntityLinker

            self.linker = EntityLinker(self.kg)
        return self.linker

    def _featurizer(self, use_graph: bool) -> Featurizer:
        cache = self.__dict__.setdefault("_featurizers_", {})
        if use_graph not in cache:
            tokenizer = self._tokenizer()
            if use_graph:
                self._graph_needed(True)
                # The linker is built only if some call does not pass mentions.
                cache[use_graph] = _LazyLinkFeaturizer(tokenizer, self.kg, self._linker, self.hops,
                                                       self.max_nodes, self._max_length_)
            else:
                cache[use_graph] = Featurizer(tokenizer, None, None, self.hops, self.max_nodes, self._max_length_)
        return cache[use_graph]

    def _collator(self, use_graph: bool) -> Collator:
        pad = self._tokenizer().pad_token_id or 0
        if not use_graph:
            return Collator(pad)
        feats = self._node_features()
        return Collator(pad, feats, feats.dim)

    def _prepare(self, texts: Sequence[str], mentions, use_graph: bool, warm: bool = False) -> list[Example]:
        examples = self._featurizer(use_graph).prepare(texts, mentions)
        if use_graph:
            if self.shuffle_graph:
                examples = shuffle_graphs(examples, self.seed)
            nodes = [ex.subgraph.nodes for ex in examples]
            if warm and nodes:  # fill the node-feature cache once, not in the first training steps
                self._node_features()(torch.unique(torch.cat(nodes)))
        return examples

    # ------------------------------------------------------------------ training
    def _model_config(self, num_classes: dict[str, int]):
        from kgattn.models import KGAugmentedConfig

        fields = dict(tasks=num_classes, backbone=self.backbone, use_graph=self.use_graph, gnn=self.gnn,
                      fusion_layers=self.fusion_layers, fusion=self.fusion, link_prediction=self.link_prediction,
                      loss_weights=self.loss_weights or {}, loss_weighting=self.loss_weighting)
        if self.use_graph:
            fields.update(node_feature_dim=self._node_features().dim, num_relations=self.kg.num_relations,
                          max_hops=self.hops)
        for key in self.model_options:
            if key in fields:
                raise ConfigError(f"model option {key!r} is set from the classifier (its argument, the graph "
                                  "or the labels); do not pass it as a model option")
        # from_dict names an unknown key instead of failing with a TypeError
        return KGAugmentedConfig.from_dict({**fields, **self.model_options})

    def _optim(self):
        from kgattn.training.module import OptimConfig

        return OptimConfig(lr=self.lr, backbone_lr=self.backbone_lr, gate_lr=self.gate_lr, weight_decay=self.weight_decay,
                           warmup_ratio=self.warmup_ratio, schedule=self.schedule)

    def _trainer_options(self, log_every: int = 10):
        from kgattn.training.trainer import TrainerOptions

        return TrainerOptions(max_epochs=self.max_epochs, log_every_n_steps=log_every, grad_clip=self.grad_clip,
                              accumulate=self.accumulate, precision=self.precision, seed=self.seed,
                              patience=self.patience, devices=self.devices, strategy=self.strategy,
                              accelerator=self.accelerator, progress_bar=self.progress_bar)

    def fit(self, texts: Sequence[str], labels, val=None, mentions: Sequence[Sequence[Mention]] | None = None
            ) -> "KGClassifier":
        """Train on ``texts`` and ``labels`` (a list, or ``{task: list}`` for several tasks).

        ``val`` is ``(texts, labels)`` or ``(texts, labels, mentions)``: it picks the best epoch
        (by mean validation macro-F1) and drives early stopping. ``mentions`` are pre-linked
        mentions, one list per text (linking is skipped). Returns self.
        """
        import lightning as L  # noqa: F401  (fail early if the training stack is missing)

        from kgattn.models import KGAugmentedModel
        from kgattn.training.data import ExampleDataset, KGDataModule
        from kgattn.training.module import KGClassifierModule
        from kgattn.training.trainer import build_trainer, load_best_weights, seed_everything

        texts = check_texts(texts)
        if not texts:
            raise InputTextError("fit() got no texts")
        self._single_task_ = not isinstance(labels, Mapping)
        train_labels = normalize_labels(labels, len(texts))
        self.encoders_ = fit_encoders(train_labels)
        val_data = self._val_data(val) if val is not None else None
        self._graph_needed(self.use_graph)
        if str(self.strategy).startswith("ddp") and self.output_dir is None and val is not None:
            # each process would otherwise look for the best checkpoint in its own temporary folder
            raise ConfigError("multi-process training with validation needs output_dir= (a folder all processes share)")
        steps_per_epoch = -(-len(texts) // self.batch_size)
        # validate the options before any heavy work
        optim, trainer_options = self._optim(), self._trainer_options(max(1, min(10, steps_per_epoch)))

        examples = self._prepare(texts, mentions, self.use_graph, warm=True)
        train = ExampleDataset(examples, {t: e.encode(train_labels[t]) for t, e in self.encoders_.items()})
        val_set = None
        if val_data is not None:
            v_texts, v_labels, v_mentions = val_data
            val_set = ExampleDataset(self._prepare(v_texts, v_mentions, self.use_graph, warm=True), v_labels)

        num_classes = {t: e.num_classes for t, e in self.encoders_.items()}
        seed_everything(trainer_options)  # before the model, so its initialisation is seeded
        model = KGAugmentedModel(self._model_config(num_classes))
        module = KGClassifierModule(model, num_classes, optim, use_graph=self.use_graph)
        data = KGDataModule(self._collator(self.use_graph), self.batch_size, train=train, val=val_set, seed=self.seed)
        # from_pretrained leaves the backbone in eval mode, and Lightning keeps submodule modes.
        module.train()
        with tempfile.TemporaryDirectory(prefix="kgattn-fit-") as tmp:
            out = Path(self.output_dir) if self.output_dir is not None else Path(tmp)
            trainer, checkpoint = build_trainer(trainer_options, out, has_val=val_set is not None,
                                                extra_callbacks=list(self.callbacks or []))
            trainer.fit(module, datamodule=data)
            self.best_from_checkpoint_ = load_best_weights(module, checkpoint)
        self.module_ = module.cpu().eval()
        self.model_ = module.model
        self.kg_fingerprint_ = self.kg.fingerprint if self.use_graph else None
        return self

    def _val_data(self, val):
        if not isinstance(val, (tuple, list)) or len(val) not in (2, 3):
            raise ConfigError("val must be (texts, labels) or (texts, labels, mentions)")
        v_texts = check_texts(val[0])
        if not v_texts:
            raise InputTextError("val has no texts")
        v_labels = self._encode_known(val[1], len(v_texts), require_all=True)
        return v_texts, v_labels, (val[2] if len(val) == 3 else None)

    def _encode_known(self, labels, n: int, require_all: bool = False) -> dict[str, np.ndarray]:
        """Encode labels with the fitted classes; unknown tasks and unseen labels raise LabelError."""
        if self._single_task_ or isinstance(labels, Mapping):
            labels = normalize_labels(labels, n)
        else:
            raise LabelError(f"this classifier has tasks {list(self.encoders_)}: give labels as a dict {{task: list}}")
        unknown = [t for t in labels if t not in self.encoders_]
        if unknown:
            raise LabelError(f"unknown task {unknown[0]!r}; this classifier has tasks {list(self.encoders_)}")
        if require_all:
            missing = [t for t in self.encoders_ if t not in labels]
            if missing:
                raise LabelError(f"labels for task {missing[0]!r} are missing")
        return {t: self.encoders_[t].encode(v) for t, v in labels.items()}

    # ------------------------------------------------------------------ inference
    def _inference_use_graph(self, use_graph: bool | None) -> bool:
        if use_graph is None:
            use_graph = self.use_graph
        if use_graph and not self.use_graph:
            raise ConfigError("this classifier was trained without a graph (use_graph=False); it cannot use one")
        self._graph_needed(use_graph)
        if use_graph and self.kg_fingerprint_ is not None and self.kg.fingerprint != self.kg_fingerprint_:
            raise FingerprintMismatchError(f"the knowledge graph (fingerprint {self.kg.fingerprint}) is not the one this "
                                           f"classifier was trained with ({self.kg_fingerprint_})")
        return use_graph

    def _device(self) -> torch.device:
        from kgattn.device import pick_device

        return pick_device(None if self.accelerator in ("auto", "gpu") else self.accelerator)

    def predict_batches(self, texts: Iterable[str], mentions: Iterable[Sequence[Mention]] | None = None, *,
                        use_graph: bool | None = None, top_k: int = 5, chunk_size: int | None = None
                        ) -> Iterator[PredictionBatch]:
        """Stream predictions, one :class:`~kgattn.explain.PredictionBatch` per ``batch_size`` texts.

        ``texts`` may be any iterable (a generator over a shard): it is read ``chunk_size``
        texts at a time (default ``16 * batch_size``), and each chunk is linked, tokenized and
        cut into subgraphs once, then run through the model in batches. Batches come in input
        order; ``PredictionBatch.index`` holds positions in the whole input. ``mentions`` (one
        list per text, in the same order) skips linking. ``use_graph=False`` removes the graph.
        With ``shuffle_graph`` the subgraphs are permuted within each chunk. Empty texts raise
        :class:`~kgattn.errors.InputTextError`; an empty input yields nothing.
        """
        from kgattn.device import autocast

        self._check_fitted()
        use_graph = self._inference_use_graph(use_graph)
        chunk_size = chunk_size or 16 * self.batch_size
        device = self._device()
        module = self.module_.to(device).eval()
        collate = self._collator(use_graph)
        text_iter = iter(texts)
        mention_iter = iter(mentions) if mentions is not None else None
        offset = 0
        while True:
            chunk = list(itertools.islice(text_iter, chunk_size))
            if not chunk:
                break
            chunk_mentions = None
            if mention_iter is not None:
                chunk_mentions = list(itertools.islice(mention_iter, len(chunk)))
                if len(chunk_mentions) != len(chunk):
                    raise ConfigError(f"fewer mention lists than texts (texts from index {offset} have none)")
            try:
                examples = self._prepare(chunk, chunk_mentions, use_graph)
            except InputTextError as exc:  # re-point the index into the whole input
                raise InputTextError(_shift_index(str(exc), offset)) from None
            for start in range(0, len(examples), self.batch_size):
                part = examples[start:start + self.batch_size]
                batch = collate([(offset + start + i, ex, None) for i, ex in enumerate(part)]).to(device)
                with torch.inference_mode(), autocast(device, self.precision):
                    raw = module.predict_step(batch, 0)
                yield self._prediction_batch(raw, part, top_k)
            offset += len(chunk)

    def predict_distributed(self, texts: Sequence[str], directory: str | Path, mentions=None,
                            use_graph: bool | None = None):
        """Predict through Lightning's predict loop on this classifier's ``devices``/``strategy``.

        Under DDP every process predicts a disjoint share of the inputs (Lightning's unrepeated
        distributed sampler: nothing padded or duplicated), writes it to
        ``directory/predictions-rank<r>.safetensors`` (``index`` [n_r], ``probs/<task>`` [n_r, C]),
        and after a barrier each process reads all shares back. Returns the probabilities in
        input order like :meth:`predict_proba`; raises ValueError if any input is missing or
        predicted twice. Call it from every process of a DDP job (e.g. after a DDP ``fit``).
        """
        import lightning as L

        from kgattn.training.data import ExampleDataset, KGDataModule
        from kgattn.training.trainer import PredictionFileWriter, merge_prediction_files

        self._check_fitted()
        use_graph = self._inference_use_graph(use_graph)
        texts = check_texts(texts)
        examples = self._prepare(texts, mentions, use_graph)
        directory = Path(directory)
        data = KGDataModule(self._collator(use_graph), self.batch_size, predict=ExampleDataset(examples))
        options = self._trainer_options()
        trainer = L.Trainer(accelerator=self.accelerator, devices=self.devices, strategy=options.lightning_strategy(),
                            precision=options.lightning_precision(), logger=False,
                            callbacks=[PredictionFileWriter(directory)], enable_progress_bar=self.progress_bar,
                            enable_model_summary=False, default_root_dir=directory)
        trainer.predict(self.module_.eval(), datamodule=data, return_predictions=False)
        trainer.strategy.barrier()
        merged = merge_prediction_files(directory, len(examples))
        self.module_.cpu()
        return self._single({t: merged[f"probs/{t}"].numpy() for t in self.encoders_})

    def _prediction_batch(self, raw: dict[str, torch.Tensor], examples: Sequence[Example], top_k: int) -> PredictionBatch:
        probs = {t: raw[f"probs/{t}"].float().cpu().numpy() for t in self.encoders_}
        labels = {t: self.encoders_[t].decode(p.argmax(1)) for t, p in probs.items()}
        top_nodes: list[tuple[AttendedNode, ...]] = [() for _ in examples]
        if "attention" in raw and top_k > 0:
            weights = raw["attention"].float().mean(1)[:, 1:].cpu()  # mean over layers, null node dropped
            node_ids = raw["node_ids"].cpu()
            # one top-k over the batch; padding can never be chosen before a real node
            k = min(top_k, node_ids.shape[1])
            values, pos = torch.topk(weights.masked_fill(node_ids < 0, -1.0), k, dim=1)
            chosen = node_ids.gather(1, pos)
            top_nodes = [tuple(AttendedNode(int(n), self.kg.label(int(n)), float(w))
                               for n, w in zip(chosen[r].tolist(), values[r].tolist()) if n >= 0)
                         for r in range(len(examples))]
        return PredictionBatch(index=raw["index"].cpu().numpy(), probabilities=probs, labels=labels,
                               top_nodes=top_nodes, mentions=[ex.mentions for ex in examples])

    def _top_nodes(self, node_ids: torch.Tensor, weights: torch.Tensor, top_k: int) -> tuple[AttendedNode, ...]:
        real = node_ids >= 0
        ids, w = node_ids[real], weights[real]
        order = torch.argsort(w, descending=True, stable=True)[:top_k]
        return tuple(AttendedNode(int(ids[i]), self.kg.label(int(ids[i])), float(w[i])) for i in order)

    def _proba(self, texts, mentions, use_graph) -> dict[str, np.ndarray]:
        texts = check_texts(texts)
        parts = list(self.predict_batches(texts, mentions, use_graph=use_graph, top_k=0))
        return {t: (np.concatenate([p.probabilities[t] for p in parts]) if parts
                    else np.empty((0, e.num_classes), dtype=np.float32))
                for t, e in self.encoders_.items()}

    def _single(self, result: dict):
        return result[DEFAULT_TASK] if self._single_task_ else result

    def predict_proba(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None):
        """Class probabilities ``[n, C]`` (columns in ``classes_`` order); a dict per task when fitted on one."""
        return self._single(self._proba(texts, mentions, use_graph))

    def predict(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None):
        """Predicted labels (a list; a ``{task: list}`` dict when fitted on a dict of tasks)."""
        self._check_fitted()
        proba = self._proba(texts, mentions, use_graph)
        return self._single({t: self.encoders_[t].decode(p.argmax(1)) if len(p) else [] for t, p in proba.items()})

    def evaluate(self, texts: Sequence[str], labels, use_graph: bool | None = None, mentions=None) -> dict:
        """``{task: {"accuracy", "macro_f1", "weighted_f1", "n", "per_class"}}`` on labelled texts.

        The metrics are :func:`kgattn.evaluation.metrics.classification_metrics` (macro-F1 over
        the classes present in ``labels``), the same numbers the pipeline's reports give.
        ``use_graph=False`` evaluates the same model with its graph input removed. A label not
        seen in training raises :class:`~kgattn.errors.LabelError` naming it and its index.
        """
        from kgattn.evaluation.metrics import classification_metrics

        self._check_fitted()
        texts = check_texts(texts)
        if not texts:
            raise InputTextError("evaluate() got no texts")
        gold = self._encode_known(labels, len(texts))
        proba = self._proba(texts, mentions, use_graph)
        out = {}
        for task, y in gold.items():
            enc = self.encoders_[task]
            m = classification_metrics(enc.decode(y), enc.decode(proba[task].argmax(1)), labels=enc.classes)
            # Support-weighted mean of per-class F1: scikit-learn's average="weighted".
            weighted = sum(c["f1"] * c["support"] for c in m["per_class"].values()) / m["n"]
            out[task] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "weighted_f1": weighted,
                         "n": m["n"], "per_class": m["per_class"]}
        return out

    def explain(self, text: str, mentions: Sequence[Mention] | None = None, top_k: int = 5) -> Explanation:
        """Linked mentions, the ``top_k`` most attended nodes per fusion layer, and the gate values."""
        from kgattn.device import autocast
        from kgattn.training.module import attention_summary

        self._check_fitted()
        use_graph = self._inference_use_graph(None)
        device = self._device()
        examples = self._prepare([text], [mentions] if mentions is not None else None, use_graph)
        batch = self._collator(use_graph)([(0, examples[0], None)]).to(device)
        module = self.module_.to(device).eval()
        with torch.inference_mode(), autocast(device, self.precision):
            out = module(batch)
        probs = {t: torch.softmax(out.logits[t].float(), -1)[0].cpu().numpy() for t in self.encoders_}
        prediction = {t: self.encoders_[t].classes[int(p.argmax())] for t, p in probs.items()}
        probabilities = {t: {str(c): float(p[i]) for i, c in enumerate(self.encoders_[t].classes)}
                         for t, p in probs.items()}
        mentions_out = tuple(LinkedMention(m.start, m.end, m.text, m.node,
                                           self.kg.label(m.node) if m.node is not None else None)
                             for m in examples[0].mentions)
        layers: list[LayerAttention] = []
        if use_graph and out.attentions:
            summary = attention_summary(out.attentions, batch.attention_mask)[0].cpu()  # [L, 1+N]
            gates = dict(out.gates or {})  # {layer: tanh(g)}
            layer_ids = list(out.fusion_layers) or list(gates)
            node_ids = batch.graph.node_ids[0].cpu()
            for l, layer in enumerate(layer_ids):
                g = gates.get(layer)
                layers.append(LayerAttention(
                    layer=int(layer), gate=None if g is None else float(g.float().mean()),
                    null_weight=float(summary[l, 0]), top_nodes=self._top_nodes(node_ids, summary[l, 1:], top_k)))
        return Explanation(text=text, prediction=prediction, probabilities=probabilities,
                           mentions=mentions_out, layers=tuple(layers))

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``classifier.json``, ``model/`` (config JSON + safetensors), ``tokenizer/`` and,
        when the classifier has a linker, ``linker/`` (so a loaded classifier links texts as the
        trained one did).

        No pickle: the Lightning checkpoint used during training is not part of it.
        """
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        params = self.get_params()
        for key, value in params.items():
            try:
                json.dumps(value)
            except TypeError as exc:
                raise ConfigError(f"parameter {key!r} = {value!r} cannot be saved as JSON") from exc
        self.model_.save_pretrained(directory / MODEL_DIR)
        self._tokenizer().save_pretrained(directory / TOKENIZER_DIR)
        if self.linker is not None:
            self.linker.save(directory / LINKER_DIR)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "params": params,
                "classes": self.classes_, "single_task": self._single_task_,
                "kg_fingerprint": self.kg_fingerprint_, "max_length": self._max_length_}
        (directory / CLASSIFIER_JSON).write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, kg=None, linker=None) -> "KGClassifier":
        """Load a classifier written by :meth:`save`.

        ``kg`` must be the graph it was trained with (same fingerprint, else
        :class:`~kgattn.errors.FingerprintMismatchError`); without it only ``use_graph=False``
        inference works. The tokenizer and the model load from ``directory`` alone; node
        features not yet in the on-disk cache are encoded with the original ``backbone``, which
        must then still be loadable. The saved linker is restored unless ``linker`` is given;
        a classifier saved without one (every call passed mentions) builds ``EntityLinker(kg)``
        when it first needs to link.
        """
        from kgattn.models import KGAugmentedModel
        from kgattn.training.module import KGClassifierModule

        directory = Path(directory)
        path = directory / CLASSIFIER_JSON
        try:
            meta = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: not found; is {directory} a saved KGClassifier?") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"{path}: not a {FORMAT} version {FORMAT_VERSION} file")
        saved_fp = meta.get("kg_fingerprint")
        if kg is not None and saved_fp is not None and kg.fingerprint != saved_fp:
            raise FingerprintMismatchError(f"{path}: the classifier was trained on a knowledge graph with fingerprint "
                                           f"{saved_fp}, the graph given has {kg.fingerprint}")
        if linker is None and kg is not None and (directory / LINKER_DIR).is_dir():
            from kgattn.linking import EntityLinker

            linker = EntityLinker.load(directory / LINKER_DIR, kg)
        clf = cls(kg=kg, linker=linker, **meta["params"])
        clf._tokenizer_dir_ = str(directory / TOKENIZER_DIR)
        clf._tokenizer()
        clf._max_length_ = int(meta["max_length"])
        clf.encoders_ = {t: LabelEncoder(t, tuple(c)) for t, c in meta["classes"].items()}
        clf._single_task_ = bool(meta["single_task"])
        clf.kg_fingerprint_ = saved_fp
        model = KGAugmentedModel.from_pretrained(directory / MODEL_DIR)
        num_classes = {t: e.num_classes for t, e in clf.encoders_.items()}
        clf.module_ = KGClassifierModule(model, num_classes, clf._optim(), use_graph=clf.use_graph).eval()
        clf.model_ = model
        return clf


def _shift_index(message: str, offset: int) -> str:
    """``index i: ...`` -> ``index i+offset: ...`` for errors raised inside a chunk."""
    import re

    return re.sub(r"^index (\d+)", lambda m: f"index {int(m.group(1)) + offset}", message)


class _LazyLinkFeaturizer(Featurizer):
    """A Featurizer whose linker is built on first use (callers often pass mentions)."""

    def __init__(self, tokenizer, kg, linker_factory, hops, max_nodes, max_length):
        super().__init__(tokenizer, kg, None, hops, max_nodes, max_length)
        self._linker_factory = linker_factory

    def link(self, texts):
        if self.linker is None:
            self.linker = self._linker_factory()
        return super().link(texts)
