"""Training and batching: texts -> :class:`Example` (once per corpus) -> :class:`ModelBatch` (per step),
the Lightning module, data module and trainer set-up behind :class:`kgattn.KGClassifier`."""
from kgattn.training.collate import Collator, Example, Featurizer, ModelBatch, check_texts, shuffle_graphs
from kgattn.training.data import ExampleDataset, KGDataModule
from kgattn.training.labels import DEFAULT_TASK, LabelEncoder, fit_encoders, normalize_labels
from kgattn.training.module import KGClassifierModule, OptimConfig, attention_summary
from kgattn.training.trainer import (PredictionFileWriter, TrainerOptions, build_trainer, load_best_weights,
                                     merge_prediction_files, seed_everything)

__all__ = [
    "Collator", "DEFAULT_TASK", "Example", "ExampleDataset", "Featurizer", "KGClassifierModule", "KGDataModule",
    "LabelEncoder", "ModelBatch", "OptimConfig", "PredictionFileWriter", "TrainerOptions", "attention_summary",
    "build_trainer", "check_texts", "fit_encoders", "load_best_weights", "merge_prediction_files",
    "normalize_labels", "seed_everything", "shuffle_graphs",
]
