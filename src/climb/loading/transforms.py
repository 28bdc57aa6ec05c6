"""Per-modality transforms for prepared samples (numpy in, numpy out; torch tensors accepted).

Every transform is a callable `t(x, rng=None) -> np.ndarray` on one field value in the
standard layout (image (C,H,W), volume (C,D,H,W), signal (leads, samples), timeseries
(T,F), ...). Random transforms draw from `rng` when given (the dataset passes one seeded
by (seed, epoch, index), so augmentation does not depend on the number of workers) and
otherwise from their own generator seeded by `seed`. `Compose` chains transforms and
`FieldTransforms` applies one transform per field of a sample dict.

`default_transform(card, train)` builds a sensible pipeline per field kind from a
dataset card; see its docstring for what each kind gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import signal as sps

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (level, width) in Hounsfield units; "pe" follows the CLIMB spec's 400/1000.
HU_WINDOWS = {"lung": (-600.0, 1500.0), "pe": (400.0, 1000.0), "mediastinum": (40.0, 400.0),
              "brain": (40.0, 80.0), "bone": (400.0, 1800.0), "abdomen": (40.0, 400.0)}


def as_numpy(x: Any) -> np.ndarray:
    """A numpy view/copy of `x` (torch tensors are moved to CPU)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class Transform:
    """Base class: deterministic transforms ignore `rng`."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.apply(as_numpy(x), rng)

    def apply(self, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class RandomTransform(Transform):
    """Base class of random transforms: uses the given `rng`, else its own seeded one."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.apply(as_numpy(x), rng if rng is not None else self._rng)


class Compose(Transform):
    """Apply transforms in order, passing the same `rng` to each."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            x = t(x, rng) if isinstance(t, Transform) else t(x)
        return x


class FieldTransforms:
    """Apply one transform per field of a sample dict; other keys pass through."""

    def __init__(self, per_field: Mapping[str, Callable]):
        self.per_field = dict(per_field)

    def __call__(self, sample: dict[str, Any], rng: np.random.Generator | None = None) -> dict[str, Any]:
        out = dict(sample)
        for name, t in self.per_field.items():
            if name in out:
                out[name] = t(out[name], rng) if isinstance(t, Transform) else t(out[name])
        return out

    def __repr__(self) -> str:
        return f"FieldTransforms({self.per_field!r})"


# ---------------------------------------------------------------- generic


class ToFloat(Transform):
    """Cast to float32; integer inputs are multiplied by `scale` (default: uint8 -> [0, 1])."""

    def __init__(self, scale: float | None = None):
        self.scale = scale

    def apply(self, x, rng):
        scale = self.scale if self.scale is not None else (1 / 255 if x.dtype == np.uint8 else 1.0)
        return (x.astype(np.float32) * np.float32(scale)) if scale != 1.0 else x.astype(np.float32)


class Normalize(Transform):
    """Per-channel (axis 0) `(x - mean) / std`."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    @classmethod
    def imagenet(cls, channels: int = 3) -> Normalize:
        """ImageNet statistics; 1-channel images get the mean over the RGB channels."""
        if channels == 3:
            return cls(IMAGENET_MEAN, IMAGENET_STD)
        return cls([float(np.mean(IMAGENET_MEAN))] * channels, [float(np.mean(IMAGENET_STD))] * channels)

    def apply(self, x, rng):
        shape = (-1,) + (1,) * (x.ndim - 1)
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        std = np.asarray(self.std, np.float32).reshape(shape)
        if mean.size not in (1, x.shape[0]):
            raise ValueError(f"Normalize: {mean.size} channel statistics for {x.shape[0]} channels")
        return ((x.astype(np.float32) - mean) / std).astype(np.float32)


class Standardize(Transform):
    """Per-row (axis 0: lead/channel) zero mean, unit variance; constant rows become 0."""

    def __init__(self, eps: float = 1e-6):
        self.eps = eps

    def apply(self, x, rng):
        x = x.astype(np.float32)
        mean = x.mean(axis=-1, keepdims=True)
        std = x.std(axis=-1, keepdims=True)
        return ((x - mean) / np.maximum(std, self.eps)).astype(np.float32)


def _interpolate(x: np.ndarray, size: Sequence[int], mode: str) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    antialias = mode in ("bilinear", "bicubic") and any(s < d for s, d in zip(size, x.shape[1:]))
    kwargs = {"antialias": antialias} if mode in ("bilinear", "bicubic") else {}
    out = F.interpolate(t, size=tuple(int(s) for s in size), mode=mode, align_corners=False, **kwargs)
    return out[0].numpy()


# ---------------------------------------------------------------- images, volumes, video


class ResizePadSquare(Transform):
    """Resize (C,H,W) so the long side is `size` (aspect kept), then pad to `size x size`.

    Video (T,C,H,W) is handled frame by frame. Padding is centred with `fill`.
    """

    def __init__(self, size: int, fill: float = 0.0):
        self.size = int(size)
        self.fill = fill

    def apply(self, x, rng):
        if x.ndim == 4:
            return np.stack([self.apply(frame, rng) for frame in x])
        _, h, w = x.shape
        scale = self.size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = _interpolate(x, (nh, nw), "bilinear") if (nh, nw) != (h, w) else x.astype(np.float32)
        return _pad_to(resized, (self.size, self.size), self.fill)


class PadSquare(Transform):
    """Pad (C,H,W) to a square of its long side, centred."""

    def __init__(self, fill: float = 0.0):
        self.fill = fill

    def apply(self, x, rng):
        side = max(x.shape[-2:])
        return _pad_to(x, (side, side), self.fill)


def _pad_to(x: np.ndarray, hw: tuple[int, int], fill: float) -> np.ndarray:
    dh, dw = hw[0] - x.shape[-2], hw[1] - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    pad = [(0, 0)] * (x.ndim - 2) + [(dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)]
    return np.pad(x, pad, constant_values=fill)


class RandomShiftFlip(RandomTransform):
    """Image augmentation: random translation by up to `max_shift` of each side and a
    horizontal flip with probability `flip_p`. The border that moves in repeats the edge
    pixels (`fill="edge"`, default; "reflect" mirrors, a number fills with that value).
    (C,H,W) or video (T,C,H,W), one draw per sample (a video's frames move together)."""

    def __init__(self, max_shift: float = 0.125, flip_p: float = 0.5, fill: str | float = "edge", seed: int = 0):
        super().__init__(seed)
        self.max_shift, self.flip_p, self.fill = float(max_shift), float(flip_p), fill

    def apply(self, x, rng):
        h, w = x.shape[-2:]
        py, px = int(h * self.max_shift), int(w * self.max_shift)
        dy, dx = int(rng.integers(-py, py + 1)), int(rng.integers(-px, px + 1))
        flip = rng.random() < self.flip_p
        pad = [(0, 0)] * (x.ndim - 2) + [(py, py), (px, px)]
        kw = {"mode": self.fill} if isinstance(self.fill, str) else {"constant_values": self.fill}
        padded = np.pad(x, pad, **kw)
        out = padded[..., py - dy:py - dy + h, px - dx:px - dx + w]
        return np.ascontiguousarray(out[..., ::-1] if flip else out)


class HUWindow(Transform):
    """Clip CT intensities to a (level, width) HU window and scale it to [0, 1]."""

    def __init__(self, level: float = -600.0, width: float = 1500.0):
        self.level, self.width = float(level), float(width)

    @classmethod
    def preset(cls, name: str) -> HUWindow:
        if name not in HU_WINDOWS:
            raise KeyError(f"unknown HU window {name!r}; known: {sorted(HU_WINDOWS)}")
        return cls(*HU_WINDOWS[name])

    def apply(self, x, rng):
        low = self.level - self.width / 2
        return ((np.clip(x.astype(np.float32), low, low + self.width) - low) / self.width).astype(np.float32)


class Resize3D(Transform):
    """Trilinear resize of a volume (C,D,H,W) to `size` = (D,H,W) (or one int for a cube)."""

    def __init__(self, size: int | Sequence[int]):
        self.size = [int(size)] * 3 if isinstance(size, int) else [int(s) for s in size]

    def apply(self, x, rng):
        if list(x.shape[1:]) == self.size:
            return x.astype(np.float32)
        return _interpolate(x, self.size, "trilinear")


# ---------------------------------------------------------------- signals (ECG, EEG)


class Resample(Transform):
    """Polyphase resampling along the last axis (`scipy.signal.resample_poly`)."""

    def __init__(self, orig_hz: float, target_hz: float):
        self.orig_hz, self.target_hz = float(orig_hz), float(target_hz)
        ratio = Fraction(self.target_hz).limit_denominator(10_000) / Fraction(self.orig_hz).limit_denominator(10_000)
        ratio = ratio.limit_denominator(1000)
        self._up, self._down = ratio.numerator, ratio.denominator

    def apply(self, x, rng):
        if self._up == self._down:
            return x.astype(np.float32)
        return sps.resample_poly(x.astype(np.float64), self._up, self._down, axis=-1).astype(np.float32)


class BandPass(Transform):
    """Zero-phase Butterworth filter (second-order sections, `sosfiltfilt`) along the last axis.

    `low` only -> high-pass, `high` only -> low-pass, both -> band-pass (Hz). The signal is
    mirror-padded by about three time constants of the slowest edge (at most its own
    length) so that edge transients stay out of short recordings.
    """

    def __init__(self, fs: float, low: float | None = 0.5, high: float | None = 40.0, order: int = 4):
        if low is None and high is None:
            raise ValueError("BandPass needs low and/or high")
        nyquist = fs / 2
        if (high is not None and high >= nyquist) or (low is not None and low <= 0):
            raise ValueError(f"BandPass: cut-offs ({low}, {high}) Hz invalid for fs={fs} Hz (Nyquist {nyquist})")
        self.fs, self.low, self.high, self.order = float(fs), low, high, order
        if low is not None and high is not None:
            self._sos = sps.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
        elif low is not None:
            self._sos = sps.butter(order, low, btype="highpass", fs=fs, output="sos")
        else:
            self._sos = sps.butter(order, high, btype="lowpass", fs=fs, output="sos")
        self._settle = int(3 * fs / (low if low is not None else high))

    def apply(self, x, rng):
        return _zero_phase(self._sos, x, self._settle)


class Notch(Transform):
    """Zero-phase notch at `freq` Hz (`scipy.signal.iirnotch` as second-order sections)."""

    def __init__(self, fs: float, freq: float = 50.0, quality: float = 30.0):
        if not 0 < freq < fs / 2:
            raise ValueError(f"Notch: {freq} Hz is not below Nyquist ({fs / 2} Hz)")
        self.fs, self.freq, self.quality = float(fs), float(freq), float(quality)
        b, a = sps.iirnotch(freq, quality, fs=fs)
        self._sos = sps.tf2sos(b, a)
        self._settle = int(3 * fs * quality / freq)  # ~3 time constants of the notch bandwidth

    def apply(self, x, rng):
        return _zero_phase(self._sos, x, self._settle)


def _zero_phase(sos: np.ndarray, x: np.ndarray, settle: int) -> np.ndarray:
    """Forward-backward filtering along the last axis with mirror padding of `settle` samples."""
    padlen = min(x.shape[-1] - 1, max(settle, 3 * (2 * len(sos) + 1)))
    return sps.sosfiltfilt(sos, x.astype(np.float64), axis=-1, padtype="even", padlen=padlen).astype(np.float32)


class SelectLeads(Transform):
    """Keep the rows (leads/channels) named `names`, in that order, given the card's names."""

    def __init__(self, names: Sequence[str], available: Sequence[str]):
        lookup = {n.upper(): i for i, n in enumerate(available)}
        missing = [n for n in names if n.upper() not in lookup]
        if missing:
            raise KeyError(f"lead(s) {missing} not available; leads: {list(available)}")
        self.names = list(names)
        self.indices = [lookup[n.upper()] for n in names]

    def apply(self, x, rng):
        if x.shape[0] < max(self.indices) + 1:
            raise ValueError(f"SelectLeads: sample has {x.shape[0]} rows, expected the card's leads")
        return x[self.indices]


def _crop_or_pad(x: np.ndarray, length: int, start: int) -> np.ndarray:
    n = x.shape[-1]
    if n < length:
        pad = [(0, 0)] * (x.ndim - 1) + [((length - n) // 2, length - n - (length - n) // 2)]
        return np.pad(x, pad)
    return x[..., start:start + length]


class CenterCrop1D(Transform):
    """Centre crop of `length` samples along the last axis (zero-padded if shorter)."""

    def __init__(self, length: int):
        self.length = int(length)

    def apply(self, x, rng):
        return _crop_or_pad(x, self.length, max(0, (x.shape[-1] - self.length) // 2))


class RandomCrop1D(RandomTransform):
    """Random crop of `length` samples along the last axis (zero-padded if shorter)."""

    def __init__(self, length: int, seed: int = 0):
        super().__init__(seed)
        self.length = int(length)

    def apply(self, x, rng):
        slack = x.shape[-1] - self.length
        start = int(rng.integers(0, slack + 1)) if slack > 0 else 0
        return _crop_or_pad(x, self.length, start)


# ---------------------------------------------------------------- EHR


class EHRTimeseries(Transform):
    """EHR (T,F) with NaN = missing -> (T, 2F): [standardised forward-filled values, mask].

    The mask is 1 where a value was observed. Values are forward-filled along time;
    what is still missing (before the first observation) becomes the feature mean,
    i.e. 0 after standardisation with `mean`/`std` (per feature, from the train split).
    Without statistics the values are only forward-filled and NaN -> 0.
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 with_mask: bool = True):
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.std = None if std is None else np.asarray(std, np.float32)
        self.with_mask = with_mask

    def apply(self, x, rng):
        x = x.astype(np.float32)
        observed = ~np.isnan(x)
        filled = forward_fill(x)
        if self.mean is not None:
            filled = np.where(np.isnan(filled), self.mean, filled)
            filled = (filled - self.mean) / np.where(self.std > 0, self.std, 1.0)
        filled = np.nan_to_num(filled, nan=0.0).astype(np.float32)
        return np.concatenate([filled, observed.astype(np.float32)], axis=-1) if self.with_mask else filled


def forward_fill(x: np.ndarray) -> np.ndarray:
    """Carry the last observed value forward along axis 0 (leading NaNs stay NaN)."""
    idx = np.where(~np.isnan(x), np.arange(len(x))[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = x[idx, np.arange(x.shape[1])[None, :]]
    seen = np.maximum.accumulate(~np.isnan(x), axis=0)
    return np.where(seen, out, np.nan)


class Tabular(Transform):
    """Standardise (F,) features with per-feature `mean`/`std`; NaN -> 0 (= the mean)."""

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None):
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.std = None if std is None else np.asarray(std, np.float32)

    def apply(self, x, rng):
        x = x.astype(np.float32)
        if self.mean is not None:
            x = (x - self.mean) / np.where(self.std > 0, self.std, 1.0)
        return np.nan_to_num(x, nan=0.0).astype(np.float32)


# ---------------------------------------------------------------- statistics and defaults


def compute_stats(values: Sequence[np.ndarray] | Any, kind: str, max_samples: int = 2000,
                  seed: int = 0) -> dict[str, list[float]]:
    """Mean/std for a field from (a seeded sample of) its values, e.g. a `FieldView` of train.

    Per statistics channel of the field's kind (`FieldKind.stats_rows`): image/volume/signal/eeg
    per channel or lead, video per colour channel, timeseries/tabular per feature; NaN ignored,
    uint8 scaled to [0, 1].
    """
    from climb.kinds import get_kind

    rows_of = get_kind(kind).stats_rows
    n = len(values)
    pick = np.random.default_rng(seed).choice(n, size=min(n, max_samples), replace=False)
    arrays = [np.asarray(values[int(i)]) for i in np.sort(pick)]
    scale = 1 / 255 if arrays[0].dtype == np.uint8 else 1.0
    stack = np.concatenate([rows_of(a) for a in arrays], axis=1).astype(np.float64) * scale
    return {"mean": np.nanmean(stack, axis=1).tolist(), "std": np.nanstd(stack, axis=1).tolist()}


def sampling_rate(meta: Mapping[str, Any]) -> float | None:
    """A field's sampling rate (Hz) from its card entry, under any of the names builders use."""
    for key in ("sampling_rate", "fs", "sample_rate"):
        if meta.get(key):
            return float(meta[key])
    return None


def lead_names(meta: Mapping[str, Any]) -> list[str] | None:
    """A field's lead / channel names from its card entry."""
    for key in ("lead_names", "channel_names", "leads", "channels"):
        if meta.get(key):
            return list(meta[key])
    return None


def default_transform(
    card: Mapping[str, Any],
    train: bool,
    *,
    stats: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    image_size: int | None = None,
    volume_size: int | Sequence[int] | None = None,
    sampling_rate: float | None = None,
    crop_seconds: float | None = None,
    leads: Sequence[str] | None = None,
    augment: bool | Mapping[str, Any] = False,
    seed: int = 0,
) -> FieldTransforms:
    """One transform per field of `card`: each field kind's `default_transform` (climb.kinds).

    image/video: to float ([0,1] for uint8), resize-and-pad to `image_size` (else pad to
    square), normalise with `stats[field]` (per-dataset mean/std) or ImageNet statistics.
    volume: HU window (the card's `hu_window` preset or (level, width), when the field's
    `units` is "HU"), else to float; `volume_size` -> trilinear resize.
    signal/eeg: optional lead selection (`leads`, by the card's lead_names), EEG band-pass
    0.5-45 Hz (+ notch at the card's `line_freq`), resampling to `sampling_rate`, random
    (train) / centre (eval) crop of `crop_seconds`, per-lead standardisation.
    timeseries: forward-fill + observation mask + standardisation (`EHRTimeseries`);
    tabular: standardisation, NaN -> 0. Graph, text and scalar fields are left as they are.
    `augment` (train only; kinds that are `augmentable`, image/video, else a ValueError): `RandomShiftFlip` after
    resizing, before normalisation. True = horizontal flip only (translations of +-1/8 of the
    side cut BreastMNIST validation AUROC from 0.92 to 0.75 in benchmarks/medmnist_reference.py);
    a mapping = `RandomShiftFlip` keyword arguments, e.g. {"max_shift": 0.1, "flip_p": 0.5}.
    """
    from climb.kinds import TransformOptions, get_kind

    kinds = {name: get_kind(meta["kind"]) for name, meta in card["fields"].items() if name != "label"}
    if augment and not any(k.augmentable for k in kinds.values()):
        names = sorted({k.name for k in kinds.values()})
        raise ValueError(f"augment=True: default augmentation exists for image/video fields only; "
                         f"{card.get('name', 'this dataset')} has {names}")
    options = TransformOptions(image_size=image_size, volume_size=volume_size, sampling_rate=sampling_rate,
                               crop_seconds=crop_seconds, leads=leads, augment=augment, seed=seed)
    stats = stats or {}
    per_field: dict[str, Callable] = {}
    for name, kind in kinds.items():
        meta = card["fields"][name]
        field_stats = stats.get(name) or ({"mean": meta["mean"], "std": meta["std"]} if "mean" in meta else None)
        transform = kind.default_transform(meta, train, field_stats, options)
        if transform is not None:
            per_field[name] = transform
    return FieldTransforms(per_field)


__all__ = [
    "BandPass", "CenterCrop1D", "Compose", "EHRTimeseries", "FieldTransforms", "HUWindow", "HU_WINDOWS",
    "IMAGENET_MEAN", "IMAGENET_STD", "Normalize", "Notch", "PadSquare", "RandomCrop1D", "RandomTransform",
    "RandomShiftFlip", "Resample", "Resize3D", "ResizePadSquare", "SelectLeads", "Standardize", "Tabular", "ToFloat",
    "Transform", "as_numpy", "compute_stats", "default_transform", "forward_fill", "lead_names", "sampling_rate",
]
