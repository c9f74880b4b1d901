"""The Lightning Trainer with kgattn's defaults: checkpoints, early stopping, loggers, precision."""
from __future__ import annotations

import importlib.util
import logging
import os
import signal
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from kgattn.errors import ConfigError
from kgattn.training.config import TrainerConfig

#: The validation metric that picks the best checkpoint and drives early stopping.
MONITOR, MONITOR_MODE = "val/macro_f1", "max"


def seed_everything(options: TrainerConfig) -> None:
    """Seed python, numpy and torch (and dataloader workers) through Lightning."""
    L.seed_everything(options.seed, workers=True, verbose=False)


def _quiet_lightning() -> None:
    """Keep Lightning's per-fit banners (accelerator lines, tips) out of pipeline logs.

    An evaluation trains many models, and each fit repeated them; warnings still show.
    ``KGATTN_VERBOSE=1`` keeps them.
    """
    if os.environ.get("KGATTN_VERBOSE"):
        return
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def build_trainer(options: TrainerConfig, output_dir: str | Path, has_val: bool,
                  extra_callbacks: list | None = None, log_every: int | None = None
                  ) -> tuple[L.Trainer, ModelCheckpoint | None]:
    """A ``Trainer`` writing logs (CSV, and TensorBoard when installed) and checkpoints under ``output_dir``.

    With validation data the best epoch by ``val/macro_f1`` is kept as a weights-only
    checkpoint (returned, to load the best weights after ``fit``). Asks torch for deterministic
    algorithms (warning, not failing, where an op has none); call :func:`seed_everything`
    before building the model so its initialisation is seeded too.
    """
    patience = options.early_stopping(has_val)
    if patience is not None and not has_val:  # KGClassifier.fit says so before any linking
        raise ConfigError("patience (early stopping) needs validation data: pass val=(texts, labels)")
    output_dir = Path(output_dir)
    _quiet_lightning()
    loggers = [CSVLogger(output_dir, name="logs")]
    if importlib.util.find_spec("tensorboard") is not None:
        loggers.append(TensorBoardLogger(output_dir, name="tensorboard"))
    callbacks = [LearningRateMonitor(logging_interval="step")]
    checkpoint = None
    if has_val:
        checkpoint = ModelCheckpoint(dirpath=output_dir / "checkpoints", filename="best-{epoch}",
                                     monitor=MONITOR, mode=MONITOR_MODE, save_top_k=1, save_weights_only=True)
        callbacks.append(checkpoint)
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=MONITOR, mode=MONITOR_MODE, patience=patience))
    callbacks += extra_callbacks or []
    trainer = L.Trainer(
        max_epochs=options.max_epochs, max_steps=options.max_steps,
        accelerator=options.accelerator, devices=options.devices, num_nodes=options.num_nodes,
        strategy=options.lightning_strategy(),
        precision=options.lightning_precision(),
        gradient_clip_val=options.grad_clip, accumulate_grad_batches=options.accumulate,
        deterministic="warn", default_root_dir=output_dir, logger=loggers, callbacks=callbacks,
        enable_progress_bar=options.progress_bar, enable_model_summary=False,
        log_every_n_steps=log_every or options.log_every_n_steps, num_sanity_val_steps=0,
        enable_checkpointing=has_val, limit_val_batches=None if has_val else 0,
    )
    return trainer, checkpoint


#: Exit status of a process stopped by SIGTERM (128 + the signal number, as a shell reports it).
SIGTERM_EXIT = 128 + signal.SIGTERM


def fit(trainer: L.Trainer, module: L.LightningModule, **kwargs) -> None:
    """``trainer.fit``, except that a SIGTERM ends the process with status 143.

    Lightning catches SIGTERM, stops at the next step and raises ``SIGTERMException``, a
    ``SystemExit`` without a code: uncaught, the process would exit 0 as if training had finished
    (a scheduler, ``timeout`` or ``kill`` would read success). It becomes ``SystemExit(143)``, the
    status an unhandled SIGTERM gives, after Lightning has torn down (checkpoints already written stay).
    """
    try:
        trainer.fit(module, **kwargs)
    except SIGTERMException:
        raise SystemExit(SIGTERM_EXIT) from None


def load_best_weights(module: L.LightningModule, checkpoint: ModelCheckpoint | None) -> bool:
    """Load the best checkpoint's weights into ``module`` (tensors only: ``weights_only=True``)."""
    if checkpoint is None or not checkpoint.best_model_path:
        return False
    state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
    module.load_state_dict(state["state_dict"])
    return True


def _cat_padded(tensors: list[torch.Tensor], key: str) -> torch.Tensor:
    """Concatenate along the batch axis, padding the last axis of node-sized tensors to one N."""
    if key in ("node_ids", "attention"):
        n = max(t.shape[-1] for t in tensors)
        fill = -1 if key == "node_ids" else 0.0
        tensors = [torch.nn.functional.pad(t, (0, n - t.shape[-1]), value=fill) for t in tensors]
    return torch.cat(tensors).contiguous()


class PredictionFileWriter(BasePredictionWriter):
    """Writes each rank's predictions to ``<dir>/predictions-rank<r>.safetensors`` at the end.

    The tensors of :meth:`KGClassifierModule.predict_step` are concatenated over batches (node
    axes padded to the largest N: ``node_ids`` with -1, ``attention`` with 0), so ``index`` says
    which inputs a rank predicted; :func:`merge_prediction_files` joins the ranks.
    """

    def __init__(self, directory: str | Path):
        super().__init__(write_interval="epoch")
        self.directory = Path(directory)

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices):
        from safetensors.torch import save_file

        self.directory.mkdir(parents=True, exist_ok=True)
        batches = predictions[0] if predictions and isinstance(predictions[0], list) else predictions
        merged = {key: _cat_padded([b[key].cpu() for b in batches], key) for key in (batches[0] if batches else ())}
        save_file(merged, self.directory / f"predictions-rank{trainer.global_rank}.safetensors")


def merge_prediction_files(directory: str | Path, num_inputs: int) -> dict[str, torch.Tensor]:
    """Join per-rank prediction files into tensors ordered by input index.

    Raises ValueError when an input is missing or predicted twice: each must be covered once.
    """
    from safetensors.torch import load_file

    parts = [load_file(p) for p in sorted(Path(directory).glob("predictions-rank*.safetensors"))]
    if not parts:
        raise ValueError(f"no prediction files in {directory}")
    index = torch.cat([p["index"] for p in parts])
    counts = torch.bincount(index, minlength=num_inputs)
    if index.numel() != num_inputs or bool((counts != 1).any()):
        bad = torch.nonzero(counts != 1).flatten()[:10].tolist()
        raise ValueError(f"{index.numel()} predictions for {num_inputs} inputs; inputs not covered exactly once: {bad}")
    order = torch.argsort(index)
    return {key: _cat_padded([p[key] for p in parts], key)[order] for key in parts[0]}
