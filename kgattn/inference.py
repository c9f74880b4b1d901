"""Inference with a fitted model: streaming prediction, distributed prediction and explanation.

The three paths share one data path: :meth:`Preprocessor.prepare` -> :meth:`Preprocessor.collator`
-> the Lightning module's ``predict_step`` (or ``forward`` for explanations), so a text is linked,
tokenized, cut into a subgraph and batched the same way whichever path predicts it.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from kgattn.errors import ConfigError, InputTextError
from kgattn.explain import AttendedNode, Explanation, LayerAttention, LinkedMention, PredictionBatch
from kgattn.linking.types import Mention
from kgattn.training.collate import Example, check_texts


def _shift_index(message: str, offset: int) -> str:
    """``index i: ...`` -> ``index i+offset: ...`` for errors raised inside a chunk."""
    return re.sub(r"^index (\d+)", lambda m: f"index {int(m.group(1)) + offset}", message)


def top_attended(kg, node_ids: torch.Tensor, weights: torch.Tensor, top_k: int) -> tuple[AttendedNode, ...]:
    """The ``top_k`` real nodes (``node_ids >= 0``) with the largest weights, highest first."""
    real = node_ids >= 0
    ids, w = node_ids[real], weights[real]
    order = torch.argsort(w, descending=True, stable=True)[:top_k]
    return tuple(AttendedNode(int(ids[i]), kg.label(int(ids[i])), float(w[i])) for i in order)


class Predictor:
    """A fitted model ready for inference.

    Args:
        preprocessor: the :class:`~kgattn.preprocessing.Preprocessor` the model was trained with.
        module: the fitted :class:`~kgattn.training.module.KGClassifierModule`.
        encoders: ``{task: LabelEncoder}``.
        batch_size, precision, accelerator: as in :class:`~kgattn.training.config.TrainerConfig`.
    """

    def __init__(self, preprocessor, module, encoders: dict, batch_size: int, precision: str = "auto",
                 accelerator: str = "auto"):
        self.preprocessor = preprocessor
        self.module = module
        self.encoders = encoders
        self.batch_size = batch_size
        self.precision = precision
        self.accelerator = accelerator

    @property
    def kg(self):
        return self.preprocessor.kg

    def device(self) -> torch.device:
        from kgattn.device import pick_device

        return pick_device(None if self.accelerator in ("auto", "gpu") else self.accelerator)

    def batches(self, texts: Iterable[str], mentions: Iterable[Sequence[Mention]] | None, use_graph: bool,
                top_k: int = 5, chunk_size: int | None = None) -> Iterator[PredictionBatch]:
        """Stream :class:`PredictionBatch` es in input order (see ``KGClassifier.predict_batches``)."""
        from kgattn.device import autocast

        chunk_size = chunk_size or 16 * self.batch_size
        device = self.device()
        module = self.module.to(device).eval()
        collate = self.preprocessor.collator(use_graph)
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
                examples = self.preprocessor.prepare(chunk, chunk_mentions, use_graph)
            except InputTextError as exc:  # re-point the index into the whole input
                raise InputTextError(_shift_index(str(exc), offset)) from None
            for start in range(0, len(examples), self.batch_size):
                part = examples[start:start + self.batch_size]
                batch = collate([(offset + start + i, ex, None) for i, ex in enumerate(part)]).to(device)
                with torch.inference_mode(), autocast(device, self.precision):
                    raw = module.predict_step(batch, 0)
                yield self._prediction_batch(raw, part, top_k)
            offset += len(chunk)

    def probabilities(self, texts, mentions, use_graph: bool) -> dict[str, np.ndarray]:
        """``{task: float [n, C]}`` for all of ``texts``."""
        texts = check_texts(texts)
        parts = list(self.batches(texts, mentions, use_graph, top_k=0))
        return {t: (np.concatenate([p.probabilities[t] for p in parts]) if parts
                    else np.empty((0, e.num_classes), dtype=np.float32))
                for t, e in self.encoders.items()}

    def distributed(self, texts: Sequence[str], directory: str | Path, mentions, use_graph: bool,
                    trainer_config, progress_bar: bool) -> dict[str, np.ndarray]:
        """Lightning's predict loop over ``trainer_config``'s devices (see ``KGClassifier.predict_distributed``)."""
        import lightning as L

        from kgattn.training.data import ExampleDataset, KGDataModule
        from kgattn.training.trainer import PredictionFileWriter, merge_prediction_files

        texts = check_texts(texts)
        examples = self.preprocessor.prepare(texts, mentions, use_graph)
        directory = Path(directory)
        data = KGDataModule(self.preprocessor.collator(use_graph), self.batch_size, predict=ExampleDataset(examples))
        trainer = L.Trainer(accelerator=trainer_config.accelerator, devices=trainer_config.devices,
                            num_nodes=trainer_config.num_nodes,
                            strategy=trainer_config.lightning_strategy(),
                            precision=trainer_config.lightning_precision(), logger=False,
                            callbacks=[PredictionFileWriter(directory)], enable_progress_bar=progress_bar,
                            enable_model_summary=False, default_root_dir=directory)
        trainer.predict(self.module.eval(), datamodule=data, return_predictions=False)
        trainer.strategy.barrier()
        merged = merge_prediction_files(directory, len(examples))
        self.module.cpu()
        return {t: merged[f"probs/{t}"].numpy() for t in self.encoders}

    def _prediction_batch(self, raw: dict[str, torch.Tensor], examples: Sequence[Example], top_k: int) -> PredictionBatch:
        probs = {t: raw[f"probs/{t}"].float().cpu().numpy() for t in self.encoders}
        labels = {t: self.encoders[t].decode(p.argmax(1)) for t, p in probs.items()}
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

    def explain(self, text: str, mentions: Sequence[Mention] | None, use_graph: bool, top_k: int = 5) -> Explanation:
        """Linked mentions, the ``top_k`` most attended nodes per fusion layer, and the gate values."""
        from kgattn.device import autocast
        from kgattn.training.module import attention_summary

        device = self.device()
        examples = self.preprocessor.prepare([text], [mentions] if mentions is not None else None, use_graph)
        batch = self.preprocessor.collator(use_graph)([(0, examples[0], None)]).to(device)
        module = self.module.to(device).eval()
        with torch.inference_mode(), autocast(device, self.precision):
            out = module(batch)
        probs = {t: torch.softmax(out.logits[t].float(), -1)[0].cpu().numpy() for t in self.encoders}
        prediction = {t: self.encoders[t].classes[int(p.argmax())] for t, p in probs.items()}
        probabilities = {t: {str(c): float(p[i]) for i, c in enumerate(self.encoders[t].classes)}
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
                    null_weight=float(summary[l, 0]), top_nodes=top_attended(self.kg, node_ids, summary[l, 1:], top_k)))
        return Explanation(text=text, prediction=prediction, probabilities=probabilities,
                           mentions=mentions_out, layers=tuple(layers))
