"""The Lightning module that trains a :class:`KGAugmentedModel` on classification tasks."""
from __future__ import annotations

import lightning as L
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from kgattn.errors import ConfigError
from kgattn.training.collate import ModelBatch
from kgattn.training.config import OptimConfig

def attention_summary(attentions, attention_mask: torch.Tensor) -> torch.Tensor:
    """Per fusion layer, how much each example's tokens attend to each key.

    ``attentions`` is a list of ``[B, heads, T, 1+N]`` weights (null node first). Returns
    ``float [B, layers, 1+N]``: the mean over heads and over the real tokens.
    """
    mask = attention_mask.float()[:, :, None]  # [B, T, 1]
    per_layer = [(a.float().mean(1) * mask).sum(1) / mask.sum(1).clamp(min=1) for a in attentions]
    return torch.stack(per_layer, dim=1)


def adamw_groups(backbone, new, gates, optim: OptimConfig) -> list[dict]:
    """AdamW parameter groups: ``backbone`` at ``backbone_lr`` (frozen when it is 0), ``new`` at
    ``lr`` except ``gates`` (a subset of ``new``) at ``gate_lr`` when set. Weights (ndim >= 2)
    get ``weight_decay``; biases and normalisation weights none. Empty groups are dropped."""
    backbone = list(backbone)
    if optim.backbone_lr == 0:
        for p in backbone:
            p.requires_grad_(False)
    gate_ids = {id(p) for p in gates} if optim.gate_lr is not None else set()
    parts = [(backbone, optim.backbone_lr), ([p for p in new if id(p) not in gate_ids], optim.lr),
             ([p for p in new if id(p) in gate_ids], optim.gate_lr)]
    groups = []
    for params, lr in parts:
        params = [p for p in params if p.requires_grad]
        groups += [{"params": [p for p in params if p.ndim >= 2], "lr": lr, "weight_decay": optim.weight_decay},
                   {"params": [p for p in params if p.ndim < 2], "lr": lr, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def adamw_with_schedule(groups: list[dict], optim: OptimConfig, total_steps) -> dict:
    """Lightning's ``configure_optimizers`` result: AdamW over ``groups`` with linear warm-up over
    ``warmup_ratio`` of ``total_steps``, then the ``schedule`` (linear or cosine decay, or constant)."""
    from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                              get_linear_schedule_with_warmup)

    optimizer = torch.optim.AdamW(groups)
    total = max(1, int(total_steps))
    warmup = int(round(optim.warmup_ratio * total))
    if optim.schedule == "linear":
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
    elif optim.schedule == "cosine":
        scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total)
    else:
        scheduler = get_constant_schedule_with_warmup(optimizer, warmup)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class KGClassifierModule(L.LightningModule):
    """Trains and evaluates a :class:`KGAugmentedModel` on ``{task: num_classes}`` tasks.

    Logs every loss term of the model (``train/loss``, ``train/<term>``), the fusion gates
    (``train/gate_<layer>`` as ``tanh(g)``) and, per task, validation accuracy and macro-F1
    (``val/<task>/accuracy``, ``val/<task>/macro_f1``) plus their mean ``val/macro_f1``.

    Args:
        model: the :class:`KGAugmentedModel`.
        num_classes: ``{task: number of classes}``, in the model's head order.
        optim: an :class:`OptimConfig`.
        use_graph: False feeds no graph to the model (the no-graph baseline or an ablation).
    """

    def __init__(self, model: torch.nn.Module, num_classes: dict[str, int], optim: OptimConfig | None = None,
                 use_graph: bool = True):
        super().__init__()
        self.model = model
        self.num_classes = dict(num_classes)
        self.optim = optim or OptimConfig()
        self.use_graph = use_graph
        # A list, not a ModuleDict: task names are the user's ("type", "train", "a.b") and may clash
        # with nn.Module attributes or contain dots.
        self.val_metrics = torch.nn.ModuleList(
            MetricCollection({
                "accuracy": MulticlassAccuracy(num_classes=c, average="micro"),
                "macro_f1": MulticlassF1Score(num_classes=c, average="macro"),
            }) for c in self.num_classes.values())

    # -- plumbing -------------------------------------------------------------------------
    def forward(self, batch: ModelBatch, labels: bool = False, use_graph: bool | None = None):
        use_graph = self.use_graph if use_graph is None else use_graph
        return self.model(batch.input_ids, batch.attention_mask, graph=batch.graph if use_graph else None,
                          token_type_ids=batch.token_type_ids, labels=batch.labels if labels else None)

    # -- steps ----------------------------------------------------------------------------
    def training_step(self, batch: ModelBatch, batch_idx: int):
        out = self(batch, labels=True)
        b = len(batch)
        self.log("train/loss", out.loss, prog_bar=True, batch_size=b)
        for name, value in (out.losses or {}).items():
            self.log(f"train/{name}", value, batch_size=b)
        for layer, g in (out.gates or {}).items():
            self.log(f"train/gate_{layer}", g.detach().float().mean(), batch_size=b)  # already tanh(g)
        return out.loss

    def validation_step(self, batch: ModelBatch, batch_idx: int):
        out = self(batch, labels=True)
        b = len(batch)
        self.log("val/loss", out.loss, prog_bar=True, batch_size=b, sync_dist=True)
        for name, value in (out.losses or {}).items():
            self.log(f"val/{name}", value, batch_size=b, sync_dist=True)
        for task, metrics in zip(self.num_classes, self.val_metrics):
            metrics.update(out.logits[task].float(), batch.labels[task])

    def on_validation_epoch_end(self):
        f1s = []
        for task, metrics in zip(self.num_classes, self.val_metrics):
            values = metrics.compute()
            metrics.reset()
            for name, v in values.items():
                self.log(f"val/{task}/{name}", v)
            f1s.append(values["macro_f1"])
        self.log("val/macro_f1", torch.stack(f1s).mean(), prog_bar=True)

    def predict_step(self, batch: ModelBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        """Flat ``{name: tensor}`` (safetensors-ready) for one batch of b examples.

        ``index`` [b]; ``probs/<task>`` [b, C]; with a graph also ``node_ids`` [b, N] and
        ``attention`` [b, layers, 1+N] (see :func:`attention_summary`; null node first).
        """
        out = self(batch)
        result = {"index": batch.index}
        for task, logits in out.logits.items():
            result[f"probs/{task}"] = torch.softmax(logits.float(), dim=-1)
        if batch.graph is not None and self.use_graph and out.attentions:
            result["node_ids"] = batch.graph.node_ids
            result["attention"] = attention_summary(out.attentions, batch.attention_mask)
        return result

    # -- optimisation ---------------------------------------------------------------------
    def _param_groups(self) -> list[dict]:
        backbone = list(self.model.backbone_parameters())
        new = list(self.model.new_parameters())
        seen = {id(p) for p in backbone} | {id(p) for p in new}
        missing = [n for n, p in self.model.named_parameters() if p.requires_grad and id(p) not in seen]
        if missing:  # a parameter in neither group would silently never train
            raise ConfigError(f"parameters in neither backbone_parameters() nor new_parameters(): {missing[:5]}")
        return adamw_groups(backbone, new, self.model.gate_parameters(), self.optim)

    def configure_optimizers(self):
        return adamw_with_schedule(self._param_groups(), self.optim, self.trainer.estimated_stepping_batches)
