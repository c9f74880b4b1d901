"""Lazily computed, disk-cached text encodings of knowledge-graph nodes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from kgattn.embeddings.templates import DEFAULT_TEMPLATE, check_template, node_text  # noqa: F401 (re-exported)
from kgattn.embeddings.text_encoder import TextEncoder
from kgattn.errors import ConfigError
from kgattn.paths import cache_dir

class NodeEmbeddings:
    """Encodings of the nodes of one graph by one encoder, computed only for nodes asked for.

    Rows live in a memory-mapped ``float32 [num_nodes, dim]`` array under the cache directory,
    keyed by the graph's fingerprint, the encoder's fingerprint and the template, with a
    ``bool [num_nodes]`` array marking computed rows. The files are sparse on disk: only rows
    that were computed take space. Safe to delete; it is rebuilt on demand.

    Args:
        kg: a :class:`kgattn.KnowledgeGraph`.
        encoder: the :class:`TextEncoder` that encodes node texts.
        template: see :func:`node_text`.
        directory: cache folder; default ``$KGATTN_CACHE/node_embeddings/<key>``.
    """

    def __init__(self, kg, encoder: TextEncoder, template: str = DEFAULT_TEMPLATE,
                 directory: str | Path | None = None):
        self.kg = kg
        self.encoder = encoder
        self.template = check_template(template)
        self._directory = Path(directory) if directory is not None else None
        self._rows: np.memmap | None = None
        self._done: np.memmap | None = None

    @property
    def key(self) -> str:
        raw = f"{self.kg.fingerprint}|{self.encoder.fingerprint}|{self.template}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]

    @property
    def directory(self) -> Path:
        if self._directory is None:
            self._directory = cache_dir("node_embeddings", self.key)
        self._directory.mkdir(parents=True, exist_ok=True)
        return self._directory

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def _open(self) -> None:
        if self._rows is not None:
            return
        d, n = self.directory, self.kg.num_nodes
        rows_path, done_path = d / "rows.npy", d / "done.npy"
        if not rows_path.exists() or not done_path.exists():
            np.lib.format.open_memmap(rows_path, mode="w+", dtype=np.float32, shape=(n, self.dim)).flush()
            np.lib.format.open_memmap(done_path, mode="w+", dtype=np.bool_, shape=(n,)).flush()
            (d / "meta.json").write_text(json.dumps({
                "kg_fingerprint": self.kg.fingerprint, "encoder": self.encoder.fingerprint,
                "template": self.template, "num_nodes": n, "dim": self.dim}, indent=1))
        self._rows = np.load(rows_path, mmap_mode="r+")
        self._done = np.load(done_path, mmap_mode="r+")

    def num_cached(self) -> int:
        self._open()
        return int(self._done.sum())

    def __call__(self, nodes: torch.Tensor | np.ndarray | list[int]) -> torch.Tensor:
        """Float32 ``[len(nodes), dim]``; encodes and stores the rows not yet cached."""
        self._open()
        idx = np.asarray(nodes, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            return torch.empty(0, self.dim)
        missing = np.unique(idx[~self._done[idx]])
        if missing.size:
            texts = [node_text(self.kg, int(i), self.template) for i in missing]
            self._rows[missing] = self.encoder.encode(texts).numpy()
            self._rows.flush()
            # Mark rows done only after they are written, so a crash never leaves a marked empty row.
            self._done[missing] = True
            self._done.flush()
        return torch.from_numpy(np.array(self._rows[idx]))
