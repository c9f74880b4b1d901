"""``KGClassifier``: a scikit-learn estimator whose backbone attends over a knowledge graph.

Example::

    from kgattn import KGClassifier, KnowledgeGraph

    kg = KnowledgeGraph.from_rdf("data/quickstart/kg.ttl")
    clf = KGClassifier(kg=kg, max_epochs=3).fit(train_texts, train_labels, val=(val_texts, val_labels))
    clf.predict(["Kelbrook Group shares fell 4%."])
    clf.evaluate(test_texts, test_labels)                   # {"label": {"accuracy": ..., "macro_f1": ...}}
    clf.evaluate(test_texts, test_labels, use_graph=False)  # the same model with the graph removed
    clf.save("out/model"); KGClassifier.load("out/model", kg=kg)

The classifier is a thin facade: a :class:`~kgattn.preprocessing.Preprocessor` (tokenizer, linker,
subgraphs, node features), a :class:`~kgattn.models.KGAugmentedModel` trained by Lightning, and a
:class:`~kgattn.inference.Predictor`. Its parameters are the fields of the schemas listed in
:mod:`kgattn.schemas`, with their defaults: nothing is declared here twice.
"""
from __future__ import annotations

import copy
import inspect
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from kgattn.errors import ConfigError, FingerprintMismatchError, InputTextError, LabelError
from kgattn.explain import Explanation, PredictionBatch
from kgattn.linking.types import Mention
from kgattn.persistence import read_manifest, reading, write_manifest
from kgattn.schemas import DEFAULTS, OWNER, build, check_names
from kgattn.training.collate import check_texts
from kgattn.training.labels import DEFAULT_TASK, LabelEncoder, fit_encoders, normalize_labels

#: The saved classifier: ``classifier.json`` (manifest), ``model/``, ``preprocessor/``.
CLASSIFIER_JSON, MODEL_DIR, PREPROCESSOR_DIR = "classifier.json", "model", "preprocessor"
KIND, VERSION = "kgattn.KGClassifier", 2
#: Parameters that are not options of a schema: runtime objects, kept by reference and not saved.
RUNTIME_PARAMS = ("kg", "linker", "callbacks")
#: Where fine-tuning starts: a directory written by ``kgattn pretrain`` (None: the backbone's own
#: weights and fresh graph layers). Not a model option: once trained, the weights carry it.
EXTRA_PARAMS = ("init_from",)
#: Features whose change on a fitted classifier reaches later predictions at once.
_LIVE_FEATURES = ("max_nodes", "hops", "max_length", "node_template")


def _signature() -> inspect.Signature:
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD), P("kg", P.POSITIONAL_OR_KEYWORD, default=None),
              P("linker", P.POSITIONAL_OR_KEYWORD, default=None)]
    params += [P(name, P.KEYWORD_ONLY, default=default) for name, default in DEFAULTS.items()]
    params += [P("init_from", P.KEYWORD_ONLY, default=None), P("callbacks", P.KEYWORD_ONLY, default=None)]
    return inspect.Signature(params)


class KGClassifier(ClassifierMixin, BaseEstimator):
    """Text classifier whose backbone attends over linked knowledge-graph subgraphs.

    Parameters (scikit-learn style: read from the signature, no work in ``__init__``):

    - ``kg``: the :class:`~kgattn.graph.KnowledgeGraph`, needed when ``use_graph``; ``linker``: an
      :class:`~kgattn.linking.EntityLinker` (None builds ``EntityLinker(kg)`` when a text must be
      linked). Both are kept by reference, also by :func:`sklearn.base.clone`.
    - every user field of :class:`~kgattn.models.KGAugmentedConfig` (architecture: ``backbone``,
      ``use_graph``, ``gnn``, ``fusion``, ``fusion_layers``, ``gnn_dim``, ``link_prediction``,
      ``loss_weights``, ...), :class:`~kgattn.preprocessing.FeatureConfig` (``max_length``,
      ``max_nodes``, ``hops``, ``node_template``, ``shuffle_graph``),
      :class:`~kgattn.training.config.OptimConfig` (``lr``, ``backbone_lr``, ``gate_lr``, ...) and
      :class:`~kgattn.training.config.TrainerConfig` (``max_epochs``, ``batch_size``, ``precision``,
      ``devices``, ``patience``, ``output_dir``, ...), with their defaults;
    - ``init_from``: a directory written by ``kgattn pretrain``: fine-tuning starts from its
      backbone, GNN, fusion blocks and gates (:func:`kgattn.pretraining.init_model_from`; a graph
      of another fingerprint or another architecture is refused before any linking);
    - ``callbacks``: extra Lightning callbacks for ``fit`` (not saved).

    Unknown names are refused at construction, other mistakes at the start of :meth:`fit`, before
    any linking. Paths may be ``str`` or ``os.PathLike``.

    Fitted attributes: ``classes_`` (``{task: [labels]}``), ``preprocessor_``, ``model_``,
    ``module_``, ``kg_fingerprint_``.

    Bad input: labels whose count or type does not match the texts, and labels not seen in
    training, raise :class:`~kgattn.errors.LabelError` naming the task and index; empty or
    non-string texts raise :class:`~kgattn.errors.InputTextError` naming the index; texts
    longer than ``max_length`` tokens are truncated with a single warning; a backbone that
    cannot be loaded raises :class:`~kgattn.errors.BackboneError`.
    """

    def __init__(self, kg=None, linker=None, **params):
        check_names(params, extra=("callbacks", *EXTRA_PARAMS))
        self.kg = kg
        self.linker = linker
        for name, default in DEFAULTS.items():
            setattr(self, name, params.get(name, copy.deepcopy(default)))
        self.init_from = params.get("init_from")
        self.callbacks = params.get("callbacks")

    __init__.__signature__ = _signature()

    # ------------------------------------------------------------------ parameters
    def set_params(self, **params) -> "KGClassifier":
        """Change parameters (``linker__<name>`` reaches the linker). On a fitted classifier,
        ``max_nodes``, ``hops``, ``max_length``, ``node_template``, ``kg`` and ``linker`` affect
        later predictions; architecture and training options take effect at the next ``fit``."""
        check_names([k for k in params if "__" not in k], extra=(*RUNTIME_PARAMS, *EXTRA_PARAMS))
        super().set_params(**params)
        if hasattr(self, "preprocessor_") and ({"kg", "linker", *_LIVE_FEATURES} & set(params)):
            self.preprocessor_ = self.preprocessor_.with_changes(
                kg=self.kg, linker=self.linker, **{k: params[k] for k in _LIVE_FEATURES if k in params})
        return self

    def __sklearn_clone__(self) -> "KGClassifier":
        """An unfitted copy with the same parameters; the graph, linker and callbacks by reference."""
        params = self.get_params(deep=False)
        shared = {name: params.pop(name) for name in RUNTIME_PARAMS}
        return type(self)(**shared, **copy.deepcopy(params))

    def options(self) -> dict:
        """The schema options (every parameter but ``kg``, ``linker``, ``callbacks``), JSON-ready."""
        out = {name: getattr(self, name) for name in OWNER}
        for name in ("backbone", "output_dir"):
            if isinstance(out[name], os.PathLike):
                out[name] = os.fspath(out[name])
        return out

    def _configs(self):
        """Validate every option and return ``(features, optim, trainer)`` (before any heavy work)."""
        from kgattn.backbone import resolve_backbone

        options = self.options()
        build("model", options)
        configs = build("features", options), build("optim", options), build("trainer", options)
        resolve_backbone(options["backbone"])
        if self.init_from is not None:
            from kgattn.pretraining.manifest import check_fingerprint, pretrained_manifest

            manifest = pretrained_manifest(self.init_from)   # SavedFileError naming the file
            if self.use_graph and self.kg is not None and manifest.get("kg_fingerprint") is not None:
                # the graph pretrained over, or a pseudonymised copy of it (the same check as init_model_from)
                check_fingerprint(manifest, self.init_from, self.kg)
        return configs

    @property
    def classes_(self) -> dict[str, list]:
        self._check_fitted()
        return {task: list(enc.classes) for task, enc in self.encoders_.items()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise ConfigError("this KGClassifier is not fitted yet: call fit() or KGClassifier.load()")

    def _graph_needed(self, use_graph: bool) -> None:
        if use_graph and self.kg is None:
            raise ConfigError("use_graph=True needs the knowledge graph: pass kg= (to the constructor or to "
                              "KGClassifier.load), or use_graph=False")

    def _device_name(self) -> str | None:
        return None if self.accelerator in ("auto", "gpu") else self.accelerator

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], labels, val=None, mentions: Sequence[Sequence[Mention]] | None = None
            ) -> "KGClassifier":
        """Train on ``texts`` and ``labels`` (a list, or ``{task: list}`` for several tasks).

        ``val`` is ``(texts, labels)`` or ``(texts, labels, mentions)``: it picks the best epoch
        (by mean validation macro-F1) and drives early stopping. ``mentions`` are pre-linked
        mentions, one list per text (linking is skipped). Returns self.
        """
        from kgattn.models import KGAugmentedConfig, KGAugmentedModel
        from kgattn.preprocessing.processor import Preprocessor
        from kgattn.training.data import ExampleDataset, KGDataModule
        from kgattn.training.module import KGClassifierModule
        from kgattn.training.trainer import build_trainer, fit, load_best_weights, seed_everything

        features, optim, trainer_config = self._configs()
        self._graph_needed(self.use_graph)
        texts = check_texts(texts)
        if not texts:
            raise InputTextError("fit() got no texts")
        single_task = not isinstance(labels, Mapping)
        train_labels = normalize_labels(labels, len(texts))
        encoders = fit_encoders(train_labels)
        if str(self.strategy).startswith("ddp") and self.output_dir is None and val is not None:
            # each process would otherwise look for the best checkpoint in its own temporary folder
            raise ConfigError("multi-process training with validation needs output_dir= (a folder all processes share)")
        if val is None and trainer_config.early_stopping(has_val=False) is not None:
            raise ConfigError("patience (early stopping) needs validation data: pass val=(texts, labels)")
        val_data = _val_data(val, encoders, single_task) if val is not None else None
        steps_per_epoch = -(-len(texts) // trainer_config.batch_size)

        self.encoders_, self._single_task_ = encoders, single_task
        pre = Preprocessor.from_backbone(self.options()["backbone"], features, kg=self.kg, linker=self.linker,
                                         device=self._device_name(), seed=trainer_config.seed)
        examples = pre.prepare(texts, mentions, self.use_graph, warm=True)
        train = ExampleDataset(examples, {t: e.encode(train_labels[t]) for t, e in encoders.items()})
        val_set = None
        if val_data is not None:
            v_texts, v_labels, v_mentions = val_data
            val_set = ExampleDataset(pre.prepare(v_texts, v_mentions, self.use_graph, warm=True), v_labels)

        num_classes = {t: e.num_classes for t, e in encoders.items()}
        derived = dict(tasks=num_classes, max_hops=features.hops)
        if self.use_graph:
            derived.update(node_feature_dim=pre.node_features.dim, num_relations=self.kg.num_relations)
        model_options = {k: v for k, v in self.options().items() if OWNER[k] == "model"}
        seed_everything(trainer_config)  # before the model, so its initialisation is seeded
        model = KGAugmentedModel(KGAugmentedConfig(**model_options, **derived))
        if self.init_from is not None:
            from kgattn.pretraining import init_model_from

            self.init_report_ = init_model_from(model, self.init_from, kg=self.kg if self.use_graph else None)
        module = KGClassifierModule(model, num_classes, optim, use_graph=self.use_graph)
        data = KGDataModule(pre.collator(self.use_graph), trainer_config.batch_size, train=train, val=val_set,
                            seed=trainer_config.seed)
        # from_pretrained leaves the backbone in eval mode, and Lightning keeps submodule modes.
        module.train()
        with tempfile.TemporaryDirectory(prefix="kgattn-fit-") as tmp:
            out = Path(trainer_config.output_dir) if trainer_config.output_dir is not None else Path(tmp)
            log_every = max(1, min(trainer_config.log_every_n_steps, steps_per_epoch))
            trainer, checkpoint = build_trainer(trainer_config, out, has_val=val_set is not None,
                                                extra_callbacks=list(self.callbacks or []), log_every=log_every)
            fit(trainer, module, datamodule=data)
            self.best_from_checkpoint_ = load_best_weights(module, checkpoint)
        self.preprocessor_, self.linker = pre, pre.linker if self.linker is None else self.linker
        self.module_ = module.cpu().eval()
        self.model_ = module.model
        self.kg_fingerprint_ = self.kg.fingerprint if self.use_graph else None
        return self

    # ------------------------------------------------------------------ inference
    def _predictor(self, use_graph: bool | None):
        from kgattn.inference import Predictor

        self._check_fitted()
        if use_graph is None:
            use_graph = self.use_graph
        if use_graph and not self.use_graph:
            raise ConfigError("this classifier was trained without a graph (use_graph=False); it cannot use one")
        self._graph_needed(use_graph)
        if use_graph and self.kg_fingerprint_ is not None and self.kg.fingerprint != self.kg_fingerprint_:
            raise FingerprintMismatchError(f"the knowledge graph (fingerprint {self.kg.fingerprint}) is not the one this "
                                           f"classifier was trained with ({self.kg_fingerprint_})")
        if self.preprocessor_.kg is not self.kg or (self.linker is not None and self.preprocessor_.linker is not self.linker):
            self.preprocessor_ = self.preprocessor_.with_changes(kg=self.kg, linker=self.linker)
        predictor = Predictor(self.preprocessor_, self.module_, self.encoders_, build("trainer", self.options()).batch_size,
                              self.precision, self.accelerator)
        return predictor, use_graph

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
        predictor, use_graph = self._predictor(use_graph)
        yield from predictor.batches(texts, mentions, use_graph, top_k=top_k, chunk_size=chunk_size)

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
        predictor, use_graph = self._predictor(use_graph)
        return self._single(predictor.distributed(texts, directory, mentions, use_graph,
                                                  build("trainer", self.options()), self.progress_bar))

    def _single(self, result: dict):
        return result[DEFAULT_TASK] if self._single_task_ else result

    def predict_proba(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None):
        """Class probabilities ``[n, C]`` (columns in ``classes_`` order); a dict per task when fitted on one."""
        predictor, use_graph = self._predictor(use_graph)
        return self._single(predictor.probabilities(texts, mentions, use_graph))

    def predict(self, texts: Sequence[str], mentions=None, use_graph: bool | None = None):
        """Predicted labels (a list; a ``{task: list}`` dict when fitted on a dict of tasks)."""
        predictor, use_graph = self._predictor(use_graph)
        proba = predictor.probabilities(texts, mentions, use_graph)
        return self._single({t: self.encoders_[t].decode(p.argmax(1)) if len(p) else [] for t, p in proba.items()})

    def evaluate(self, texts: Sequence[str], labels, use_graph: bool | None = None, mentions=None) -> dict:
        """``{task: {"accuracy", "macro_f1", "weighted_f1", "n", "per_class"}}`` on labelled texts.

        The metrics are :func:`kgattn.evaluation.metrics.classification_metrics` (macro-F1 over
        the classes present in ``labels``), the same numbers the pipeline's reports give.
        ``use_graph=False`` evaluates the same model with its graph input removed. A label not
        seen in training raises :class:`~kgattn.errors.LabelError` naming it and its index.
        """
        from kgattn.evaluation.metrics import classification_metrics

        predictor, use_graph = self._predictor(use_graph)
        texts = check_texts(texts)
        if not texts:
            raise InputTextError("evaluate() got no texts")
        gold = _encode_known(labels, len(texts), self.encoders_, self._single_task_)
        proba = predictor.probabilities(texts, mentions, use_graph)
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
        predictor, use_graph = self._predictor(None)
        return predictor.explain(text, mentions, use_graph, top_k)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``classifier.json`` (parameters, classes, graph fingerprint), ``model/`` (config
        JSON + safetensors) and ``preprocessor/`` (tokenizer, feature settings and, when the
        classifier has one, the linker). No pickle."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(directory / MODEL_DIR)
        self.preprocessor_.save_pretrained(directory / PREPROCESSOR_DIR)
        write_manifest(directory / CLASSIFIER_JSON, KIND, VERSION, params=self.options(), classes=self.classes_,
                       single_task=self._single_task_, kg_fingerprint=self.kg_fingerprint_)
        return directory

    @classmethod
    def load(cls, directory: str | Path, kg=None, linker=None) -> "KGClassifier":
        """Load a classifier written by :meth:`save`.

        ``kg`` must be the graph it was trained with (same fingerprint, else
        :class:`~kgattn.errors.FingerprintMismatchError`); without it only ``use_graph=False``
        inference works. The tokenizer and the model load from ``directory`` alone; node
        features not yet in the on-disk cache are encoded with the original ``backbone``, which
        must then still be loadable. The saved linker is restored unless ``linker`` is given.
        A missing or damaged file raises :class:`~kgattn.errors.SavedFileError` naming it.
        """
        from kgattn.models import KGAugmentedModel
        from kgattn.preprocessing.processor import Preprocessor
        from kgattn.training.module import KGClassifierModule

        directory = Path(directory)
        path = directory / CLASSIFIER_JSON
        meta = read_manifest(path, KIND, VERSION)
        saved_fp = meta.get("kg_fingerprint")
        if kg is not None and saved_fp is not None and kg.fingerprint != saved_fp:
            raise FingerprintMismatchError(f"{path}: the classifier was trained on a knowledge graph with fingerprint "
                                           f"{saved_fp}, the graph given has {kg.fingerprint}")
        try:
            clf = cls(kg=kg, linker=linker, **meta["params"])
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        clf.preprocessor_ = Preprocessor.from_pretrained(directory / PREPROCESSOR_DIR, kg=kg, linker=linker,
                                                         device=clf._device_name())
        clf.linker = clf.preprocessor_.linker
        clf.encoders_ = {t: LabelEncoder(t, tuple(c)) for t, c in meta["classes"].items()}
        clf._single_task_ = bool(meta["single_task"])
        clf.kg_fingerprint_ = saved_fp
        with reading(directory / MODEL_DIR, "saved model"):
            model = KGAugmentedModel.from_pretrained(directory / MODEL_DIR)
        num_classes = {t: e.num_classes for t, e in clf.encoders_.items()}
        clf.module_ = KGClassifierModule(model, num_classes, build("optim", clf.options()),
                                         use_graph=clf.use_graph).eval()
        clf.model_ = model
        return clf


def _val_data(val, encoders, single_task: bool):
    if not isinstance(val, (tuple, list)) or len(val) not in (2, 3):
        raise ConfigError("val must be (texts, labels) or (texts, labels, mentions)")
    v_texts = check_texts(val[0])
    if not v_texts:
        raise InputTextError("val has no texts")
    v_labels = _encode_known(val[1], len(v_texts), encoders, single_task, require_all=True)
    return v_texts, v_labels, (val[2] if len(val) == 3 else None)


def _encode_known(labels, n: int, encoders, single_task: bool, require_all: bool = False) -> dict[str, np.ndarray]:
    """Encode labels with the fitted classes; unknown tasks and unseen labels raise LabelError."""
    if single_task or isinstance(labels, Mapping):
        labels = normalize_labels(labels, n)
    else:
        raise LabelError(f"this classifier has tasks {list(encoders)}: give labels as a dict {{task: list}}")
    unknown = [t for t in labels if t not in encoders]
    if unknown:
        raise LabelError(f"unknown task {unknown[0]!r}; this classifier has tasks {list(encoders)}")
    if require_all:
        missing = [t for t in encoders if t not in labels]
        if missing:
            raise LabelError(f"labels for task {missing[0]!r} are missing")
    return {t: encoders[t].encode(v) for t, v in labels.items()}
