"""Text -> model input: the feature schema and the :class:`Preprocessor` (tokenizer, linker,
subgraphs, node features, collator) that is saved and loaded with a model. Names load lazily."""
from kgattn.lazy import lazy_exports

_EXPORTS = {"FeatureConfig": "kgattn.preprocessing.config", "Preprocessor": "kgattn.preprocessing.processor"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
