"""Sentence embeddings from a Hugging Face encoder: masked mean pooling, L2-normalised."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from kgattn.backbone import backbone_fingerprint, load_backbone
from kgattn.device import autocast, pick_device


class TextEncoder:
    r"""Encode texts as :math:`e = \mathrm{normalize}(\sum_t m_t h_t / \sum_t m_t)`.

    ``h_t`` are the backbone's last hidden states and ``m_t`` the attention mask (the pooling
    used to train MiniLM sentence embeddings). The backbone loads on first use.

    Args:
        backbone: path or hub id (see :func:`kgattn.backbone.resolve_backbone`).
        max_length: tokens kept per text.
        batch_size: texts per forward pass; texts are sorted by length to limit padding.
        device: ``"auto"`` picks CUDA when present.
        precision: ``"auto"``, ``"bf16"`` or ``"32"`` (see :func:`kgattn.device.autocast`).
    """

    def __init__(self, backbone: str | None = None, max_length: int = 64, batch_size: int = 64,
                 device: str | None = "auto", precision: str = "auto"):
        self.backbone = backbone
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        if self._model is None:
            self._model, self._tokenizer = load_backbone(self.backbone)
            self._device = pick_device(self.device)
            self._model.to(self._device).eval()

    @property
    def dim(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    @property
    def fingerprint(self) -> str:
        return f"{backbone_fingerprint(self.backbone)}-L{self.max_length}"

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Float32 ``[len(texts), dim]`` on the CPU, each row of unit norm."""
        self._load()
        out = torch.empty(len(texts), self.dim)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt").to(self._device)
            with autocast(self._device, self.precision):
                hidden = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[idx] = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()
        return out
