"""Reading result rows: what produced a row (its typed setting columns), headlines, seed summaries.

Shared by the report's summary matrix (`summary.py`) and its detailed sections (`sections.py`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from climb.evaluate.metrics import METRICS as METRIC_REGISTRY
from climb.evaluate.metrics import TASKS, headline

#: protocols whose rows are paired differences `A − B` on the same test samples (written by the runner)
PAIRED_PROTOCOLS = ("multitask-vs-single",)


def is_leak(notes: Iterable[str]) -> bool:
    return any("label leak" in n.lower() for n in notes)


def setting_label(row: pd.Series) -> str:
    """A readable label of what produced a row, from its typed columns (never parsed back)."""
    parts = [str(row["protocol"])]
    if row.get("fusion"):
        parts.append(f"unimodal {row['modalities']}" if row["fusion"] == "unimodal" else str(row["fusion"]))
    if pd.notna(row.get("shots")):
        parts.append(f"k={int(row['shots'])}")
    if row.get("protocol") in ("fewshot", "fusion") or (row.get("init") not in ("", "scratch", None)):
        parts += [str(row[c]) for c in ("init", "mode") if row.get(c)]
    if row.get("dropped"):
        parts.append(f"without {row['dropped']}")
    trained_on = str(row.get("trained_on") or "")
    if trained_on and row["dataset"] not in trained_on.split("+"):
        parts.append(f"trained on {trained_on}")
    return " · ".join(parts)


def is_budgeted(frame: pd.DataFrame) -> pd.Series:
    """Rows trained on k examples per class (few-shot settings)."""
    return frame["shots"].notna()


def is_dropped(frame: pd.DataFrame) -> pd.Series:
    """Rows tested with a modality missing."""
    return frame["dropped"].ne("")


def headline_metric(frame: pd.DataFrame) -> str:
    """The registry's headline metric of the rows' task type (AUROC, MAE for regression), else the first metric."""
    present = set(frame["metric"])
    tasks = [t for t in frame.get("task", pd.Series(dtype=object)).dropna().unique() if t in TASKS]
    candidates = [headline(t).name for t in tasks] + [m.name for m in METRIC_REGISTRY.values() if m.headline_for]
    return next((m for m in candidates if m in present), str(frame["metric"].iloc[0]))


def seed_text(seed: object) -> str:
    """A seed (or a count) as an integer; `-` when missing."""
    try:
        value = float(seed)
    except (TypeError, ValueError):
        return str(seed)
    return str(int(value)) if math.isfinite(value) else "-"


def seed_summary(rows: pd.DataFrame) -> tuple[float, float, float, str]:
    """Mean over seeds with a 95% t-interval (>= 2 seeds), else the single run's bootstrap CI."""
    values = rows["value"].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan, "no value"
    if len(values) == 1:
        row = rows[np.isfinite(rows["value"].to_numpy(dtype=float))].iloc[0]
        return float(row.value), float(row.ci_low), float(row.ci_high), "bootstrap 95% CI"
    mean, sem = float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))
    half = float(stats.t.ppf(0.975, len(values) - 1) * sem)
    return mean, mean - half, mean + half, f"mean of {len(values)} seeds, 95% t-interval over seeds"


def is_paired(frame: pd.DataFrame) -> pd.Series:
    """Rows that are paired differences between two protocols (value = A − B, paired bootstrap CI)."""
    return frame["protocol"].isin(PAIRED_PROTOCOLS)


__all__ = ["PAIRED_PROTOCOLS", "headline_metric", "is_budgeted", "is_dropped", "is_leak", "is_paired", "seed_summary",
           "seed_text", "setting_label"]
