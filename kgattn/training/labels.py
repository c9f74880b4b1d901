"""Label validation and encoding: user labels (a list, or ``{task: list}``) to class indices."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kgattn.errors import LabelError

#: The task name used when labels are given as a plain list.
DEFAULT_TASK = "label"

Label = str | int | bool


def _scalar(value, task: str, index: int) -> Label:
    """A JSON-safe python label; numpy scalars become python ones, anything else is refused."""
    if isinstance(value, np.generic):
        value = value.item()
    # Floats are refused because 1.0 and 1 would be two classes, and NaN never equals itself.
    if isinstance(value, str) and not value.strip():  # the pipeline refuses these too: a reading error
        raise LabelError(f"task {task!r}, index {index}: label is an empty string")
    if isinstance(value, (str, bool, int)):
        return value
    raise LabelError(f"task {task!r}, index {index}: label {value!r} has type {type(value).__name__}; "
                     "labels must be str, int or bool")


def _is_sequence(values) -> bool:
    """A sized, iterable, non-string collection (list, tuple, numpy array, pandas Series)."""
    if isinstance(values, (str, bytes, Mapping, set, frozenset)):  # sets have no order to match texts
        return False
    return isinstance(values, (Sequence, np.ndarray)) or (hasattr(values, "__len__") and hasattr(values, "__iter__"))


def normalize_labels(labels, num_texts: int) -> dict[str, list[Label]]:
    """Check ``labels`` against ``num_texts`` texts and return ``{task: list}``.

    ``labels`` is a sequence (one task called ``"label"``) or a mapping ``{task: sequence}``.
    Raises :class:`LabelError` naming the task and index of the first bad label: a count that
    differs from the texts', a label that is not str/int/bool, or labels of mixed types in a task.
    """
    if isinstance(labels, Mapping):
        if not labels:
            raise LabelError("labels is an empty mapping; give at least one task")
        tasks = dict(labels)
    elif not _is_sequence(labels):
        raise LabelError(f"labels must be a list or a dict {{task: list}}, not {type(labels).__name__}")
    else:
        tasks = {DEFAULT_TASK: labels}
    out: dict[str, list[Label]] = {}
    for task, values in tasks.items():
        if not isinstance(task, str) or not task:
            raise LabelError(f"task names must be non-empty strings, got {task!r}")
        if not _is_sequence(values):
            raise LabelError(f"task {task!r}: labels must be a list, not {type(values).__name__}")
        values = list(values)
        if len(values) != num_texts:
            raise LabelError(f"task {task!r}: {len(values)} labels for {num_texts} texts")
        clean = [_scalar(v, task, i) for i, v in enumerate(values)]
        if clean:
            kind = type(clean[0])
            for i, v in enumerate(clean):
                if type(v) is not kind:
                    raise LabelError(f"task {task!r}, index {i}: label {v!r} is {type(v).__name__} but "
                                     f"index 0 is {kind.__name__}; a task's labels must share one type")
        out[task] = clean
    return out


@dataclass(frozen=True)
class LabelEncoder:
    """The classes of one task, sorted, and the map between labels and class indices."""

    task: str
    classes: tuple[Label, ...]

    @classmethod
    def fit(cls, task: str, values: Sequence[Label]) -> "LabelEncoder":
        classes = tuple(sorted(set(values)))
        if len(classes) < 2:
            raise LabelError(f"task {task!r}: needs at least 2 classes, found {list(classes)}")
        return cls(task, classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def encode(self, values: Sequence[Label]) -> np.ndarray:
        """Int64 class indices; a label not seen in training raises LabelError naming it and its index."""
        lookup = {c: i for i, c in enumerate(self.classes)}
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            # bool is an int subclass: True must not silently match class 1.
            hit = lookup.get(v)
            if hit is None or type(v) is not type(self.classes[hit]):
                raise LabelError(f"task {self.task!r}, index {i}: label {v!r} was not seen in training "
                                 f"(known: {list(self.classes)})")
            out[i] = hit
        return out

    def decode(self, indices) -> list[Label]:
        return [self.classes[int(i)] for i in np.asarray(indices).reshape(-1)]


def fit_encoders(labels: dict[str, list[Label]]) -> dict[str, LabelEncoder]:
    return {task: LabelEncoder.fit(task, values) for task, values in labels.items()}
