"""Heads and losses: shapes, imbalance weights from train counts, masking, standardisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from climb.catalog.schema import Task
from climb.models import class_counts_from_labels, make_head, make_loss


@pytest.mark.parametrize(("task", "n_out"), [("binary", 1), ("multiclass", 4), ("multilabel", 5), ("regression", 1)])
def test_head_output_shape(task: str, n_out: int) -> None:
    assert make_head(task, 16, n_out)(torch.randn(3, 16)).shape == (3, n_out)
    assert make_head(task, 16, n_out, hidden=8)(torch.randn(3, 16)).shape == (3, n_out)


def test_head_rejects_inconsistent_sizes() -> None:
    with pytest.raises(ValueError, match="1 logit"):
        make_head("binary", 16, 2)
    with pytest.raises(ValueError, match="unsupported task"):
        make_head("segmentation", 16, 2)


def test_binary_pos_weight_from_train_labels() -> None:
    labels = np.array([0] * 8 + [1] * 2)
    loss = make_loss(Task.binary, train_labels=labels)
    assert loss.pos_weight.item() == pytest.approx(4.0)
    logits, target = torch.tensor([[0.3], [-1.2]]), torch.tensor([1, 0])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits.reshape(-1), target.float(), pos_weight=torch.tensor(4.0))
    torch.testing.assert_close(loss(logits, target), expected)
    unweighted = make_loss("binary", class_counts=[8, 2], balance=False)
    assert unweighted.pos_weight is None
    torch.testing.assert_close(loss.scores(logits), torch.sigmoid(logits.reshape(-1)))


def test_multiclass_balanced_weights_match_sklearn() -> None:
    labels = np.array([0] * 6 + [1] * 3 + [2])
    loss = make_loss("multiclass", class_counts=class_counts_from_labels("multiclass", labels, 3))
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(loss.class_weight.numpy(), expected, rtol=1e-6)
    smoothed = make_loss("multiclass", class_counts=[6, 3, 1], label_smoothing=0.1)
    logits = torch.randn(4, 3)
    assert smoothed(logits, torch.tensor([0, 1, 2, 0])) > 0
    torch.testing.assert_close(loss.scores(logits).sum(dim=1), torch.ones(4))


def test_multilabel_pos_weight_and_unknown_targets() -> None:
    labels = np.array([[1, 0], [0, 0], [0, 1], [0, 1]], dtype=float)
    loss = make_loss("multilabel", train_labels=labels)
    np.testing.assert_allclose(loss.pos_weight.numpy(), [3.0, 1.0])
    logits = torch.tensor([[0.5, -0.5], [1.0, 2.0]])
    target = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    known = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(target), pos_weight=loss.pos_weight, reduction="none")[[0, 1, 1], [0, 0, 1]]
    torch.testing.assert_close(loss(logits, target), known.mean())
    with pytest.raises(ValueError, match="n_samples"):
        make_loss("multilabel", class_counts=[1, 2])


def test_regression_standardises_targets() -> None:
    y = np.array([10.0, 20.0, 30.0])
    loss = make_loss("regression", train_labels=y, regression_loss="huber")
    z = torch.tensor([[-1.224744871], [0.0], [1.224744871]])
    assert loss(z, torch.tensor(y)).item() == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(loss.scores(z).reshape(-1), torch.tensor(y, dtype=torch.float32))
    with pytest.raises(ValueError, match="mse"):
        make_loss("regression", regression_loss="l1")
