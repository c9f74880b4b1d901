"""The Lightning module of joint pretraining, and the collator that masks its batches.

Per step (B texts, T tokens, N nodes per subgraph):

1. the collator pads the examples into a :class:`~kgattn.training.collate.ModelBatch` and masks
   tokens (entity-aware, :func:`~kgattn.pretraining.masking.mask_tokens`);
2. a fraction of the edges touching linked entities is hidden from the GNN
   (:func:`~kgattn.pretraining.masking.hidden_edges`);
3. :meth:`KGAugmentedModel.encode` runs the GNN and the backbone with its fusion blocks;
4. the losses: ``mlm`` (cross-entropy of the MLM head at masked positions), ``link`` (the
   model's DistMult/TransE loss on the hidden edges) and ``align`` (text-node alignment), and
   :math:`\\mathcal{L} = \\sum_i w_i \\mathcal{L}_i` over the terms present in the batch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import lightning as L
import torch
import torch.nn.functional as F

from kgattn.pretraining.masking import IGNORE, hidden_edges, mask_tokens
from kgattn.training.collate import Collator, ModelBatch
from kgattn.training.config import OptimConfig
from kgattn.training.module import adamw_groups, adamw_with_schedule

#: Modules of the model that classification uses but pretraining never trains.
UNUSED_MODULES = ("heads", "pool", "loss_weighting", "bag")


@dataclass(frozen=True)
class PretrainBatch:
    """A masked batch: ``batch.input_ids`` are masked; ``mlm_labels`` [B, T] hold the original ids
    at masked positions (-100 elsewhere); ``entity_tokens`` [B, T] marks tokens of linked mentions."""

    batch: ModelBatch
    mlm_labels: torch.Tensor
    entity_tokens: torch.Tensor

    def __len__(self) -> int:
        return len(self.batch)

    def to(self, device) -> "PretrainBatch":
        return PretrainBatch(self.batch.to(device), self.mlm_labels.to(device), self.entity_tokens.to(device))


class MaskingCollator:
    """Pads with a :class:`Collator` and masks tokens; callable as a DataLoader ``collate_fn``.

    Args:
        collator: the padding collator (with node features, or without for the MLM-only control).
        special_ids: token ids never masked ([CLS], [SEP], [PAD], ...).
        mask_token_id, vocab_size: of the tokenizer / backbone.
        rate, entity_rate: masking probabilities of other tokens and of linked-mention tokens.
    """

    def __init__(self, collator: Collator, special_ids, mask_token_id: int, vocab_size: int, rate: float = 0.15,
                 entity_rate: float = 0.5):
        self.collator = collator
        self.special_ids = torch.tensor(sorted(set(int(i) for i in special_ids)), dtype=torch.long)
        self.mask_token_id, self.vocab_size = int(mask_token_id), int(vocab_size)
        self.rate, self.entity_rate = rate, entity_rate

    def __call__(self, items) -> PretrainBatch:
        batch = self.collator(items)
        b, t = batch.input_ids.shape
        entity = torch.zeros(b, t, dtype=torch.bool)
        for r, (_, ex, _) in enumerate(items):
            entity[r, :ex.mention_nodes.numel()] = ex.mention_nodes >= 0
        maskable = batch.attention_mask.bool() & ~torch.isin(batch.input_ids, self.special_ids)
        masked, labels = mask_tokens(batch.input_ids, maskable, entity, rate=self.rate,
                                     entity_rate=self.entity_rate, mask_token_id=self.mask_token_id,
                                     vocab_size=self.vocab_size)
        return PretrainBatch(replace(batch, input_ids=masked), labels, entity)


class KGPretrainModule(L.LightningModule):
    """Trains a :class:`KGAugmentedModel` and an MLM head with the weighted pretraining objectives.

    Logs ``train/loss``, every term (``train/mlm``, ``train/link``, ``train/align``), the MLM
    accuracy at masked positions (``train/mlm_accuracy``, entity tokens alone
    ``train/mlm_entity_accuracy``) and the gates (``train/gate_<layer>``). Counts the real tokens
    it has read (``tokens_seen``, kept in checkpoints) and the seconds spent in this session.

    Args:
        model: the :class:`KGAugmentedModel` (its task heads stay untrained).
        mlm_head: maps hidden states [M, H] to vocabulary logits [M, V].
        weights: ``{"mlm": w, "link": w, "align": w}``; 0 switches a term off.
        optim: learning rates and schedule (backbone at ``backbone_lr``, the rest at ``lr``).
        use_graph: False feeds no graph (the MLM-only control).
        link_hide_rate: fraction of the edges touching linked entities hidden and predicted.
    """

    def __init__(self, model: torch.nn.Module, mlm_head: torch.nn.Module, weights: dict[str, float],
                 optim: OptimConfig | None = None, use_graph: bool = True, link_hide_rate: float = 0.5):
        super().__init__()
        self.model = model
        self.mlm_head = mlm_head
        self.weights = {k: float(v) for k, v in weights.items()}
        self.optim = optim or OptimConfig()
        self.use_graph = use_graph and model.config.uses_gnn
        self.link_hide_rate = link_hide_rate
        self.tokens_seen = 0
        self.epoch_batches = 0          # batches trained in the current epoch (for an exact resume)
        self.resume_position: tuple[int, int] | None = None
        self.session_tokens = 0
        self.session_seconds = 0.0
        self._started: float | None = None

    # -- objectives ---------------------------------------------------------------------------
    def compute_losses(self, pb: PretrainBatch
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``(total, {term: loss}, {metric: value})`` of one batch."""
        mb, w = pb.batch, self.weights
        graph = mb.graph if self.use_graph else None
        hide: bool | torch.Tensor = False
        if graph is not None:
            hide = (hidden_edges(graph.edge_index, graph.seed_mask, self.link_hide_rate)
                    if w.get("link") else torch.zeros(0, dtype=torch.long))
        align = bool(w.get("align")) and graph is not None and graph.mention_nodes is not None \
            and bool((graph.mention_nodes >= 0).any())
        enc = self.model.encode(mb.input_ids, mb.attention_mask, graph, mb.token_type_ids, hold_out_edges=hide,
                                need_weights=align)
        losses: dict[str, torch.Tensor] = {}
        metrics: dict[str, torch.Tensor] = {}
        selected = pb.mlm_labels != IGNORE
        if w.get("mlm") and bool(selected.any()):
            logits = self.mlm_head(enc.hidden[selected]).float()
            targets = pb.mlm_labels[selected]
            losses["mlm"] = F.cross_entropy(logits, targets)
            with torch.no_grad():
                right = logits.argmax(-1) == targets
                metrics["mlm_accuracy"] = right.float().mean()
                ent = pb.entity_tokens[selected]
                if bool(ent.any()):
                    metrics["mlm_entity_accuracy"] = right[ent].float().mean()
        for name, value in self.model.graph_losses(enc, align=align).items():
            if w.get(name):
                losses[name] = value
        if losses:
            total = sum(w[name] * value.float() for name, value in losses.items())
        else:  # nothing to learn from in this batch; keep backward() callable
            total = enc.hidden.float().sum() * 0.0
        for layer, g in enc.gates.items():
            metrics[f"gate_{layer}"] = g.detach().float().mean()
        return total, losses, metrics

    def training_step(self, pb: PretrainBatch, batch_idx: int):
        total, losses, metrics = self.compute_losses(pb)
        b = len(pb)
        self.log("train/loss", total, prog_bar=True, batch_size=b)
        for name, value in losses.items():
            self.log(f"train/{name}", value, prog_bar=name == "mlm", batch_size=b)
        for name, value in metrics.items():
            self.log(f"train/{name}", value, batch_size=b)
        # Counted here, not in on_train_batch_end: checkpoint callbacks run before the module's hook.
        self.epoch_batches += 1
        tokens = int(pb.batch.attention_mask.sum())
        self.tokens_seen += tokens
        self.session_tokens += tokens
        return total

    # -- accounting ---------------------------------------------------------------------------
    def on_train_start(self) -> None:
        self._started = time.perf_counter()

    def on_train_end(self) -> None:
        if self._started is not None:
            self.session_seconds += time.perf_counter() - self._started
            self._started = None

    def on_train_epoch_start(self) -> None:
        position = self.resume_position
        resumed = position is not None and position[0] == self.current_epoch
        self.epoch_batches = position[1] if resumed else 0
        self.resume_position = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["kgattn_tokens_seen"] = self.tokens_seen
        epoch, done = self.current_epoch, self.epoch_batches
        if self.trainer is not None and done >= self.trainer.num_training_batches:
            epoch, done = epoch + 1, 0    # saved at the end of an epoch: the next one starts fresh
        checkpoint["kgattn_data_position"] = [epoch, done]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.tokens_seen = int(checkpoint.get("kgattn_tokens_seen", 0))
        position = checkpoint.get("kgattn_data_position")
        self.resume_position = (int(position[0]), int(position[1])) if position else None

    # -- optimisation -------------------------------------------------------------------------
    def _param_groups(self) -> list[dict]:
        backbone = list(self.model.backbone_parameters())
        unused = {id(p) for name in UNUSED_MODULES if getattr(self.model, name, None) is not None
                  for p in getattr(self.model, name).parameters()}
        seen = {id(p) for p in backbone} | unused
        new = []
        for p in list(self.model.new_parameters()) + list(self.mlm_head.parameters()):
            if id(p) not in seen:   # the tied decoder is the backbone's embedding: count it once
                seen.add(id(p))
                new.append(p)
        return adamw_groups(backbone, new, self.model.gate_parameters(), self.optim)

    def configure_optimizers(self):
        return adamw_with_schedule(self._param_groups(), self.optim, self.trainer.estimated_stepping_batches)
