"""Multitask sampling: single-task batches, proportions per rule, seeded reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from torch.utils.data import DataLoader

import climb
from climb.loading import MultiTaskBatchSampler, MultiTaskDataset
from climb.loading.multitask import task_probabilities

SIZES = [4000, 1000, 250]
B = 16


def _task_of(batch: list[int]) -> int:
    offsets = np.cumsum([0] + SIZES)
    tasks = {int(np.searchsorted(offsets, i, side="right") - 1) for i in batch}
    assert len(tasks) == 1, "a batch mixes tasks"
    return tasks.pop()


def _shares(sampler) -> np.ndarray:
    tasks = [_task_of(b) for b in sampler]
    return np.bincount(tasks, minlength=len(SIZES)) / len(tasks)


@pytest.mark.parametrize("rule, temperature, expected", [
    ("proportional", 1.0, np.array(SIZES) / sum(SIZES)),
    ("temperature", 2.0, np.sqrt(SIZES) / np.sqrt(SIZES).sum()),
    ("temperature", 1e6, np.ones(3) / 3),
    ("round_robin", 1.0, np.ones(3) / 3),
])
def test_task_shares_follow_the_rule(rule, temperature, expected):
    sampler = MultiTaskBatchSampler(SIZES, B, rule=rule, temperature=temperature, seed=1, num_batches=3000)
    np.testing.assert_allclose(task_probabilities(SIZES, rule, temperature), expected, rtol=1e-4)
    np.testing.assert_allclose(_shares(sampler), expected, atol=0.03)


def test_epoch_length_batches_and_coverage():
    sampler = MultiTaskBatchSampler(SIZES, B, rule="round_robin", seed=0)
    assert len(sampler) == sum(-(-n // B) for n in SIZES)
    batches = list(sampler)
    assert len(batches) == len(sampler) and all(len(b) == B and len(set(b)) == B for b in batches)
    smallest = [i for b in batches if _task_of(b) == 2 for i in b]
    assert set(smallest) == set(range(5000, 5250))  # the oversampled task cycles through all samples


def test_seeded_and_epoch_dependent():
    a = list(MultiTaskBatchSampler(SIZES, B, rule="temperature", temperature=2, seed=5))
    assert a == list(MultiTaskBatchSampler(SIZES, B, rule="temperature", temperature=2, seed=5))
    assert a != list(MultiTaskBatchSampler(SIZES, B, rule="temperature", temperature=2, seed=6))
    later = MultiTaskBatchSampler(SIZES, B, rule="temperature", temperature=2, seed=5)
    later.set_epoch(1)
    assert list(later) != a
    with pytest.raises(ValueError, match="unknown rule"):
        MultiTaskBatchSampler(SIZES, B, rule="uniform")


def test_multitask_dataloader_on_two_real_datasets(home):
    mt = MultiTaskDataset([climb.load("pneumoniamnist", "val"), climb.load("breastmnist", "val")])
    assert mt.tasks == ["pneumoniamnist", "breastmnist"] and len(mt) == 524 + 78
    sampler = mt.batch_sampler(32, rule="round_robin", seed=0, num_batches=6)
    batches = list(DataLoader(mt, batch_sampler=sampler, collate_fn=mt.collate))
    assert [b["task"] for b in batches] == ["pneumoniamnist", "breastmnist"] * 3
    assert all(b["image"].shape == (32, 1, 28, 28) for b in batches)
    assert mt.locate(524) == ("breastmnist", 0) and mt[524]["sample_id"] == "val-0"
