"""The optimisation and trainer schemas: every training knob is declared here, once.

:class:`OptimConfig` (learning rates, schedule, weight decay, warm-up) and :class:`TrainerConfig`
(epochs, batch size, precision, devices, strategy, patience, ...) are plain frozen dataclasses with
no heavy imports, so the pipeline spec, the CLI and :class:`~kgattn.KGClassifier` can all derive
their keys and defaults from them (see :mod:`kgattn.schemas`) without loading torch.
"""
from __future__ import annotations

from dataclasses import dataclass

from kgattn.errors import ConfigError

SCHEDULES = ("linear", "cosine", "constant")
#: Early-stopping patience (epochs) of ``TrainerConfig(patience="auto")`` with validation data.
AUTO_PATIENCE = 3


def _positive_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}", key=name)


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule settings.

    AdamW with two learning rates: ``backbone_lr`` for the pretrained backbone and ``lr`` for
    the new layers (GNN, fusion, heads). ``backbone_lr=0`` freezes the backbone. ``gate_lr``
    (None = ``lr``) gives the zero-initialised fusion gates their own rate: with warm-up and
    decay, AdamW moves a gate by at most about ``lr`` per step, which caps how far the graph
    path can open in a short schedule. Biases and normalisation weights get no weight decay.
    The rate rises linearly from 0 over the first ``warmup_ratio`` of the optimiser steps, then
    decays to 0 (``"linear"`` or ``"cosine"``) or stays (``"constant"``).
    """

    lr: float = 1e-3
    backbone_lr: float = 1e-4
    gate_lr: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    schedule: str = "linear"

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule {self.schedule!r} is not one of {list(SCHEDULES)}", key="schedule")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}", key="warmup_ratio")
        for key, bad in (("lr", self.lr <= 0), ("backbone_lr", self.backbone_lr < 0),
                         ("gate_lr", self.gate_lr is not None and self.gate_lr <= 0)):
            if bad:
                raise ConfigError(f"learning rates must be positive (lr={self.lr}, backbone_lr={self.backbone_lr}, "
                                  f"gate_lr={self.gate_lr})", key=key)
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}", key="weight_decay")


@dataclass(frozen=True)
class TrainerConfig:
    """What the Lightning ``Trainer`` and the data loaders are built from.

    ``precision="auto"`` uses bf16 autocast on CUDA devices that support it and fp32 elsewhere
    (:func:`kgattn.device.lightning_precision`); ``"bf16"`` asks for bf16 wherever supported,
    ``"32"`` never autocasts; a Lightning precision string (``"16-mixed"``) passes through.
    ``patience``: epochs without a better ``val/macro_f1`` before training stops; ``"auto"`` (the
    default) stops after :data:`AUTO_PATIENCE` such epochs when validation data is given and runs
    all ``max_epochs`` otherwise; None never stops early; an integer needs validation data. With
    validation data the best epoch's weights are kept.

    Defaults (10 epochs, ``backbone_lr`` 1e-4, early stopping when validation data is given) come
    from measured runs (benchmarks/RESULTS.md, "Defaults that train to convergence"): with the
    earlier 3 epochs at 3e-5 a fine-tuned MiniLM was far from converged on 500 TREC questions
    (11.0% fine accuracy without the graph) where 10 epochs at 1e-4 reach about 80%, so a
    with/without-graph comparison run with defaults measured training speed, not knowledge.
    ``devices``/``strategy``/``accelerator`` go to Lightning (``strategy="ddp"`` for several
    processes); ``num_nodes`` machines take part (``torchrun --nnodes``), each with ``devices``
    processes. ``output_dir`` is where logs and checkpoints go (None: a temporary folder).
    """

    max_epochs: int = 10
    max_steps: int = -1
    batch_size: int = 32
    grad_clip: float | None = 1.0
    accumulate: int = 1
    precision: str = "auto"
    seed: int = 0
    patience: int | str | None = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    progress_bar: bool = True
    log_every_n_steps: int = 10
    output_dir: str | None = None

    def __post_init__(self):
        _positive_int("batch_size", self.batch_size)
        _positive_int("accumulate", self.accumulate)
        _positive_int("num_nodes", self.num_nodes)
        if self.max_epochs < 1 and self.max_steps < 1:
            raise ConfigError("max_epochs (or max_steps) must be >= 1", key="max_epochs")
        if self.patience is not None and self.patience != "auto":
            _positive_int("patience", self.patience)
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be > 0 or None, got {self.grad_clip}", key="grad_clip")
        _positive_int("log_every_n_steps", self.log_every_n_steps)

    def early_stopping(self, has_val: bool) -> int | None:
        """The patience in force: ``"auto"`` resolves to :data:`AUTO_PATIENCE` with validation data."""
        if self.patience == "auto":
            return AUTO_PATIENCE if has_val else None
        return self.patience

    def lightning_strategy(self) -> str:
        """``"ddp"`` becomes ``"ddp_find_unused_parameters_true"``.

        Which parameters take part in the loss depends on the batch (a batch without any edge
        leaves the relation embeddings out of the link loss, an absent loss term leaves its
        uncertainty weight out), and plain DDP fails on the first such batch.
        """
        return "ddp_find_unused_parameters_true" if self.strategy == "ddp" else self.strategy

    def lightning_precision(self) -> str:
        if self.precision in ("auto", "bf16", "32"):
            from kgattn.device import lightning_precision, pick_device

            accel = self.accelerator if self.accelerator not in ("auto", "gpu") else None
            return lightning_precision(pick_device(accel), self.precision)
        return self.precision
