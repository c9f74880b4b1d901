"""The pretraining data module: a seeded order per epoch that a resumed run continues exactly.

Lightning restarts an epoch's data from its first batch when a checkpoint was taken mid-epoch
(unless the loader can resume). Here the order of epoch ``e`` is a permutation drawn from
``(seed, e)`` alone, each rank takes every ``world``-th position of it (all ranks get the same
number of texts, so DDP never waits on a rank that ran out), and after a resume the batches the
checkpoint had already trained are skipped: a killed run sees every text of the epoch once.
"""
from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler

from kgattn.training.data import ExampleDataset


class EpochSampler(Sampler[int]):
    """Indices of one rank for the current epoch: ``randperm(n; seed, epoch)[rank::world]``,
    truncated to ``n // world`` (at least 1), minus the first ``skip`` after a resume."""

    def __init__(self, n: int, seed: int = 0, rank: int = 0, world: int = 1):
        self.n, self.seed, self.rank, self.world = n, seed, rank, world
        self.epoch = 0
        self.resume: tuple[int, int] | None = None   # (epoch, indices already trained in it)

    def set_epoch(self, epoch: int) -> None:   # Lightning calls this at every epoch start
        self.epoch = epoch

    def order(self, epoch: int) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        share = torch.randperm(self.n, generator=generator)[self.rank::self.world].tolist()
        return share[:max(1, self.n // self.world)]

    def __iter__(self) -> Iterator[int]:
        order = self.order(self.epoch)
        if self.resume is not None and self.resume[0] == self.epoch:
            order = order[self.resume[1]:]
        self.resume = None
        return iter(order)

    def __len__(self) -> int:
        return max(1, self.n // self.world)


class ResumableLoader(DataLoader):
    """A DataLoader that tells Lightning it resumes mid-epoch by itself (its sampler skips the
    trained batches; the position is kept by :class:`~kgattn.pretraining.module.KGPretrainModule`)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class PretrainDataModule(L.LightningDataModule):
    """Training batches of ``examples`` through ``collator`` (the masking collator), resumable.

    Set the trainer's ``use_distributed_sampler=False``: the sampler shards by rank itself.
    """

    def __init__(self, examples, collator, batch_size: int = 32, seed: int = 0, rank: int = 0, world: int = 1):
        super().__init__()
        self.dataset = ExampleDataset(examples)
        self.collator, self.batch_size, self.seed, self.rank, self.world = collator, batch_size, seed, rank, world

    def train_dataloader(self) -> DataLoader:
        sampler = EpochSampler(len(self.dataset), self.seed, self.rank, self.world)
        module = self.trainer.lightning_module if self.trainer is not None else None
        position = getattr(module, "resume_position", None)
        if position is not None:   # (epoch, batches trained in it) from the checkpoint
            sampler.resume = (position[0], position[1] * self.batch_size)
            sampler.set_epoch(position[0])
        return ResumableLoader(self.dataset, batch_size=self.batch_size, sampler=sampler, collate_fn=self.collator)
