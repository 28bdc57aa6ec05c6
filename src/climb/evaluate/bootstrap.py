"""Bootstrap confidence intervals with patient-level resampling, window aggregation, paired tests.

Samples of one patient (windows of one recording, images of one study) are correlated,
so resampling samples understates the uncertainty. With `groups=patient_ids` each
bootstrap replicate draws patients with replacement and takes all their samples.
The unit is the sample's `patient_id`, not the `group_id` a builder may give to keep
other units apart in the splits (climb.prepare.splits); by default the two are the same.
Percentile intervals; replicates where a metric is undefined (e.g. one class only)
are dropped and counted in `n_failed`. Macro AUROC / AUPRC average over the classes that
have positives and negatives; a replicate that lost such a class (a rare label drawn
zero times) would average over other classes, so it counts as failed too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from climb.evaluate.metrics import METRICS, compute_metrics

MetricFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class CI:
    """Point estimate on the full set and a bootstrap percentile interval."""

    value: float
    low: float
    high: float
    n_boot: int
    n_failed: int = 0
    n: int | None = None  # samples evaluated

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True)
class PairedDifference:
    """metric(a) - metric(b) on the same samples, with a paired bootstrap CI."""

    difference: float
    low: float
    high: float
    n_boot: int
    n_failed: int = 0

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


class Resampler:
    """Seeded bootstrap index sets; with groups, whole groups are drawn with replacement."""

    def __init__(self, n: int, groups: Any = None, seed: int = 0):
        self.n, self.rng = n, np.random.default_rng(seed)
        if groups is None:
            self.counts = None
            return
        groups = np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} entries for {n} samples")
        _, codes = np.unique(groups, return_inverse=True)
        self.order = np.argsort(codes, kind="stable")
        self.counts = np.bincount(codes)
        self.starts = np.cumsum(self.counts) - self.counts

    @property
    def n_units(self) -> int:
        """Independent units: patients with groups, samples without."""
        return self.n if self.counts is None else len(self.counts)

    def draw(self) -> np.ndarray:
        if self.counts is None:
            return self.rng.integers(0, self.n, self.n)
        chosen = self.rng.integers(0, len(self.counts), len(self.counts))
        sizes = self.counts[chosen]
        offsets = np.repeat(self.starts[chosen] - (np.cumsum(sizes) - sizes), sizes)
        return self.order[np.arange(sizes.sum()) + offsets]


def _percentiles(values: list[float], alpha: float) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)



def _macro_over_classes(metric: str) -> bool:
    """Averaged over the classes with both labels present (declared in the metric registry)."""
    return metric in METRICS and METRICS[metric].macro_over_classes


def scorable_classes(task: object, y: np.ndarray, s: np.ndarray) -> np.ndarray | None:
    """Which classes have a positive and a negative in `y` (None when there is one score column)."""
    kind = getattr(task, "value", task)
    if kind == "multiclass":
        counts = np.bincount(y.astype(int), minlength=s.shape[1])
    elif kind == "multilabel":
        counts = y.sum(axis=0)
    else:
        return None
    return (counts > 0) & (counts < len(y))


def _metric_fn(metric: str | MetricFn, task: object, threshold: float, y_full: np.ndarray,
               s_full: np.ndarray) -> MetricFn:
    if callable(metric):
        return metric
    full = scorable_classes(task, y_full, s_full) if _macro_over_classes(metric) else None

    def fn(y: np.ndarray, s: np.ndarray) -> float:
        if full is not None and not np.array_equal(scorable_classes(task, y, s), full):
            return math.nan  # a macro average over other classes than the point estimate's
        return compute_metrics(task, y, s, threshold)[metric]

    return fn


def bootstrap_ci(
    metric: str | MetricFn, y_true: Any, y_score: Any, *, task: object = "binary", groups: Any = None,
    n_boot: int = 1000, seed: int = 0, alpha: float = 0.05, threshold: float = 0.5,
) -> CI:
    """Bootstrap CI of one metric (a `compute_metrics` name or a callable `f(y, score)`)."""
    y, s = np.asarray(y_true), np.asarray(y_score)
    fn = _metric_fn(metric, task, threshold, y, s)
    resampler = Resampler(len(y), groups, seed)
    values = [fn(y[idx], s[idx]) for idx in (resampler.draw() for _ in range(n_boot))]
    finite = [v for v in values if np.isfinite(v)]
    low, high = _percentiles(finite, alpha)
    return CI(float(fn(y, s)), low, high, n_boot, n_boot - len(finite), len(y))


def bootstrap_metrics(
    task: object, y_true: Any, y_score: Any, *, groups: Any = None, n_boot: int = 1000,
    seed: int = 0, alpha: float = 0.05, threshold: float = 0.5,
) -> dict[str, CI]:
    """Every `compute_metrics` metric with a CI from the same bootstrap replicates."""
    y, s = np.asarray(y_true), np.asarray(y_score)
    point = compute_metrics(task, y, s, threshold)
    resampler = Resampler(len(y), groups, seed)
    full = scorable_classes(task, y, s)
    samples: dict[str, list[float]] = {m: [] for m in point}
    for _ in range(n_boot):
        idx = resampler.draw()
        same_classes = full is None or np.array_equal(scorable_classes(task, y[idx], s), full)
        for m, v in compute_metrics(task, y[idx], s[idx], threshold).items():
            if np.isfinite(v) and (same_classes or not _macro_over_classes(m)):
                samples[m].append(v)
    out = {}
    for m, v in point.items():
        low, high = _percentiles(samples[m], alpha)
        out[m] = CI(float(v), low, high, n_boot, n_boot - len(samples[m]), len(y))
    return out


def paired_difference(
    y_true: Any, score_a: Any, score_b: Any, groups: Any = None, metric: str | MetricFn = "auroc", *,
    task: object = "binary", n_boot: int = 1000, seed: int = 0, alpha: float = 0.05, threshold: float = 0.5,
) -> PairedDifference:
    """metric(a) - metric(b) with a CI from replicates shared by both runs (same samples drawn)."""
    y, a, b = np.asarray(y_true), np.asarray(score_a), np.asarray(score_b)
    if not (len(y) == len(a) == len(b)):
        raise ValueError(f"paired comparison needs equal lengths: y {len(y)}, a {len(a)}, b {len(b)}")
    fn = _metric_fn(metric, task, threshold, y, a)
    resampler = Resampler(len(y), groups, seed)
    diffs = []
    for _ in range(n_boot):
        idx = resampler.draw()
        d = fn(y[idx], a[idx]) - fn(y[idx], b[idx])
        if np.isfinite(d):
            diffs.append(d)
    low, high = _percentiles(diffs, alpha)
    return PairedDifference(float(fn(y, a) - fn(y, b)), low, high, n_boot, n_boot - len(diffs))


def aggregate(scores: Any, groups: Any, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Window -> record scores: (sorted unique groups, per-group mean or max of the scores)."""
    if how not in ("mean", "max"):
        raise ValueError(f"how must be 'mean' or 'max', got {how!r}")
    s, g = np.asarray(scores, dtype=np.float64), np.asarray(groups)
    if len(s) != len(g):
        raise ValueError(f"{len(s)} scores but {len(g)} groups")
    keys, codes = np.unique(g, return_inverse=True)
    flat = s.reshape(len(s), -1)
    if how == "mean":
        out = np.zeros((len(keys), flat.shape[1]))
        np.add.at(out, codes, flat)
        out /= np.bincount(codes)[:, None]
    else:
        out = np.full((len(keys), flat.shape[1]), -np.inf)
        np.maximum.at(out, codes, flat)
    return keys, out.reshape((len(keys), *s.shape[1:]))


def aggregate_labels(labels: Any, groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-group label (sorted unique groups); raises if a group's samples disagree."""
    y, g = np.asarray(labels), np.asarray(groups)
    keys, first, codes = np.unique(g, return_index=True, return_inverse=True)
    per_group = y[first]
    flat_y, flat_ref = y.reshape(len(y), -1), per_group.reshape(len(keys), -1)
    bad = np.any(flat_y != flat_ref[codes], axis=1)
    if bad.any():
        raise ValueError(f"group {g[np.flatnonzero(bad)[0]]!r} has samples with different labels")
    return keys, per_group
