"""The report's figures (matplotlib, Agg backend): metric bars with CIs, ROC and reliability
curves from saved predictions, gains, few-shot curves. Every function writes one PNG and
returns its path.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from climb.safeio import atomic_write_bytes  # noqa: E402

STYLE = {
    "font.size": 12, "axes.titlesize": 14, "axes.titleweight": "bold", "axes.labelsize": 12,
    "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 10, "figure.titlesize": 16,
    "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True,
}
PALETTE = ["#3b75af", "#e1812c", "#3a923a", "#c03d3e", "#9372b2", "#845b53", "#d684bd", "#7f7f7f",
           "#a9aa35", "#2ebdcd"]
DPI = 100
MAX_LABEL = 48


@dataclass
class Estimate:
    """One bar: a label, a value and an optional interval."""

    label: str
    value: float
    low: float = math.nan
    high: float = math.nan
    color: str | None = None


@dataclass
class PredictionPanel:
    """Saved predictions of one model on one dataset, to draw in one subplot."""

    title: str
    y: np.ndarray
    score: np.ndarray
    task: str  # binary | multiclass | multilabel | regression


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    atomic_write_bytes(path, png.getvalue())  # never through a planted symlink
    return path


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _errors(bars: Sequence[Estimate]) -> np.ndarray | None:
    """Asymmetric error-bar lengths; zero where an interval is missing."""
    lows = np.array([b.value - b.low if math.isfinite(b.low) else 0.0 for b in bars])
    highs = np.array([b.high - b.value if math.isfinite(b.high) else 0.0 for b in bars])
    if not (lows.any() or highs.any()):
        return None
    return np.vstack([np.clip(lows, 0, None), np.clip(highs, 0, None)])


def metric_bars(bars: Sequence[Estimate], path: Path, title: str, xlabel: str,
                reference_lines: Sequence[tuple[str, float]] = (), zero_line: bool = False) -> Path:
    """Horizontal bars with 95% CI error bars (first bar on top), optional reference lines."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(11, max(2.6, 0.5 * len(bars) + 1.6)))
        ys = np.arange(len(bars))[::-1]
        values = np.array([b.value if math.isfinite(b.value) else 0.0 for b in bars])
        colors = [b.color or PALETTE[0] for b in bars]
        ax.barh(ys, values, color=colors, xerr=_errors(bars), capsize=4, height=0.65,
                error_kw={"elinewidth": 1.4, "ecolor": "#222"})
        ax.set_yticks(ys, [_short(b.label) for b in bars])
        for y, b in zip(ys, bars):
            text = f"{b.value:.3f}" if math.isfinite(b.value) else "n/a"
            anchor = max(b.high, b.value) if math.isfinite(b.high) else b.value
            ax.text((anchor if math.isfinite(anchor) else 0.0), y, f"  {text}", va="center", fontsize=10)
        for i, (name, value) in enumerate(reference_lines):
            ax.axvline(value, color=PALETTE[3 + i % 5], ls="--", lw=1.5, label=f"{name}: {value:.3f}")
        if zero_line:
            ax.axvline(0.0, color="#222", lw=1)
        if reference_lines:
            ax.legend(loc="lower right")
        _x_limits(ax, bars, reference_lines, zero_line)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
        return _save(fig, path)


def _x_limits(ax, bars: Sequence[Estimate], references: Sequence[tuple[str, float]], zero_line: bool) -> None:
    points = [v for b in bars for v in (b.value, b.low, b.high) if math.isfinite(v)]
    points += [v for _, v in references] + ([0.0] if zero_line else [])
    if not points:
        return
    lo, hi = min(points + [0.0]), max(points)
    span = (hi - lo) or 1.0
    ax.set_xlim(lo - (0.05 * span if lo < 0 else 0), hi + 0.18 * span)


def _grid(n: int, width: float = 5.2, height: float = 4.6):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def roc_panels(panels: Sequence[PredictionPanel], path: Path, title: str, class_names: Sequence[str] = ()) -> Path:
    """ROC curves: one curve for binary tasks; per-class one-vs-rest curves plus the macro average."""
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(panels))
        for ax, panel in zip(axes, panels):
            _roc_axes(ax, panel, class_names)
        fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, path)


def one_vs_rest(panel: PredictionPanel) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) indicator targets and scores for the per-class curves; binary gives K = 1."""
    y, s = panel.y, panel.score
    if panel.task == "binary":
        s = s[:, 1] if s.ndim == 2 and s.shape[1] == 2 else s.reshape(-1)
        return y.reshape(-1, 1).astype(int), s.reshape(-1, 1)
    if panel.task == "multiclass":
        return np.eye(s.shape[1], dtype=int)[y.reshape(-1).astype(int)], s
    return y.astype(int), s


def _roc_axes(ax, panel: PredictionPanel, class_names: Sequence[str]) -> None:
    targets, scores = one_vs_rest(panel)
    grid = np.linspace(0, 1, 201)
    tprs, aucs = [], []
    for k in range(targets.shape[1]):
        yk = targets[:, k]
        if yk.min() == yk.max():
            continue  # a class without positives or negatives has no ROC curve
        fpr, tpr, _ = roc_curve(yk, scores[:, k])
        auc = float(np.trapezoid(tpr, fpr))
        tprs.append(np.interp(grid, fpr, tpr))
        aucs.append(auc)
        if targets.shape[1] == 1:
            ax.plot(fpr, tpr, color=PALETTE[0], lw=2.2, label=f"AUROC {auc:.3f}")
        else:
            name = class_names[k] if k < len(class_names) else f"class {k}"
            ax.plot(fpr, tpr, color=PALETTE[k % len(PALETTE)], lw=1.2, alpha=0.8, label=f"{name} ({auc:.3f})")
    if len(aucs) > 1:
        ax.plot(grid, np.mean(tprs, axis=0), color="#111", lw=2.6, label=f"macro ({np.mean(aucs):.3f})")
    ax.plot([0, 1], [0, 1], color="#999", ls=":", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title(_short(panel.title), fontsize=12)
    if aucs:
        ax.legend(loc="lower right", fontsize=9)
    else:
        ax.text(0.5, 0.5, "one class only:\nno ROC curve", ha="center", va="center")


def reliability(panel: PredictionPanel, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty confidence bin: mean confidence, observed frequency (or accuracy), count.

    Binary and multilabel: predicted probability vs observed positive rate (multilabel pooled
    over labels); multiclass: top-label confidence vs accuracy.
    """
    y, s = panel.y, panel.score
    if panel.task == "multiclass":
        conf, hit = s.max(axis=1), (s.argmax(axis=1) == y.reshape(-1)).astype(float)
    else:
        targets, scores = one_vs_rest(panel)
        conf, hit = scores.reshape(-1), targets.reshape(-1).astype(float)
    bins = np.clip((conf * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    keep = count > 0
    mean_conf = np.bincount(bins, weights=conf, minlength=n_bins)[keep] / count[keep]
    freq = np.bincount(bins, weights=hit, minlength=n_bins)[keep] / count[keep]
    return mean_conf, freq, count[keep]


def calibration_panels(panels: Sequence[PredictionPanel], path: Path, title: str) -> Path:
    """Reliability diagrams (10 equal-width bins); marker area grows with the bin's sample count."""
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(panels))
        for ax, panel in zip(axes, panels):
            conf, freq, count = reliability(panel)
            ax.plot([0, 1], [0, 1], color="#999", ls=":", lw=1, label="perfect calibration")
            ax.plot(conf, freq, color=PALETTE[1], lw=2, marker="o", label="model")
            ax.scatter(conf, freq, s=20 + 180 * count / max(count.max(), 1), color=PALETTE[1], alpha=0.35)
            kind = "top-label confidence" if panel.task == "multiclass" else "predicted probability"
            ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel=kind,
                   ylabel="accuracy" if panel.task == "multiclass" else "observed frequency")
            ax.set_title(_short(panel.title), fontsize=12)
            ax.legend(loc="upper left", fontsize=9)
        fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, path)


def regression_panels(panels: Sequence[PredictionPanel], path: Path, title: str) -> Path:
    """Predicted vs true values with the identity line (the regression analogue of calibration)."""
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(panels))
        for ax, panel in zip(axes, panels):
            y, s = panel.y.reshape(-1).astype(float), panel.score.reshape(-1).astype(float)
            lo, hi = float(min(y.min(), s.min())), float(max(y.max(), s.max()))
            ax.scatter(y, s, s=12, alpha=0.5, color=PALETTE[0])
            ax.plot([lo, hi], [lo, hi], color="#999", ls=":", lw=1)
            ax.set(xlabel="true value", ylabel="predicted value")
            ax.set_title(_short(panel.title), fontsize=12)
        fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, path)


@dataclass
class Curve:
    """One line of a few-shot plot: metric vs k with an interval band."""

    label: str
    ks: list[int]
    values: list[float]
    lows: list[float]
    highs: list[float]


def fewshot_curves(curves: Sequence[Curve], path: Path, title: str, ylabel: str) -> Path:
    """Metric vs examples per class (log x axis), one line per init/mode, shaded 95% interval."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 5.5))
        for i, c in enumerate(curves):
            color = PALETTE[i % len(PALETTE)]
            ax.plot(c.ks, c.values, marker="o", lw=2, color=color, label=c.label)
            lows = np.array(c.lows, dtype=float)
            highs = np.array(c.highs, dtype=float)
            ok = np.isfinite(lows) & np.isfinite(highs)
            if ok.any():
                ax.fill_between(np.array(c.ks)[ok], lows[ok], highs[ok], color=color, alpha=0.18)
        ks = sorted({k for c in curves for k in c.ks})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set(xlabel="training examples per class (k)", ylabel=ylabel)
        ax.set_title(title)
        ax.legend(loc="best")
        fig.tight_layout()
        return _save(fig, path)


__all__ = ["Curve", "Estimate", "PALETTE", "PredictionPanel", "calibration_panels", "fewshot_curves",
           "metric_bars", "one_vs_rest", "regression_panels", "reliability", "roc_panels"]
