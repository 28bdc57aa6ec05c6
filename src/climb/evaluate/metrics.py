"""Classification and regression metrics, plain numpy (fast enough to bootstrap).

`compute_metrics(task, y_true, y_score, threshold)` returns a `MetricReport` (a dict
metric -> float, plus `.notes`):

    auroc, auprc        macro over classes (one-vs-rest for multiclass); a class with no
                        positive or no negative in y_true is skipped, with a note
    accuracy            binary: at threshold; multiclass: argmax; multilabel: mean per-label
    balanced_accuracy   mean per-class recall (multilabel: mean over labels)
    f1_macro            macro F1 over classes (binary: both classes; multilabel: labels)
    sensitivity, specificity   macro one-vs-rest; binary / multilabel: at `threshold` on the
                        class score; multiclass: of the argmax prediction (sensitivity =
                        mean per-class recall), so `threshold` does not apply
    ece                 expected calibration error, 15 equal-width bins on the top-label
                        confidence (multilabel: mean over labels)
    mae, rmse, r2       regression

Shapes: binary y_score (N,) positive-class probability (or (N, 2)); multiclass (N, K)
probabilities; multilabel y_true and y_score (N, K); regression (N,).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from scipy.stats import rankdata

CLASSIFICATION = ("binary", "multiclass", "multilabel")
ECE_BINS = 15


class MetricReport(dict):
    """Metric name -> value, with `notes` on anything skipped (e.g. a class absent from y_true)."""

    def __init__(self, values: dict[str, float], notes: list[str] | None = None):
        super().__init__(values)
        self.notes: list[str] = notes or []


def _task_name(task: object) -> str:
    name = getattr(task, "value", task)
    if name not in (*CLASSIFICATION, "regression"):
        raise ValueError(f"unsupported task {task!r}")
    return str(name)


# ---------------------------------------------------------------- binary building blocks


def binary_auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie-averaged ranks); NaN if one class only."""
    y = y.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_auprc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision, sum over thresholds of (R_k - R_k-1) * P_k (sklearn's definition)."""
    y = y.astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return math.nan
    order = np.argsort(-score, kind="mergesort")
    s, hits = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(hits)[last_of_tie]
    predicted = last_of_tie + 1
    precision, recall = tp / predicted, tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _confusion(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    y, pred = y.astype(bool), pred.astype(bool)
    return int((y & pred).sum()), int((~y & ~pred).sum()), int((~y & pred).sum()), int((y & ~pred).sum())


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _f1(tp: int, fp: int, fn: int) -> float:
    return _ratio(2 * tp, 2 * tp + fp + fn) if (tp + fp + fn) else 0.0


def top_label_ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """sum_b |B_b|/N * |acc(B_b) - conf(B_b)| over equal-width confidence bins (Guo et al. 2017)."""
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(bins, weights=correct.astype(float), minlength=n_bins)
    return float(np.abs(acc_sum - conf_sum).sum() / len(confidence))


def binary_ece(y: np.ndarray, p: np.ndarray) -> float:
    """Top-label ECE of a binary probability: confidence max(p, 1-p), correct = (p >= .5) == y."""
    pred = p >= 0.5
    return top_label_ece(np.where(pred, p, 1 - p), pred == y.astype(bool))


# ---------------------------------------------------------------- per task


def compute_metrics(task: object, y_true: Any, y_score: Any, threshold: float = 0.5) -> MetricReport:
    """All metrics of one task on one set of predictions (see module docstring)."""
    task = _task_name(task)
    y, s = _validate(task, y_true, y_score)
    if task == "regression":
        return _regression(y, s)
    if task == "binary":
        return _binary(y, s, threshold)
    if task == "multiclass":
        return _multiclass(y, s, threshold)
    return _multilabel(y, s, threshold)


def _validate(task: str, y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if task == "binary" and s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} samples but y_score has {len(s)}")
    if len(y) == 0:
        raise ValueError("no samples to evaluate")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"y_score contains {int((~np.isfinite(s)).sum())} NaN/inf values")
    expected_ndim = {"binary": (1, 1), "multiclass": (1, 2), "multilabel": (2, 2), "regression": (1, 1)}[task]
    y = y.reshape(-1) if task in ("binary", "multiclass", "regression") and y.ndim == 2 and y.shape[1] == 1 else y
    s = s.reshape(-1) if task in ("binary", "regression") and s.ndim == 2 and s.shape[1] == 1 else s
    if (y.ndim, s.ndim) != expected_ndim:
        raise ValueError(f"{task}: expected y_true/y_score with {expected_ndim} dims, got {y.shape} and {s.shape}")
    if task == "multilabel" and y.shape != s.shape:
        raise ValueError(f"multilabel: y_true {y.shape} and y_score {s.shape} differ")
    if not np.all(np.isfinite(y.astype(np.float64))):
        raise ValueError(f"y_true contains {int((~np.isfinite(y.astype(np.float64))).sum())} NaN/inf values")
    if task in ("binary", "multilabel") and not np.isin(y, (0, 1)).all():
        raise ValueError(f"{task}: y_true must be 0/1, found values {np.unique(y)[:5].tolist()}")
    if task == "multiclass" and (y.min() < 0 or y.max() >= s.shape[1]):
        raise ValueError(f"multiclass: labels must lie in [0, {s.shape[1]}), got [{y.min()}, {y.max()}]")
    return (y.astype(np.float64) if task == "regression" else y.astype(np.int64)), s


def _binary(y: np.ndarray, p: np.ndarray, threshold: float) -> MetricReport:
    notes = [] if 0 < y.sum() < len(y) else ["only one class in y_true: AUROC undefined"]
    tp, tn, fp, fn = _confusion(y, p >= threshold)
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    values = {
        "auroc": binary_auroc(y, p), "auprc": binary_auprc(y, p),
        "accuracy": (tp + tn) / len(y), "balanced_accuracy": float(np.nanmean([sens, spec])),
        "f1_macro": (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2,
        "sensitivity": sens, "specificity": spec, "ece": binary_ece(y, p),
    }
    return MetricReport(values, notes)


def _one_vs_rest(y_onehot: np.ndarray, s: np.ndarray, pred: np.ndarray, notes: list[str]) -> dict[str, float]:
    """Macro AUROC/AUPRC over columns with both labels present; per-class threshold metrics."""
    aurocs, auprcs, sens, spec, f1s = [], [], [], [], []
    for k in range(y_onehot.shape[1]):
        yk = y_onehot[:, k]
        if 0 < yk.sum() < len(yk):
            aurocs.append(binary_auroc(yk, s[:, k]))
            auprcs.append(binary_auprc(yk, s[:, k]))
        else:
            notes.append(f"class {k}: {'no positive' if yk.sum() == 0 else 'no negative'} in y_true, skipped for AUROC/AUPRC")
        tp, tn, fp, fn = _confusion(yk, pred[:, k])
        sens.append(_ratio(tp, tp + fn))
        spec.append(_ratio(tn, tn + fp))
        f1s.append(_f1(tp, fp, fn))
    return {
        "auroc": float(np.mean(aurocs)) if aurocs else math.nan,
        "auprc": float(np.mean(auprcs)) if auprcs else math.nan,
        "sensitivity": _nanmean(sens), "specificity": _nanmean(spec), "f1_macro": float(np.mean(f1s)),
    }


def _nanmean(values: list[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmean(arr)) if np.any(np.isfinite(arr)) else math.nan


def _multiclass(y: np.ndarray, s: np.ndarray, threshold: float) -> MetricReport:
    n_classes, notes = s.shape[1], []
    onehot = np.eye(n_classes, dtype=np.int64)[y]
    argmax = s.argmax(axis=1)
    ovr = _one_vs_rest(onehot, s, np.eye(n_classes, dtype=bool)[argmax], notes)
    present = np.unique(y)
    recalls = [np.mean(argmax[y == k] == k) for k in present]
    f1s = [_f1(*_tp_fp_fn(y == k, argmax == k)) for k in range(n_classes) if (y == k).any() or (argmax == k).any()]
    values = {
        "auroc": ovr["auroc"], "auprc": ovr["auprc"],
        "accuracy": float(np.mean(argmax == y)), "balanced_accuracy": float(np.mean(recalls)),
        "f1_macro": float(np.mean(f1s)), "sensitivity": ovr["sensitivity"], "specificity": ovr["specificity"],
        "ece": top_label_ece(s.max(axis=1), argmax == y),
    }
    return MetricReport(values, notes)


def _tp_fp_fn(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    tp, _, fp, fn = _confusion(y, pred)
    return tp, fp, fn


def _multilabel(y: np.ndarray, s: np.ndarray, threshold: float) -> MetricReport:
    notes: list[str] = []
    pred = s >= threshold
    ovr = _one_vs_rest(y, s, pred, notes)
    per_label_bacc = [_nanmean([a, b]) for a, b in zip(*_per_label_sens_spec(y, pred))]
    values = {
        "auroc": ovr["auroc"], "auprc": ovr["auprc"],
        "accuracy": float(np.mean(pred == y.astype(bool))), "balanced_accuracy": _nanmean(per_label_bacc),
        "f1_macro": ovr["f1_macro"], "sensitivity": ovr["sensitivity"], "specificity": ovr["specificity"],
        "ece": float(np.mean([binary_ece(y[:, k], s[:, k]) for k in range(y.shape[1])])),
    }
    return MetricReport(values, notes)


def _per_label_sens_spec(y: np.ndarray, pred: np.ndarray) -> tuple[list[float], list[float]]:
    sens, spec = [], []
    for k in range(y.shape[1]):
        tp, tn, fp, fn = _confusion(y[:, k], pred[:, k])
        sens.append(_ratio(tp, tp + fn))
        spec.append(_ratio(tn, tn + fp))
    return sens, spec


def _regression(y: np.ndarray, s: np.ndarray) -> MetricReport:
    err = s - y
    ss_tot = float(((y - y.mean()) ** 2).sum())
    values = {
        "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean())),
        "r2": 1 - float((err**2).sum()) / ss_tot if ss_tot > 0 else math.nan,
    }
    return MetricReport(values, [] if ss_tot > 0 else ["constant y_true: R2 undefined"])


# ---------------------------------------------------------------- tidy results


@dataclass
class ResultRow:
    """One number of a benchmark table, in long (tidy) form."""

    dataset: str
    split: str
    protocol: str
    encoder: str
    seed: int
    metric: str
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int | None = None
    notes: list[str] = field(default_factory=list)


def result_rows(estimates: dict[str, Any], **keys: Any) -> list[ResultRow]:
    """Rows from `{metric: value}` or `{metric: CI}` (anything with value/low/high), plus shared keys."""
    rows = []
    for metric, est in estimates.items():
        if hasattr(est, "value"):
            rows.append(ResultRow(metric=metric, value=est.value, ci_low=est.low, ci_high=est.high,
                                  n=getattr(est, "n", None), **keys))
        else:
            rows.append(ResultRow(metric=metric, value=float(est), **keys))
    return rows


def to_frame(rows: Iterable[ResultRow | dict[str, Any]]):
    """A pandas DataFrame with one row per (dataset, split, protocol, encoder, seed, metric)."""
    import pandas as pd

    columns = [f.name for f in fields(ResultRow)]
    records = [asdict(r) if isinstance(r, ResultRow) else dict(r) for r in rows]
    return pd.DataFrame.from_records(records, columns=columns)
