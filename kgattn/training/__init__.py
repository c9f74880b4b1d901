"""Training and batching: texts -> :class:`Example` (once per corpus) -> :class:`ModelBatch` (per step),
the Lightning module, data module and trainer set-up behind :class:`kgattn.KGClassifier`.

The schemas (:class:`OptimConfig`, :class:`TrainerConfig`) live in the light module
:mod:`kgattn.training.config`; every name here loads lazily (:mod:`kgattn.lazy`).
"""
from kgattn.lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["Collator", "Example", "Featurizer", "ModelBatch", "check_texts", "shuffle_graphs"],
                    "kgattn.training.collate"),
    **dict.fromkeys(["OptimConfig", "TrainerConfig"], "kgattn.training.config"),
    **dict.fromkeys(["ExampleDataset", "KGDataModule"], "kgattn.training.data"),
    **dict.fromkeys(["DEFAULT_TASK", "LabelEncoder", "fit_encoders", "normalize_labels"], "kgattn.training.labels"),
    **dict.fromkeys(["KGClassifierModule", "attention_summary"], "kgattn.training.module"),
    **dict.fromkeys(["PredictionFileWriter", "build_trainer", "load_best_weights", "merge_prediction_files",
                     "seed_everything"], "kgattn.training.trainer"),
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
