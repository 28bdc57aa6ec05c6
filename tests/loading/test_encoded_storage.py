"""Compact storage (`storage="png"` / `"jpeg"`): image and video fields decoded on read, on real data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import climb
from climb.prepare import PrepareError, prepare


def store_bytes(ds) -> int:
    return sum(f["size"] for f in ds.card["files"].values())


def test_png_images_decode_to_the_stored_arrays(shared_data):
    raw = shared_data / "medmnist"
    arrays = prepare("breastmnist", raw=raw)
    expected = {s: arrays.field(s, "image").take(np.arange(arrays.card["splits"][s]["num_samples"]))
                for s in arrays.splits}
    size_arrays = store_bytes(arrays)
    png = prepare("breastmnist", raw=raw, storage="png")
    meta = png.card["fields"]["image"]
    assert png.card["storage"] == "png" and meta["encoding"] == "png" and meta["lossless"] is True
    assert meta["shape"] == [1, 28, 28] and meta["dtype"] == "uint8"
    assert store_bytes(png) < size_arrays
    for split, images in expected.items():
        view = png.field(split, "image")
        np.testing.assert_array_equal(view.take(np.arange(len(images))), images)
        np.testing.assert_array_equal(view[3], images[3])
    ds = climb.load("breastmnist", "train")
    batch = ds.collate(ds.__getitems__([4, 0, 9]))
    assert batch["image"].dtype == torch.uint8 and torch.equal(batch["image"], torch.from_numpy(expected["train"][[4, 0, 9]]))
    # preparing again without naming a storage keeps the compact store
    assert prepare("breastmnist", raw=raw).card["storage"] == "png"


def test_jpeg_is_lossy_and_says_so(shared_data):
    raw = shared_data / "medmnist"
    arrays = prepare("breastmnist", raw=raw).field("test", "image").take(np.arange(156)).astype(int)
    jpeg = prepare("breastmnist", raw=raw, storage="jpeg")
    assert jpeg.card["fields"]["image"]["lossless"] is False
    decoded = jpeg.field("test", "image").take(np.arange(156)).astype(int)
    assert 0 < np.abs(decoded - arrays).mean() < 3


def test_png_videos_decode_to_the_stored_frames(shared_data):
    raw = shared_data / "real_samples" / "covid_blues"
    arrays = prepare("covid_blues", raw=raw, frames=4, size=32)
    expected = {s: arrays.field(s, "video").take(np.arange(arrays.card["splits"][s]["num_samples"]))
                for s in arrays.splits}
    png = prepare("covid_blues", raw=raw, frames=4, size=32, storage="png")
    assert png.card["fields"]["video"]["encoding"] == "png" and png.card["fields"]["video"]["shape"] == [4, 3, 32, 32]
    for split, videos in expected.items():
        np.testing.assert_array_equal(png.field(split, "video").take(np.arange(len(videos))), videos)


def test_fields_without_a_codec_stay_arrays(shared_data):
    ds = prepare("bonn_eeg", raw=shared_data / "bonn_eeg", storage="png")
    assert ds.card["storage"] == "png" and "encoding" not in ds.card["fields"]["eeg"]


def test_an_array_a_codec_cannot_hold_is_refused(shared_data, tmp_path, monkeypatch):
    # a float copy of the npz on purpose: past the raw-file pins, to reach the codec check
    monkeypatch.setattr("climb.prepare.check_raw_files", lambda *a, **k: None)
    npz = dict(np.load(shared_data / "medmnist" / "breastmnist.npz"))
    npz = {k: (v.astype(np.float32) if k.endswith("images") else v) for k, v in npz.items()}
    raw = tmp_path / "raw"
    raw.mkdir()
    np.savez(raw / "breastmnist.npz", **npz)
    with pytest.raises(PrepareError, match=r"field 'image': png stores .* got float32 with 1 channels \(--storage png\)"):
        prepare("breastmnist", raw=raw, storage="png")
