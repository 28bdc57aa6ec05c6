"""Summaries of the catalog the way the CLIMB paper describes its collection.

Counts of datasets per modality family, clinical domain, access level and task type,
as pandas tables, and a bar-chart figure of the same distribution.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path

import pandas as pd

from climb.catalog.schema import DatasetEntry
from climb.safeio import atomic_write_bytes

#: Readable names for the modality families in figures.
FAMILY_NAMES: dict[str, str] = {
    "1d": "1D (EHR, EEG, ECG, gait, omics)",
    "2d": "2D imaging",
    "3d": "3D volumes / video",
    "graph": "graphs (brain, molecules)",
    "multimodal": "multimodal",
}

#: The attributes summarised, with the column title used in tables and figures.
DIMENSIONS: dict[str, str] = {
    "family": "Modality family",
    "domain": "Clinical domain",
    "access": "Access",
    "task": "Task",
}


def _value(entry: DatasetEntry, dimension: str) -> str:
    value = getattr(entry, dimension)
    return value.value if isinstance(value, Enum) else str(value)


def entries_frame(entries: Iterable[DatasetEntry]) -> pd.DataFrame:
    """One row per entry with the summarised attributes plus modality and `in_climb`."""
    rows = [
        {"id": e.id, "modality": e.modality, "in_climb": e.in_climb, **{d: _value(e, d) for d in DIMENSIONS}}
        for e in entries
    ]
    return pd.DataFrame(rows, columns=["id", "modality", "in_climb", *DIMENSIONS])


def counts(entries: Iterable[DatasetEntry], dimension: str) -> pd.DataFrame:
    """Datasets per value of `dimension` (columns: value, datasets, share), largest first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    frame = entries_frame(entries)
    table = frame.groupby(dimension).size().rename("datasets").reset_index()
    table = table.sort_values(["datasets", dimension], ascending=[False, True], ignore_index=True)
    table = table.rename(columns={dimension: "value"})
    total = int(table["datasets"].sum())
    table["share"] = table["datasets"] / total if total else 0.0
    return table


def summarize(entries: Sequence[DatasetEntry]) -> dict[str, pd.DataFrame]:
    """Count tables for every dimension in `DIMENSIONS`."""
    return {dimension: counts(entries, dimension) for dimension in DIMENSIONS}


def summary_dict(entries: Sequence[DatasetEntry]) -> dict[str, dict[str, int]]:
    """The same counts as plain dicts (value -> number of datasets), for JSON output."""
    return {
        dimension: {str(row.value): int(row.datasets) for row in table.itertuples()}
        for dimension, table in summarize(entries).items()
    }


def plot_distribution(entries: Sequence[DatasetEntry], path: str | Path, title: str | None = None) -> Path:
    """Draw the per-dimension dataset counts as horizontal bar charts into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = summarize(entries)
    heights = [max(2.5, 0.38 * len(t) + 1.2) for t in tables.values()]
    fig, axes = plt.subplots(2, 2, figsize=(14, max(heights[0], heights[1]) + max(heights[2], heights[3])),
                             gridspec_kw={"height_ratios": [max(heights[:2]), max(heights[2:])]})
    for ax, (dimension, table) in zip(axes.flat, tables.items()):
        if dimension == "family":
            table = table.assign(value=table["value"].map(lambda v: FAMILY_NAMES.get(v, v)))
        _bar_chart(ax, table, DIMENSIONS[dimension])
    n_climb = sum(e.in_climb for e in entries)
    fig.suptitle(title or f"climb catalog: {len(entries)} datasets ({n_climb} from the CLIMB collection)",
                 fontsize=15, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(out, png.getvalue())  # never through a planted symlink
    return out


def _bar_chart(ax, table: pd.DataFrame, title: str) -> None:
    ordered = table.iloc[::-1]  # largest on top
    bars = ax.barh(ordered["value"], ordered["datasets"], color="#3b75af")
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_title(f"Datasets by {title.lower()}", fontsize=12, fontweight="bold")
    ax.set_xlabel("number of datasets")
    ax.tick_params(axis="y", labelsize=10)
    ax.set_xlim(0, max(ordered["datasets"].max() * 1.15, 1))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


#: Entry attributes that `filter_entries` accepts, matched as case-insensitive substrings.
FILTER_FIELDS = ("modality", "family", "domain", "access", "task")


def filter_entries(entries: Iterable[DatasetEntry], **criteria: str | None) -> list[DatasetEntry]:
    """Entries whose attributes contain every given substring (case-insensitive); None means any."""
    unknown = set(criteria) - set(FILTER_FIELDS)
    if unknown:
        raise ValueError(f"unknown filter field(s): {', '.join(sorted(unknown))}")
    wanted = {k: v.lower() for k, v in criteria.items() if v}
    return [e for e in entries if all(v in _value(e, k).lower() for k, v in wanted.items())]


def local_status(dataset_id: str, prepared_names: Sequence[str] = ()) -> str:
    """`prepared` (a card.json in the prepared store under the id or one of `prepared_names`),
    `downloaded` (raw dir marked complete) or `-`."""
    from climb import config

    if any((config.prepared_root() / n / "card.json").is_file() for n in (dataset_id, *prepared_names)):
        return "prepared"
    if (config.raw_dir(dataset_id) / ".climb_complete").is_file():
        return "downloaded"
    return "-"
