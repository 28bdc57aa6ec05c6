"""Seeded grouped stratified splits and the leakage check."""

from __future__ import annotations

import numpy as np
import pytest

from climb.prepare.splits import LeakageError, check_no_leakage, grouped_stratified_split

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def _toy(n_patients: int = 200, seed: int = 1):
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(1, 6, n_patients)
    groups = np.repeat([f"p{i}" for i in range(n_patients)], per_patient)
    patient_label = rng.random(n_patients) < 0.3
    labels = np.repeat(patient_label.astype(int), per_patient)
    return groups, labels


def test_every_patient_in_one_split_and_fractions_respected():
    groups, labels = _toy()
    splits = grouped_stratified_split(groups, labels, FRACTIONS, seed=0)
    check_no_leakage({s: groups[splits == s] for s in FRACTIONS})
    for name, frac in FRACTIONS.items():
        assert abs((splits == name).mean() - frac) < 0.06
        # stratified: positive rate per split close to the overall rate
        assert abs(labels[splits == name].mean() - labels.mean()) < 0.08


def test_seeded_and_seed_sensitive():
    groups, labels = _toy()
    a = grouped_stratified_split(groups, labels, FRACTIONS, seed=3)
    b = grouped_stratified_split(groups, labels, FRACTIONS, seed=3)
    c = grouped_stratified_split(groups, labels, FRACTIONS, seed=4)
    assert (a == b).all()
    assert (a != c).any()


def test_bad_fractions_rejected():
    with pytest.raises(ValueError, match="sum to 1"):
        grouped_stratified_split(["a"], [0], {"train": 0.5, "test": 0.4})


def test_leakage_check_names_patients():
    with pytest.raises(LeakageError, match=r"1 patient\(s\).*p7 \(train, test\)"):
        check_no_leakage({"train": ["p1", "p7"], "test": ["p7", "p9"]})
