"""Bonn EEG builders on the real segments in ../shared/data/bonn_eeg."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from climb.prepare import PrepareError, prepare

SETS = ["Z", "O", "N", "F", "S"]


@pytest.fixture(scope="module")
def bonn_raw(shared_data) -> Path:
    return shared_data / "bonn_eeg"


def sample_ids(ds, split: str) -> list[str]:
    view = ds.field(split, "sample_id")
    return [view[i] for i in range(len(view))]


def leftovers(home: Path) -> list[str]:
    root = home / "prepared"
    return [p.name for p in root.iterdir() if not p.name.endswith(".lock")] if root.is_dir() else []


def copy_sets(src: Path, dst: Path, per_set: int = 2) -> Path:
    for s in SETS:
        (dst / s).mkdir(parents=True)
        for f in sorted((src / s).iterdir())[:per_set]:
            shutil.copy(f, dst / s / f.name)
    return dst


def test_five_sets_stratified_seeded_split(bonn_raw):
    ds = prepare("bonn_eeg", raw=bonn_raw)
    assert ds.label_names == SETS
    assert ds.card["fields"]["label"]["segments_per_set"] == dict.fromkeys(SETS, 100)
    sizes = {"train": 70, "val": 10, "test": 20}
    for split, n in sizes.items():
        assert ds.card["splits"][split]["class_counts"] == dict.fromkeys(SETS, n)
        assert ds.card["splits"][split]["num_patients"] == 5 * n  # patient = segment
    assert ds.card["fields"]["eeg"]["shape"] == [1, 4097]
    assert ds.card["fields"]["eeg"]["sampling_rate"] == 173.61
    assert "patient_id = segment id" in ds.card["split_policy"]
    sid, eeg = ds.field("test", "sample_id")[0], ds.field("test", "eeg")[0]
    folder = bonn_raw / sid[0]
    path = next(p for p in folder.iterdir() if p.stem.upper() == sid)
    np.testing.assert_array_equal(eeg[0], np.loadtxt(path, dtype=np.float32))
    assert eeg.dtype == np.float32
    all_ids = sum((sample_ids(ds, s) for s in ds.splits), [])
    assert len(all_ids) == len(set(all_ids)) == 500


def test_seizure_variant_is_binary_with_the_same_splits(bonn_raw):
    five = prepare("bonn_eeg", raw=bonn_raw)
    binary = prepare("bonn_eeg_seizure", raw=bonn_raw)
    assert binary.task.value == "binary" and binary.label_names == ["non-seizure", "seizure"]
    assert binary.card["splits"]["test"]["class_counts"] == {"non-seizure": 80, "seizure": 20}
    for split in ("train", "val", "test"):
        assert sample_ids(binary, split) == sample_ids(five, split)
        is_s = np.array([i.startswith("S") for i in sample_ids(binary, split)])
        np.testing.assert_array_equal(binary.labels(split), is_s.astype(int))


@pytest.mark.parametrize(
    "damage, pattern",
    [
        (lambda raw: (raw / "Z" / "Z001.txt").write_text("1\n2\n3\n"), r"Z001\.txt: 3 samples, expected 4097"),
        (lambda raw: (raw / "S" / "S002.txt").write_text("1\nabc\n" * 2000),
         r"S002\.txt: not a column of numbers"),
        (lambda raw: shutil.rmtree(raw / "F"), r"F: set folder F/ not found"),
    ],
    ids=["short-segment", "not-numbers", "missing-set"],
)
def test_bad_input_fails_clearly_and_leaves_nothing(bonn_raw, tmp_path, climb_home, damage, pattern):
    raw = copy_sets(bonn_raw, tmp_path / "raw")
    damage(raw)
    with pytest.raises(PrepareError, match=pattern):
        prepare("bonn_eeg", raw=raw)
    assert leftovers(climb_home) == []
