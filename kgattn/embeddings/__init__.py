"""Frozen text encodings shared by the linker (disambiguation) and the model (node features)."""
from kgattn.embeddings.node_cache import DEFAULT_TEMPLATE, NodeEmbeddings, check_template, node_text
from kgattn.embeddings.text_encoder import TextEncoder

__all__ = ["DEFAULT_TEMPLATE", "NodeEmbeddings", "TextEncoder", "check_template", "node_text"]
