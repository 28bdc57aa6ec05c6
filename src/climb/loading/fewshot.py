"""Few-shot subsets: k examples per class, seeded and nested across k.

Single-label (binary/multiclass): each class c gets one permutation of its samples,
drawn from a generator seeded by (seed, c); the k-shot set is the first k of each.
So for a fixed seed the 1-shot set is inside the 8-shot set inside the 32-shot set.

Multilabel: "k positives per class", chosen greedily in rounds j = 1..k. In round j,
classes are visited from the rarest to the most frequent; a class with fewer than j
positives among the selected samples takes the next unselected samples from its own
seeded permutation of positives until it has j (every pick counts for all of the
sample's labels, so co-occurring labels share picks). The k-shot set is the selection
after round k, hence nested in k as well. A class may end up with more than k positives
(picked for other classes); every class has at least min(k, its positives).

If a class has fewer than k samples (positives), all of them are taken with a warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from torch.utils.data import Subset

from climb.catalog.schema import Task


def few_shot_indices(labels: np.ndarray, k: int, seed: int = 0, task: Task | str = Task.multiclass) -> np.ndarray:
    """Sorted indices of a k-per-class subset of `labels` (see the module docstring)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    task = Task(task)
    labels = np.asarray(labels)
    if task in (Task.binary, Task.multiclass):
        return _single_label(labels.astype(np.int64).reshape(-1), k, seed)
    if task == Task.multilabel:
        if labels.ndim != 2:
            raise ValueError(f"multilabel labels must be (N, K), got shape {labels.shape}")
        return _multilabel(labels > 0.5, k, seed)
    raise ValueError(f"few-shot subsets need class labels; task is {task.value}")


def _class_permutation(indices: np.ndarray, seed: int, cls: int) -> np.ndarray:
    return np.random.default_rng([seed, cls]).permutation(indices)


def _single_label(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < k:
            warnings.warn(f"few-shot: class {int(cls)} has only {len(members)} samples (< k={k}); taking all",
                          stacklevel=3)
        chosen.append(_class_permutation(members, seed, int(cls))[:k])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def _multilabel(positive: np.ndarray, k: int, seed: int) -> np.ndarray:
    n_classes = positive.shape[1]
    orders = [_class_permutation(np.flatnonzero(positive[:, c]), seed, c) for c in range(n_classes)]
    pointers = [0] * n_classes
    selected = np.zeros(len(positive), dtype=bool)
    counts = np.zeros(n_classes, dtype=np.int64)
    visit = np.argsort([len(o) for o in orders], kind="stable")  # rarest first
    for round_ in range(1, k + 1):
        for c in visit:
            while counts[c] < round_ and pointers[c] < len(orders[c]):
                i = orders[c][pointers[c]]
                pointers[c] += 1
                if not selected[i]:
                    selected[i] = True
                    counts += positive[i]
    short = [c for c in range(n_classes) if len(orders[c]) < k]
    if short:
        warnings.warn(f"few-shot: class(es) {short} have fewer than k={k} positives; taking all", stacklevel=3)
    return np.flatnonzero(selected)


class FewShotSubset(Subset):
    """A k-shot subset of a `ClimbDataset` (same items; `.labels`, `.card`, `.task` follow)."""

    def __init__(self, dataset: Any, k: int, seed: int = 0):
        self.k, self.seed = k, seed
        super().__init__(dataset, few_shot_indices(dataset.labels, k, seed, dataset.task).tolist())

    @property
    def labels(self) -> np.ndarray:
        return self.dataset.labels[self.indices]

    @property
    def patient_ids(self) -> list[str]:
        ids = self.dataset.patient_ids
        return [ids[i] for i in self.indices]

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def card(self) -> dict[str, Any]:
        return self.dataset.card

    @property
    def task(self) -> Task:
        return self.dataset.task

    @property
    def label_names(self) -> list[str]:
        return self.dataset.label_names

    def collate(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        return self.dataset.collate(batch)

    def __repr__(self) -> str:
        return f"FewShotSubset({self.dataset!r}, k={self.k}, seed={self.seed}, n={len(self)})"


__all__ = ["FewShotSubset", "few_shot_indices"]
