"""Datasets of prepared examples and the Lightning data module that batches them."""
from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from kgattn.training.collate import Collator, Example


class ExampleDataset(Dataset):
    """Prepared examples with optional encoded labels ``{task: int64 [n]}``.

    Items are ``(index, example, labels)`` where ``labels`` is ``{task: int}`` or None, as the
    :class:`Collator` expects; ``index`` is the example's position, kept through sampling.
    """

    def __init__(self, examples: Sequence[Example], labels: dict[str, np.ndarray] | None = None):
        self.examples = list(examples)
        self.labels = labels
        if labels is not None:
            for task, values in labels.items():
                if len(values) != len(self.examples):
                    raise ValueError(f"task {task!r}: {len(values)} labels for {len(self.examples)} examples")

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int):
        labels = None if self.labels is None else {t: int(v[i]) for t, v in self.labels.items()}
        return i, self.examples[i], labels


class KGDataModule(L.LightningDataModule):
    """Train / validation / prediction loaders over :class:`ExampleDataset` objects.

    Lightning adds the distributed samplers under DDP; for prediction it uses an unrepeated
    one, and every batch carries the example indices, so per-rank outputs can be merged.
    The training order is drawn from ``seed`` alone.
    """

    def __init__(self, collator: Collator, batch_size: int = 32, train: ExampleDataset | None = None,
                 val: ExampleDataset | None = None, predict: ExampleDataset | None = None,
                 num_workers: int = 0, seed: int = 0):
        super().__init__()
        self.seed = seed
        self.collator = collator
        self.batch_size = batch_size
        self.train, self.val, self.predict = train, val, predict
        self.num_workers = num_workers

    def _loader(self, dataset, shuffle: bool) -> DataLoader:
        # Its own generator: the batch order depends on the seed only, not on how much of the
        # global RNG model initialisation used (so a graph and a no-graph model see the same batches).
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, collate_fn=self.collator,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          generator=generator)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val, shuffle=False) if self.val is not None else []

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict, shuffle=False)
