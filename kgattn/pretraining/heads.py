"""The masked-language-modelling head: the checkpoint's own when it has one, else a tied head."""
from __future__ import annotations

import contextlib
import logging
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from kgattn.backbone import quiet_weight_loading, resolve_backbone


class TiedMLMHead(nn.Module):
    r"""BERT's prediction head with its decoder tied to the input embeddings.

    .. math:: \mathrm{logits} = \mathrm{LN}(\mathrm{gelu}(h W_t + b_t))\, E^\top + b

    ``E`` [V, H] is the backbone's input embedding matrix (shared, not copied). Shapes:
    ``hidden`` [..., H] -> ``logits`` [..., V].
    """

    def __init__(self, embeddings: nn.Embedding, eps: float = 1e-12):
        super().__init__()
        vocab, hidden = embeddings.weight.shape
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab))
        # A plain attribute list, not a submodule: the embedding belongs to the backbone and must
        # not appear twice among the parameters or in the saved state.
        self._embeddings = [embeddings]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        weight = self._embeddings[0].weight
        x = self.norm(F.gelu(self.dense(hidden)))
        return F.linear(x, weight.to(x.dtype), self.bias.to(x.dtype))


class CheckpointMLMHead(nn.Module):
    """The prediction head of a Hugging Face ``*ForMaskedLM`` checkpoint, its decoder re-tied to
    another copy of the backbone's input embeddings. Shapes: ``hidden`` [..., H] -> [..., V]."""

    def __init__(self, head: nn.Module, name: str):
        super().__init__()
        self.head = head
        self.name = name

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden)


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' load report (the headless checkpoint's missing head is expected here)."""
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with quiet_weight_loading(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def checkpoint_head(backbone_name: str, backbone: nn.Module) -> CheckpointMLMHead | None:
    """The checkpoint's MLM head when ``AutoModelForMaskedLM`` finds all of its weights, else None.

    Only single-module heads (BERT ``cls``, RoBERTa/XLM-R/MPNet ``lm_head``, ALBERT
    ``predictions``) are used; other layouts fall back to :class:`TiedMLMHead`. The head's
    decoder is tied to ``backbone``'s input embeddings.
    """
    from transformers import AutoModelForMaskedLM

    try:
        with _quiet_transformers():
            mlm, info = AutoModelForMaskedLM.from_pretrained(resolve_backbone(backbone_name),
                                                              output_loading_info=True)
    except (OSError, ValueError, KeyError):
        return None
    prefix = mlm.base_model_prefix
    children = {name: child for name, child in mlm.named_children() if name != prefix}
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith(prefix + ".")]
    if missing or len(children) != 1:
        return None
    (name, head), = children.items()
    decoder = mlm.get_output_embeddings()
    embeddings = backbone.get_input_embeddings()
    if decoder is None or decoder.weight.shape != embeddings.weight.shape:
        return None
    decoder.weight = embeddings.weight
    return CheckpointMLMHead(head, name)


def build_mlm_head(backbone_name: str, backbone: nn.Module, load_weights: bool = True) -> nn.Module:
    """The checkpoint's own head when it has one (and ``load_weights``), else a tied head."""
    head = checkpoint_head(backbone_name, backbone) if load_weights else None
    if head is not None:
        return head
    eps = float(getattr(backbone.config, "layer_norm_eps", 1e-12))
    return TiedMLMHead(backbone.get_input_embeddings(), eps=eps)
