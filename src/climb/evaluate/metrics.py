"""Classification and regression metrics as one registry, plain numpy (fast enough to bootstrap).

`compute_metrics(task, y_true, y_score, threshold)` returns a `MetricReport` (a dict
metric -> float, plus `.notes`) with every registered metric of the task type:

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
    brier               Brier score: mean squared error of the probabilities (multiclass:
                        summed over classes; multilabel: mean over labels); lower is better
    mae, rmse, r2       regression

Each metric is a `Metric` in `METRICS` (name, label, direction, the task types it applies
to, the function). One metric per task type is its declared headline (`headline(task)`:
macro AUROC for classification, MAE for regression): model selection, the bootstrap's
paired comparisons, the report and the CLI all use it. Adding a metric is one
`register_metric(Metric(...))` call here (see docs/architecture.md).

Shapes: binary y_score (N,) positive-class probability (or (N, 2)); multiclass (N, K)
probabilities; multilabel y_true and y_score (N, K); regression (N,).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

import numpy as np
from scipy.stats import rankdata

CLASSIFICATION = ("binary", "multiclass", "multilabel")
TASKS = (*CLASSIFICATION, "regression")
ECE_BINS = 15


class MetricReport(dict):
    """Metric name -> value, with `notes` on anything skipped (e.g. a class absent from y_true)."""

    def __init__(self, values: dict[str, float], notes: list[str] | None = None):
        super().__init__(values)
        self.notes: list[str] = notes or []


def _task_name(task: object) -> str:
    name = getattr(task, "value", task)
    if name not in TASKS:
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


# ---------------------------------------------------------------- one evaluation


class Scored:
    """Validated labels and scores of one task, with the intermediates several metrics share (computed once)."""

    def __init__(self, task: str, y: np.ndarray, s: np.ndarray, threshold: float):
        self.task, self.y, self.s, self.threshold = task, y, s, threshold

    @cached_property
    def confusion(self) -> tuple[int, int, int, int]:
        """Binary (tp, tn, fp, fn) at the threshold."""
        return _confusion(self.y, self.s >= self.threshold)

    @cached_property
    def argmax(self) -> np.ndarray:
        return self.s.argmax(axis=1)

    @cached_property
    def ovr(self) -> dict[str, Any]:
        """One-vs-rest per class (multiclass: of the argmax; multilabel: at the threshold)."""
        if self.task == "multiclass":
            k = self.s.shape[1]
            return _one_vs_rest(np.eye(k, dtype=np.int64)[self.y], self.s, np.eye(k, dtype=bool)[self.argmax])
        return _one_vs_rest(self.y, self.s, self.s >= self.threshold)

    @property
    def notes(self) -> list[str]:
        if self.task == "binary":
            return [] if 0 < self.y.sum() < len(self.y) else ["only one class in y_true: AUROC undefined"]
        if self.task == "regression":
            return [] if float(((self.y - self.y.mean()) ** 2).sum()) > 0 else ["constant y_true: R2 undefined"]
        return list(self.ovr["notes"])


def _one_vs_rest(y_onehot: np.ndarray, s: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Macro AUROC/AUPRC over columns with both labels present; per-class threshold metrics."""
    aurocs, auprcs, sens, spec, f1s, notes = [], [], [], [], [], []
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
        "per_label": (sens, spec), "notes": notes,
    }


def _nanmean(values: list[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmean(arr)) if np.any(np.isfinite(arr)) else math.nan


def _tp_fp_fn(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    tp, _, fp, fn = _confusion(y, pred)
    return tp, fp, fn


# ---------------------------------------------------------------- the metrics


def _auroc(e: Scored) -> float:
    return binary_auroc(e.y, e.s) if e.task == "binary" else e.ovr["auroc"]


def _auprc(e: Scored) -> float:
    return binary_auprc(e.y, e.s) if e.task == "binary" else e.ovr["auprc"]


def _accuracy(e: Scored) -> float:
    if e.task == "binary":
        tp, tn, _, _ = e.confusion
        return (tp + tn) / len(e.y)
    if e.task == "multiclass":
        return float(np.mean(e.argmax == e.y))
    return float(np.mean((e.s >= e.threshold) == e.y.astype(bool)))


def _balanced_accuracy(e: Scored) -> float:
    if e.task == "binary":
        return float(np.nanmean([_sensitivity(e), _specificity(e)]))
    if e.task == "multiclass":
        return float(np.mean([np.mean(e.argmax[e.y == k] == k) for k in np.unique(e.y)]))
    return _nanmean([_nanmean([a, b]) for a, b in zip(*e.ovr["per_label"])])


def _f1_macro(e: Scored) -> float:
    if e.task == "binary":
        tp, tn, fp, fn = e.confusion
        return (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2
    if e.task == "multiclass":
        y, pred = e.y, e.argmax
        return float(np.mean([_f1(*_tp_fp_fn(y == k, pred == k)) for k in range(e.s.shape[1])
                              if (y == k).any() or (pred == k).any()]))
    return e.ovr["f1_macro"]


def _sensitivity(e: Scored) -> float:
    if e.task == "binary":
        tp, _, _, fn = e.confusion
        return _ratio(tp, tp + fn)
    return e.ovr["sensitivity"]


def _specificity(e: Scored) -> float:
    if e.task == "binary":
        _, tn, fp, _ = e.confusion
        return _ratio(tn, tn + fp)
    return e.ovr["specificity"]


def _ece(e: Scored) -> float:
    if e.task == "binary":
        return binary_ece(e.y, e.s)
    if e.task == "multiclass":
        return top_label_ece(e.s.max(axis=1), e.argmax == e.y)
    return float(np.mean([binary_ece(e.y[:, k], e.s[:, k]) for k in range(e.y.shape[1])]))


def _mae(e: Scored) -> float:
    return float(np.abs(e.s - e.y).mean())


def _rmse(e: Scored) -> float:
    return float(np.sqrt(((e.s - e.y) ** 2).mean()))


def _r2(e: Scored) -> float:
    ss_tot = float(((e.y - e.y.mean()) ** 2).sum())
    return 1 - float(((e.s - e.y) ** 2).sum()) / ss_tot if ss_tot > 0 else math.nan


def _brier(e: Scored) -> float:
    """Mean squared error of the probabilities (Brier 1950): binary (p - y)^2; multiclass the sum over
    classes of (p_k - [y = k])^2 (range 0-2); multilabel the mean over labels of the binary score."""
    if e.task == "multiclass":
        onehot = np.eye(e.s.shape[1])[e.y]
        return float(((e.s - onehot) ** 2).sum(axis=1).mean())
    return float(((e.s - e.y) ** 2).mean())


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Metric:
    """One metric: its name in results, display label, direction, task types and function."""

    name: str
    label: str
    compute: Callable[[Scored], float]
    tasks: tuple[str, ...] = CLASSIFICATION
    higher_is_better: bool = True
    headline_for: tuple[str, ...] = ()  # the task types whose headline metric this is
    macro_over_classes: bool = False  # averaged over the classes with both labels present (bootstrap)

    def oriented(self, value: float) -> float:
        """`value` with higher = better (for model selection over several tasks)."""
        return value if self.higher_is_better else -value


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add `metric` to the registry (every task type keeps at most one headline)."""
    for task in metric.headline_for:
        taken = [m.name for m in METRICS.values() if task in m.headline_for and m.name != metric.name]
        if taken:
            raise ValueError(f"task type {task!r} already has headline metric {taken[0]!r}")
    METRICS[metric.name] = metric
    return metric


for _metric in (
    Metric("auroc", "AUROC", _auroc, headline_for=CLASSIFICATION, macro_over_classes=True),
    Metric("auprc", "AUPRC", _auprc, macro_over_classes=True),
    Metric("accuracy", "accuracy", _accuracy),
    Metric("balanced_accuracy", "balanced acc.", _balanced_accuracy),
    Metric("f1_macro", "macro F1", _f1_macro),
    Metric("sensitivity", "sensitivity", _sensitivity),
    Metric("specificity", "specificity", _specificity),
    Metric("ece", "ECE", _ece, higher_is_better=False),
    Metric("brier", "Brier", _brier, higher_is_better=False),
    Metric("mae", "MAE", _mae, ("regression",), higher_is_better=False, headline_for=("regression",)),
    Metric("rmse", "RMSE", _rmse, ("regression",), higher_is_better=False),
    Metric("r2", "R²", _r2, ("regression",)),
):
    register_metric(_metric)


def metrics_for(task: object) -> list[Metric]:
    """The registered metrics of a task type, in registration order."""
    name = _task_name(task)
    return [m for m in METRICS.values() if name in m.tasks]


def headline(task: object) -> Metric:
    """The declared headline metric of a task type."""
    name = _task_name(task)
    return next(m for m in METRICS.values() if name in m.headline_for)


def metric_label(name: str) -> str:
    """Display label of a metric name (the name itself when not registered)."""
    return METRICS[name].label if name in METRICS else name


def compute_metrics(task: object, y_true: Any, y_score: Any, threshold: float = 0.5) -> MetricReport:
    """All registered metrics of one task on one set of predictions (see module docstring)."""
    task = _task_name(task)
    y, s = _validate(task, y_true, y_score)
    scored = Scored(task, y, s, threshold)
    return MetricReport({m.name: m.compute(scored) for m in metrics_for(task)}, scored.notes)


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


# ---------------------------------------------------------------- tidy results


@dataclass
class ResultRow:
    """One number of a benchmark table, in long (tidy) form.

    Besides dataset / split / metric, a row says what produced it in typed fields (the
    `SETTING` columns), never in a string to parse: the protocol, the dataset(s) the model
    was trained on (`trained_on`; a row whose `dataset` is not among them is an external /
    cross-site test), the data budget (`shots` per class, None = all), the initialisation
    (`init`: scratch or the label of a pretrained encoder), the `mode` (finetune: all
    weights trained; linear_probe: the encoder frozen), and for fusion the strategy
    (`fusion`, "unimodal" for a one-modality baseline), the `modalities` used and the one
    `dropped` at test time.
    """

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
    task: str | None = None  # binary / multiclass / multilabel / regression: picks the headline metric
    trained_on: str | None = None  # "+"-joined training datasets
    shots: int | None = None
    init: str | None = None
    mode: str | None = None
    fusion: str | None = None
    modalities: str | None = None
    dropped: str | None = None


# the columns that say what produced a row (with dataset, split, encoder and seed: its identity)
SETTING = ("protocol", "trained_on", "shots", "init", "mode", "fusion", "modalities", "dropped")
ROW_FIELDS = tuple(f.name for f in fields(ResultRow))


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
    """A pandas DataFrame with one row per result, the `ResultRow` columns in order (`shots` as Int64)."""
    import pandas as pd

    records = [asdict(r) if isinstance(r, ResultRow) else dict(r) for r in rows]
    frame = pd.DataFrame.from_records(records, columns=list(ROW_FIELDS))
    frame["shots"] = frame["shots"].astype("Int64")
    return frame
