"""Frozen text encodings shared by the linker (disambiguation) and the model (node features).

Names load lazily (:mod:`kgattn.lazy`); :mod:`kgattn.embeddings.templates` is light (no torch).
"""
from kgattn.lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["DEFAULT_TEMPLATE", "check_template", "node_text"], "kgattn.embeddings.templates"),
    "NodeEmbeddings": "kgattn.embeddings.node_cache",
    "TextEncoder": "kgattn.embeddings.text_encoder",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
