"""Building the pieces of a pretraining run from its spec: node features, model + MLM head, trainer."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from kgattn.pretraining.spec import PretrainSection, PretrainSpec
from kgattn.schemas import build, user_fields
from kgattn.training.config import TrainerConfig

#: The placeholder task of the pretraining model's config (its head is never trained or copied).
PLACEHOLDER_TASKS = {"pretraining_placeholder": 2}


def trainer_options(p: PretrainSection, world: int = 1) -> TrainerConfig:
    """The Lightning settings (the trainer schema's fields of the section); under ``torchrun``
    (several processes) ``auto`` means DDP over them, on ``WORLD_SIZE / LOCAL_WORLD_SIZE`` machines."""
    options = p.model_dump()
    if world > 1 and "TORCHELASTIC_RUN_ID" in os.environ:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        if options["devices"] == "auto":
            options.update(devices=local, num_nodes=max(1, world // local))
        if options["strategy"] == "auto":
            options["strategy"] = "ddp"
    return build("trainer", {**options, "patience": None})


def node_features(spec: PretrainSpec, kg, examples):
    """The disk-cached node encodings (by the backbone, with ``node_template``), filled once for
    every node of the corpus's subgraphs so the first training steps do not pay for them."""
    from kgattn.embeddings import NodeEmbeddings, TextEncoder

    p = spec.pretrain
    accel = None if p.accelerator in ("auto", "gpu") else p.accelerator
    feats = NodeEmbeddings(kg, TextEncoder(p.backbone, device=accel), template=p.node_template)
    nodes = [ex.subgraph.nodes for ex in examples if ex.subgraph.num_nodes]
    if p.use_graph and nodes:
        feats(torch.unique(torch.cat(nodes)))
    return feats


def model_config(spec: PretrainSpec, kg, feature_dim: int):
    """The :class:`KGAugmentedConfig` of the pretraining model: the section's architecture options,
    link prediction and alignment as ``objectives`` say, and a placeholder task (its head is unused)."""
    from kgattn.models import KGAugmentedConfig

    p = spec.pretrain
    options = {f.name: getattr(p, f.name) for f in user_fields(KGAugmentedConfig) if hasattr(p, f.name)}
    return KGAugmentedConfig(**options, tasks=dict(PLACEHOLDER_TASKS), node_feature_dim=feature_dim,
                             num_relations=kg.num_relations, max_hops=p.hops,
                             link_prediction=p.link_scorer if p.objectives.link > 0 else None,
                             alignment=p.objectives.align > 0, graph_dropout=0.0)


def build_model(spec: PretrainSpec, kg, feature_dim: int):
    """``(KGAugmentedModel, MLM head)``: the checkpoint's own MLM head when it has one."""
    from kgattn.models import KGAugmentedModel
    from kgattn.pretraining.heads import build_mlm_head

    model = KGAugmentedModel(model_config(spec, kg, feature_dim))
    return model, build_mlm_head(spec.pretrain.backbone, model.backbone)


def _final_checkpoint(path: Path):
    """A callback that writes ``path`` after the last batch of every epoch and the last step.

    Saved from ``on_train_batch_end`` (like ModelCheckpoint's step saves), which Lightning resumes
    from correctly; a save after ``fit`` returns is not resumable to a longer budget.
    """
    import lightning as L

    class FinalCheckpoint(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            end_of_epoch = batch_idx + 1 >= trainer.num_training_batches
            if end_of_epoch or (trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps):
                trainer.save_checkpoint(path, weights_only=False)

    return FinalCheckpoint()


def build_trainer(options: TrainerConfig, output_dir: Path, checkpoint_every: int):
    """A Lightning ``Trainer`` with a resumable ``checkpoints/last.ckpt`` (full state: weights,
    optimiser, scheduler, loop counters) every ``checkpoint_every`` steps and at the end, a
    CSVLogger under ``logs/`` and a learning-rate monitor. No validation."""
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from kgattn.training.trainer import _quiet_lightning

    _quiet_lightning()
    checkpoint = ModelCheckpoint(dirpath=output_dir / "checkpoints", filename="step-{step}", save_last=True,
                                 save_top_k=0, every_n_train_steps=checkpoint_every, save_on_train_epoch_end=True)
    callbacks = [LearningRateMonitor(logging_interval="step"), checkpoint,
                 _final_checkpoint(output_dir / "checkpoints" / "last.ckpt")]
    return L.Trainer(
        max_epochs=options.max_epochs, max_steps=options.max_steps, accelerator=options.accelerator,
        devices=options.devices, num_nodes=options.num_nodes, strategy=options.lightning_strategy(),
        precision=options.lightning_precision(),
        gradient_clip_val=options.grad_clip, deterministic="warn", default_root_dir=output_dir,
        logger=[CSVLogger(output_dir, name="logs")], callbacks=callbacks,
        enable_progress_bar=options.progress_bar, enable_model_summary=False,
        log_every_n_steps=options.log_every_n_steps, num_sanity_val_steps=0, limit_val_batches=0,
        use_distributed_sampler=False)   # the data module shards by rank (and resumes mid-epoch)
