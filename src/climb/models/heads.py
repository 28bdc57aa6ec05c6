"""Task heads and losses, with class imbalance handled explicitly.

    binary      1 logit,  BCE-with-logits, pos_weight = n_neg / n_pos
    multiclass  K logits, cross-entropy, class weights n / (K * n_k), optional label smoothing
    multilabel  K logits, BCE-with-logits, per-class pos_weight = (n - n_pos_k) / n_pos_k;
                NaN targets (label unknown) are left out of the loss
    regression  n logits, MSE or Huber on standardised targets (train mean / std)

Every loss is a `TaskLoss`: `loss(logits, target)` trains, `loss.scores(logits)` turns
logits into what the metrics read (probabilities, or predictions in target units).
Counts come from the TRAIN split: pass `class_counts` (and `n_samples` for
multilabel) or `train_labels` and they are computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

TASKS = ("binary", "multiclass", "multilabel", "regression")


def _task_name(task: object) -> str:
    name = getattr(task, "value", task)
    if name not in TASKS:
        raise ValueError(f"unsupported task {task!r}; heads and losses exist for {', '.join(TASKS)}")
    return str(name)


def make_head(task: object, in_dim: int, n_out: int, hidden: int | None = None, dropout: float = 0.0) -> nn.Module:
    """Linear head (or one hidden layer MLP) from an embedding to the task's logits."""
    task = _task_name(task)
    if task == "binary" and n_out != 1:
        raise ValueError(f"binary head has 1 logit (the positive class), got n_out={n_out}")
    if task == "multiclass" and n_out < 2:
        raise ValueError(f"multiclass head needs n_out >= 2, got {n_out}")
    if n_out < 1:
        raise ValueError(f"n_out must be >= 1, got {n_out}")
    if hidden is None:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, n_out))
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_out))


class TaskLoss(nn.Module):
    """A training loss that also knows how to turn logits into scores."""

    task: str

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class BinaryLoss(TaskLoss):
    task = "binary"

    def __init__(self, pos_weight: float | None = None):
        super().__init__()
        self.register_buffer("pos_weight", torch.tensor(pos_weight) if pos_weight is not None else None)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(
            logits.reshape(-1), target.reshape(-1).float(), pos_weight=self.pos_weight
        )

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits.reshape(-1))


class MulticlassLoss(TaskLoss):
    task = "multiclass"

    def __init__(self, class_weight: Sequence[float] | None = None, label_smoothing: float = 0.0):
        super().__init__()
        weight = torch.tensor(class_weight, dtype=torch.float32) if class_weight is not None else None
        self.register_buffer("class_weight", weight)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(
            logits, target.long().reshape(-1), weight=self.class_weight, label_smoothing=self.label_smoothing
        )

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, dim=-1)


class MultilabelLoss(TaskLoss):
    task = "multilabel"

    def __init__(self, pos_weight: Sequence[float] | None = None):
        super().__init__()
        self.register_buffer("pos_weight", torch.tensor(pos_weight, dtype=torch.float32) if pos_weight is not None else None)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        known = torch.isfinite(target)
        per_entry = nn.functional.binary_cross_entropy_with_logits(
            logits, torch.where(known, target, torch.zeros_like(target)), pos_weight=self.pos_weight, reduction="none"
        )
        return (per_entry * known).sum() / known.sum().clamp(min=1)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)


class RegressionLoss(TaskLoss):
    task = "regression"

    def __init__(self, kind: str = "mse", mean: float = 0.0, std: float = 1.0, huber_delta: float = 1.0):
        super().__init__()
        if kind not in ("mse", "huber"):
            raise ValueError(f"regression loss must be 'mse' or 'huber', got {kind!r}")
        if not std > 0:
            raise ValueError(f"target std must be > 0, got {std}")
        self.kind, self.huber_delta = kind, huber_delta
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        z = (target.float().reshape(logits.shape) - self.mean) / self.std
        if self.kind == "huber":
            return nn.functional.huber_loss(logits, z, delta=self.huber_delta)
        return nn.functional.mse_loss(logits, z)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        return logits * self.std + self.mean


def class_counts_from_labels(task: object, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class counts of the training labels (multilabel: positives per class, NaN ignored)."""
    task = _task_name(task)
    labels = np.asarray(labels)
    if task == "multilabel":
        if labels.ndim != 2 or labels.shape[1] != n_classes:
            raise ValueError(f"multilabel labels must be (N, {n_classes}), got {labels.shape}")
        return np.nansum(labels, axis=0).astype(np.int64)
    if task in ("binary", "multiclass"):
        ints = labels.astype(np.int64).reshape(-1)
        if ints.min(initial=0) < 0 or ints.max(initial=0) >= n_classes:
            raise ValueError(f"class indices must lie in [0, {n_classes}), got range [{ints.min()}, {ints.max()}]")
        return np.bincount(ints, minlength=n_classes)
    raise ValueError("class counts are undefined for regression")


def make_loss(
    task: object,
    class_counts: Sequence[int] | np.ndarray | None = None,
    *,
    n_samples: int | None = None,
    train_labels: np.ndarray | None = None,
    balance: bool = True,
    label_smoothing: float = 0.0,
    regression_loss: str = "mse",
    huber_delta: float = 1.0,
) -> TaskLoss:
    """The task's loss; with train counts and `balance`, the imbalance weights described above."""
    task = _task_name(task)
    if task == "regression":
        mean, std = 0.0, 1.0
        if train_labels is not None:
            y = np.asarray(train_labels, dtype=np.float64)
            mean, std = float(np.nanmean(y)), float(np.nanstd(y)) or 1.0
        return RegressionLoss(regression_loss, mean, std, huber_delta)
    if train_labels is not None:
        train_labels = np.asarray(train_labels)
        n_classes = train_labels.shape[1] if task == "multilabel" else (2 if task == "binary" else int(train_labels.max()) + 1)
        if class_counts is not None:
            n_classes = len(class_counts)
        class_counts = class_counts_from_labels(task, train_labels, n_classes)
        n_samples = len(train_labels)
    counts = None if class_counts is None or not balance else np.asarray(class_counts, dtype=np.float64)
    if task == "binary":
        return BinaryLoss(_binary_pos_weight(counts))
    if task == "multiclass":
        return MulticlassLoss(_class_weights(counts), label_smoothing)
    return MultilabelLoss(_multilabel_pos_weight(counts, n_samples))


def _binary_pos_weight(counts: np.ndarray | None) -> float | None:
    if counts is None:
        return None
    if counts.shape != (2,):
        raise ValueError(f"binary class_counts must be [n_negative, n_positive], got {counts.tolist()}")
    return float(counts[0] / counts[1]) if counts[1] > 0 else None


def _class_weights(counts: np.ndarray | None) -> list[float] | None:
    """sklearn's 'balanced' weights n / (K * n_k); classes absent from train get weight 1."""
    if counts is None:
        return None
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = counts.sum() / (len(counts) * counts[present])
    return weights.tolist()


def _multilabel_pos_weight(counts: np.ndarray | None, n_samples: int | None) -> list[float] | None:
    if counts is None:
        return None
    if n_samples is None:
        raise ValueError("multilabel class_counts (positives per class) need n_samples (training set size)")
    if np.any(counts > n_samples):
        raise ValueError(f"a class has more positives than n_samples={n_samples}: {counts.tolist()}")
    weights = np.ones_like(counts)
    positive = counts > 0
    weights[positive] = (n_samples - counts[positive]) / counts[positive]
    return weights.tolist()
