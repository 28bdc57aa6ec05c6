"""Few-shot subsets: k per class, seeded, nested across k."""

from __future__ import annotations

import numpy as np
import pytest

import climb
from climb.loading import FewShotSubset, few_shot_indices


def test_k_per_class_and_nested_on_real_labels(home):
    ds = climb.load("pneumoniamnist", "train")
    sets = {k: few_shot_indices(ds.labels, k, seed=3, task=ds.task) for k in (1, 8, 32)}
    for k, idx in sets.items():
        assert np.bincount(ds.labels[idx], minlength=2).tolist() == [k, k]
    assert set(sets[1]) <= set(sets[8]) <= set(sets[32])
    assert not np.array_equal(sets[8], few_shot_indices(ds.labels, 8, seed=4, task="binary"))
    np.testing.assert_array_equal(sets[8], few_shot_indices(ds.labels, 8, seed=3, task="binary"))
    subset = FewShotSubset(ds, 8, seed=3)
    assert len(subset) == 16 and subset.labels.tolist().count(1) == 8
    assert subset[0]["sample_id"] == f"train-{sets[8][0]}"


def test_too_few_examples_takes_all_and_warns():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 20)
    with pytest.warns(UserWarning, match="class 1 has only 3"):
        idx = few_shot_indices(labels, 5, seed=0, task="multiclass")
    assert np.bincount(labels[idx]).tolist() == [5, 3, 5]


def test_multilabel_greedy_k_positives_and_nested():
    rng = np.random.default_rng(0)
    labels = (rng.random((500, 4)) < [0.5, 0.2, 0.05, 0.3]).astype(np.float32)
    sets = {k: few_shot_indices(labels, k, seed=1, task="multilabel") for k in (1, 4, 8)}
    for k, idx in sets.items():
        assert (labels[idx].sum(0) >= k).all()
        assert len(idx) <= 4 * k  # greedy sharing never needs more than one pick per class and round
    assert set(sets[1]) <= set(sets[4]) <= set(sets[8])
    with pytest.raises(ValueError, match="regression"):
        few_shot_indices(np.zeros(5), 1, task="regression")
