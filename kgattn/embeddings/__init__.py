"""Frozen text encodings shared by the linker (disambiguation) and the model (node features)."""
from kgattn.embeddings.node_cache import NodeEmbeddings, node_text
from kgattn.embeddings.text_encoder import TextEncoder

__all__ = ["NodeEmbeddings", "TextEncoder", "node_text"]
