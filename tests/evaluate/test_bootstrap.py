"""Patient-level bootstrap, window aggregation and paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from climb.evaluate import aggregate, aggregate_labels, bootstrap_ci, bootstrap_metrics, paired_difference
from climb.evaluate.bootstrap import Resampler


def clustered(n_patients: int = 40, per_patient: int = 25, seed: int = 0):
    """Samples of one patient share label and (nearly) score: strongly correlated."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_patients)
    patient_score = 0.8 * labels + rng.normal(0, 0.6, n_patients)
    groups = np.repeat(np.arange(n_patients), per_patient)
    y = labels[groups]
    score = patient_score[groups] + rng.normal(0, 0.05, len(groups))
    return y, score, groups


def test_ci_contains_point_estimate_and_is_seeded() -> None:
    y, s, groups = clustered()
    ci = bootstrap_ci("auroc", y, s, groups=groups, n_boot=200, seed=3)
    assert ci.low < ci.value < ci.high
    assert ci == bootstrap_ci("auroc", y, s, groups=groups, n_boot=200, seed=3)
    assert ci != bootstrap_ci("auroc", y, s, groups=groups, n_boot=200, seed=4)


def test_replicates_that_lose_a_rare_label_count_as_failed_for_macro_auroc() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((300, 3)) < [0.4, 0.3, 0.0]).astype(int)
    y[:2, 2] = 1  # a rare label: 2 positives, scored worst-possible
    s = np.clip(0.5 * y + rng.uniform(0, 0.5, y.shape), 0, 1)
    s[:, 2] = 1.0 - y[:, 2] * 0.99
    ci = bootstrap_metrics("multilabel", y, s, n_boot=300, seed=0)["auroc"]
    draws = Resampler(len(y), None, 0)
    lost = sum(y[draws.draw(), 2].sum() == 0 for _ in range(300))
    assert lost > 10 and ci.n_failed == lost
    # every kept replicate averages over the same three labels as the point estimate
    assert ci.high < 0.75 and ci.contains(ci.value)
    assert bootstrap_ci("auroc", y, s, task="multilabel", n_boot=300, seed=0) == ci
    # accuracy is defined without the rare label: no replicate fails
    assert bootstrap_metrics("multilabel", y, s, n_boot=300, seed=0)["accuracy"].n_failed == 0


def test_patient_level_ci_is_wider_than_sample_level_for_correlated_samples() -> None:
    y, s, groups = clustered()
    per_sample = bootstrap_ci("auroc", y, s, n_boot=300, seed=0)
    per_patient = bootstrap_ci("auroc", y, s, groups=groups, n_boot=300, seed=0)
    assert per_patient.value == per_sample.value
    assert (per_patient.high - per_patient.low) > 2.5 * (per_sample.high - per_sample.low)


def test_resampler_draws_whole_patients() -> None:
    groups = np.array(["a", "b", "b", "c", "c", "c"])
    sizes = {"a": 1, "b": 2, "c": 3}
    resampler = Resampler(len(groups), groups, seed=0)
    assert resampler.n_units == 3
    for _ in range(20):
        drawn = groups[resampler.draw()]
        names, counts = np.unique(drawn, return_counts=True)
        assert all(c % sizes[n] == 0 for n, c in zip(names, counts))
        assert sum(c // sizes[n] for n, c in zip(names, counts)) == 3  # three patients drawn


def test_paired_difference_sign() -> None:
    rng = np.random.default_rng(1)
    y, _, groups = clustered(seed=1)
    good = y + rng.normal(0, 0.5, len(y))
    noise = rng.normal(0, 1, len(y))
    better = paired_difference(y, good, noise, groups, "auroc", n_boot=200)
    assert better.difference > 0 and better.excludes_zero and better.low > 0
    worse = paired_difference(y, noise, good, groups, "auroc", n_boot=200)
    assert worse.difference < 0 and worse.high < 0
    same = paired_difference(y, good, good, groups, "auroc", n_boot=50)
    assert same.difference == 0 and not same.excludes_zero


def test_aggregate_windows_to_records() -> None:
    scores = np.array([0.1, 0.5, 0.9, 0.2, 0.4])
    groups = np.array(["r2", "r1", "r1", "r2", "r3"])
    keys, mean = aggregate(scores, groups, "mean")
    assert keys.tolist() == ["r1", "r2", "r3"]
    np.testing.assert_allclose(mean, [0.7, 0.15, 0.4])
    np.testing.assert_allclose(aggregate(scores, groups, "max")[1], [0.9, 0.2, 0.4])
    _, multi = aggregate(np.stack([scores, 1 - scores], 1), groups, "mean")
    np.testing.assert_allclose(multi[:, 1], [0.3, 0.85, 0.6])
    keys, labels = aggregate_labels(np.array([1, 0, 0, 1, 1]), groups)
    assert labels.tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="r1"):
        aggregate_labels(np.array([1, 0, 1, 1, 1]), groups)
    with pytest.raises(ValueError, match="how"):
        aggregate(scores, groups, "median")
