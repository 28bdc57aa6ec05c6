"""Transforms: shapes and numbers against scipy on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from climb.loading.transforms import (BandPass, CenterCrop1D, Compose, EHRTimeseries, HUWindow, Normalize, Notch,
                                   RandomCrop1D, RandomShiftFlip, Resample, Resize3D, ResizePadSquare, SelectLeads, Standardize,
                                   ToFloat, compute_stats, default_transform, forward_fill)
from climb.prepare.builders.ptbxl import LEADS

FS = 500.0


def _sine(freq: float, seconds: float = 4.0, fs: float = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * freq * t)[None].astype(np.float32)


def _rms(x: np.ndarray) -> float:
    mid = x[..., x.shape[-1] // 4: -x.shape[-1] // 4]  # ignore edge transients
    return float(np.sqrt(np.mean(mid ** 2)))


def test_resize_pad_square_keeps_aspect_and_pads_centred():
    img = np.full((1, 20, 40), 200, np.uint8)
    out = ResizePadSquare(32)(ToFloat()(img))
    assert out.shape == (1, 32, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 8:24], 200 / 255, rtol=1e-5)  # 16 rows of image, centred
    assert out[0, :8].max() == 0 and out[0, 24:].max() == 0
    assert ResizePadSquare(16)(np.zeros((2, 3, 8, 8))).shape == (2, 3, 16, 16)  # video frames


def test_normalize_and_hu_window_numbers():
    x = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 1.0)])
    out = Normalize([0.5, 0.0], [0.25, 2.0])(x)
    np.testing.assert_allclose(out[0], 0.0)
    np.testing.assert_allclose(out[1], 0.5)
    hu = np.array([[[[-2000.0, -600.0, 150.0, 3000.0]]]])
    np.testing.assert_allclose(HUWindow.preset("lung")(hu)[0, 0, 0], [0.0, 0.5, 1.0, 1.0])


def test_resize3d_matches_a_linear_ramp():
    vol = np.broadcast_to(np.arange(8, dtype=np.float32)[:, None, None], (8, 4, 4))[None]
    out = Resize3D((16, 2, 2))(vol)
    assert out.shape == (1, 16, 2, 2)
    assert np.all(np.diff(out[0, :, 0, 0]) >= 0) and out.min() >= 0 and out.max() <= 7


def test_resample_equals_scipy_resample_poly():
    x = np.random.default_rng(0).normal(size=(12, 1000)).astype(np.float32)
    out = Resample(500, 250)(x)
    assert out.shape == (12, 500)
    np.testing.assert_allclose(out, sps.resample_poly(x.astype(np.float64), 1, 2, axis=-1), atol=1e-5)
    assert Resample(360, 100)(x).shape == (12, 278)  # 1000 * 5 / 18 rounded up
    assert Resample(173.61, 250)._up / Resample(173.61, 250)._down == pytest.approx(250 / 173.61, rel=1e-3)


def test_bandpass_attenuates_out_of_band_sine_and_keeps_in_band():
    bp = BandPass(FS, 0.5, 40.0)
    assert _rms(bp(_sine(10))) == pytest.approx(_rms(_sine(10)), rel=0.02)
    assert _rms(bp(_sine(100))) < 0.01 * _rms(_sine(100))
    assert _rms(bp(_sine(0.05, seconds=40))) < 0.05 * _rms(_sine(0.05, seconds=40))  # baseline wander
    sos = sps.butter(4, [0.5, 40.0], btype="bandpass", fs=FS, output="sos")
    x = _sine(10) + _sine(100)
    expected = sps.sosfiltfilt(sos, x.astype(np.float64), axis=-1, padtype="even", padlen=x.shape[-1] - 1)
    np.testing.assert_allclose(bp(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="Nyquist"):
        BandPass(100.0, 0.5, 60.0)


def test_notch_removes_mains_frequency():
    notch = Notch(FS, 50.0)
    assert _rms(notch(_sine(50))) < 0.05 * _rms(_sine(50))
    assert _rms(notch(_sine(10))) == pytest.approx(_rms(_sine(10)), rel=0.02)


def test_select_leads_picks_rows_by_name():
    ecg = np.arange(12, dtype=np.float32)[:, None] * np.ones((12, 5), np.float32)
    out = SelectLeads(["I", "II", "V1", "V6", "aVF"], LEADS)(ecg)
    np.testing.assert_array_equal(out[:, 0], [0, 1, 6, 11, 5])
    with pytest.raises(KeyError, match="V7"):
        SelectLeads(["V7"], LEADS)


def test_crops_random_seeded_and_centre():
    x = np.arange(100, dtype=np.float32)[None]
    np.testing.assert_array_equal(CenterCrop1D(10)(x)[0], np.arange(45, 55))
    a = RandomCrop1D(10, seed=3)(x)
    assert np.array_equal(a, RandomCrop1D(10, seed=3)(x)) and a.shape == (1, 10)
    assert np.all(np.diff(a[0]) == 1)
    starts = {int(RandomCrop1D(10)(x, np.random.default_rng(s))[0, 0]) for s in range(20)}
    assert len(starts) > 5
    assert CenterCrop1D(120)(x).shape == (1, 120)  # padded


def test_ehr_forward_fill_mask_and_standardisation():
    nan = np.nan
    x = np.array([[nan, 1.0], [2.0, nan], [nan, 3.0]], np.float32)
    np.testing.assert_array_equal(forward_fill(x), [[nan, 1.0], [2.0, 1.0], [2.0, 3.0]])
    out = EHRTimeseries(mean=[2.0, 1.0], std=[1.0, 2.0])(x)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out[:, :2], [[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(out[:, 2:], [[0, 1], [1, 0], [0, 1]])


def test_standardize_and_compose():
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    out = Compose([ToFloat(1.0), Standardize()])(x)
    np.testing.assert_allclose(out[0], (x[0] - 2) / np.std(x[0]), rtol=1e-5)
    np.testing.assert_array_equal(out[1], 0)


def test_compute_stats_per_channel():
    values = [np.full((2, 3, 3), v, np.float32) * np.array([1, 2], np.float32)[:, None, None] for v in (1, 3)]
    stats = compute_stats(values, "image")
    np.testing.assert_allclose(stats["mean"], [2.0, 4.0])
    np.testing.assert_allclose(stats["std"], [1.0, 2.0])


def test_default_transform_for_an_ecg_card():
    card = {"fields": {"label": {"kind": "label"},
                       "signal": {"kind": "signal", "shape": [12, 5000], "sampling_rate": 500, "lead_names": LEADS},
                       "age": {"kind": "scalar"}}}
    train = default_transform(card, True, sampling_rate=250, crop_seconds=2.5, leads=["I", "II"])
    ecg = np.random.default_rng(0).normal(size=(12, 5000)).astype(np.float32)
    out = train({"signal": ecg, "age": 60.0}, rng=np.random.default_rng(1))
    assert out["signal"].shape == (2, 625) and out["age"] == 60.0
    np.testing.assert_allclose(out["signal"].mean(-1), 0, atol=1e-5)
    evaluation = default_transform(card, False, crop_seconds=2.0)
    assert evaluation({"signal": ecg})["signal"].shape == (12, 1000)


def test_default_transform_on_real_ptbxl_card_selects_leads_by_name(shared_data):
    import climb
    from climb.prepare import prepare

    prepare("ptbxl", raw=shared_data / "ptbxl")
    plain = climb.load("ptbxl", split="test", fields=["signal"])
    card = plain.card
    assert card["fields"]["signal"]["lead_names"][6] == "V1"
    picked = climb.load("ptbxl", split="test", fields=["signal"],
                        transform=default_transform(card, False, leads=["V1", "II"], sampling_rate=50))
    raw = plain[0]["signal"].numpy()
    expected = Standardize()(Resample(100, 50)(raw[[6, 1]]))
    out = picked[0]["signal"]
    assert out.shape == (2, 500) and out.dtype.is_floating_point
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_random_shift_flip_moves_content_within_bounds_and_is_seeded():
    img = np.zeros((1, 16, 16), np.float32)
    img[0, 8, 3] = 1.0  # one bright pixel, far enough from the border that a 2-px shift keeps it
    t = RandomShiftFlip(max_shift=0.125, fill=0.0)
    moves, flips = set(), set()
    for seed in range(60):
        out = t(img, rng=np.random.default_rng(seed))
        assert out.shape == img.shape and out.sum() == 1.0
        np.testing.assert_array_equal(out, t(img, rng=np.random.default_rng(seed)))  # same draw, same image
        (y,), (x,) = np.nonzero(out[0])
        flipped = x >= 8
        dx = (15 - x) - 3 if flipped else x - 3
        moves.add((y - 8, dx))
        flips.add(bool(flipped))
    assert flips == {True, False}
    assert all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in moves) and len(moves) > 10
    video = np.stack([img, img])  # (T, C, H, W): frames move together
    out = t(video, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(out[0], out[1])


def test_default_transform_augments_train_images_only_and_refuses_signals():
    card = {"name": "toy", "fields": {"label": {"kind": "label"}, "image": {"kind": "image", "shape": [1, 28, 28]}}}
    img = np.random.default_rng(0).integers(0, 255, (1, 28, 28), dtype=np.uint8)
    plain = default_transform(card, False, image_size=32)
    base = plain({"image": img})["image"]
    flip_only = default_transform(card, True, augment=True, image_size=32)  # True = horizontal flip only
    draws = [flip_only({"image": img}, rng=np.random.default_rng(s))["image"] for s in range(8)]
    kinds = {("same" if np.array_equal(d, base) else "flipped" if np.array_equal(d, base[..., ::-1]) else "other")
             for d in draws}
    assert kinds == {"same", "flipped"}
    shifting = default_transform(card, True, augment={"max_shift": 0.125, "flip_p": 0.0}, image_size=32)
    shifted = [shifting({"image": img}, rng=np.random.default_rng(s))["image"] for s in range(8)]
    assert all(d.shape == (1, 32, 32) for d in shifted) and any(not np.array_equal(d, base) for d in shifted)
    evaluation = default_transform(card, False, augment=True, image_size=32)
    np.testing.assert_array_equal(evaluation({"image": img}, rng=np.random.default_rng(1))["image"],
                                  plain({"image": img})["image"])
    ecg = {"name": "ecg", "fields": {"signal": {"kind": "signal", "shape": [1, 100]}}}
    with pytest.raises(ValueError, match="image/video fields only; ecg has"):
        default_transform(ecg, True, augment=True)
