"""MedMNIST builders on the real files in ../shared/data/medmnist."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from unverified import build_unverified

from climb.prepare import PrepareError, open_prepared, prepare
from climb.prepare.raw_check import ChecksumMismatchError

PINNED = r"breastmnist\.npz: sha256 [0-9a-f]{64} differs from the catalog's pinned 3a22d2a4"


@pytest.mark.parametrize(
    "name, sizes, shape",
    [
        ("pneumoniamnist", (4708, 524, 624), (1, 28, 28)),
        ("breastmnist", (546, 78, 156), (1, 28, 28)),
        ("adrenalmnist3d", (1188, 98, 298), (1, 28, 28, 28)),
    ],
)
def test_official_splits_and_shapes(shared_data, name, sizes, shape):
    ds = prepare(name, raw=shared_data / "medmnist")
    got = tuple(ds.card["splits"][s]["num_samples"] for s in ("train", "val", "test"))
    assert got == sizes
    field = "volume" if len(shape) == 4 else "image"
    assert ds.card["fields"][field]["shape"] == list(shape)
    raw = np.load(shared_data / "medmnist" / f"{name}.npz")
    # the stored samples are the official arrays, in order
    view = ds.field("test", field)
    np.testing.assert_array_equal(view[5].reshape(raw["test_images"][5].shape), raw["test_images"][5])
    np.testing.assert_array_equal(ds.labels("train"), raw["train_labels"][:, 0])
    counts = ds.card["splits"]["train"]["class_counts"]
    assert sum(counts.values()) == sizes[0]


def test_prepare_is_idempotent_and_invalidated_by_source_change(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(shared_data / "medmnist" / "breastmnist.npz", raw)
    first = prepare("breastmnist", raw=raw)
    mtime = (first.root / "card.json").stat().st_mtime_ns
    again = prepare("breastmnist", raw=raw)
    assert (again.root / "card.json").stat().st_mtime_ns == mtime  # reused, not rebuilt
    npz = dict(np.load(raw / "breastmnist.npz"))
    npz["test_labels"] = 1 - npz["test_labels"]
    np.savez(raw / "breastmnist.npz", **npz)
    with pytest.raises(ChecksumMismatchError, match=PINNED):  # a changed copy of a pinned file is refused
        prepare("breastmnist", raw=raw)
    rebuilt = build_unverified("breastmnist", raw)  # the store's own fingerprint still sees the change
    assert rebuilt.card["fingerprint"] != first.card["fingerprint"]
    assert open_prepared("breastmnist").card["fingerprint"] == rebuilt.card["fingerprint"]


def test_missing_key_fails_clearly_and_leaves_nothing(shared_data, tmp_path, climb_home):
    raw = tmp_path / "raw"
    raw.mkdir()
    npz = dict(np.load(shared_data / "medmnist" / "breastmnist.npz"))
    del npz["val_labels"]
    np.savez(raw / "breastmnist.npz", **npz)
    with pytest.raises(ChecksumMismatchError, match=PINNED):
        prepare("breastmnist", raw=raw)
    with pytest.raises(PrepareError, match=r"breastmnist\.npz: missing key\(s\) \['val_labels'\]"):
        build_unverified("breastmnist", raw)
    leftovers = [p.name for p in (climb_home / "prepared").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_truncated_npz_fails_clearly(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    data = (shared_data / "medmnist" / "breastmnist.npz").read_bytes()
    (raw / "breastmnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ChecksumMismatchError, match=PINNED):
        prepare("breastmnist", raw=raw)
    with pytest.raises(PrepareError, match="not a readable npz"):
        build_unverified("breastmnist", raw)
