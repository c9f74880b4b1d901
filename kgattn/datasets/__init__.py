"""Importers of public graphs (WordNet, FB15k-237) and readers of corpora (TREC, CoNLL-2003)."""
from kgattn.datasets.fb15k237 import fb15k237
from kgattn.datasets.wordnet import wordnet

__all__ = ["fb15k237", "wordnet"]
