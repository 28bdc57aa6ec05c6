"""The report's opening section: one matrix of datasets x settings, readable in one screen.

Each cell is the dataset's headline metric (the metric registry's headline of its task type:
AUROC, MAE for regression) on the test split, with its 95% CI: the row's bootstrap CI for
one seed, the t-interval over seeds for several (as in the per-dataset sections). Settings
are the rows' typed setting columns (`setting_label`); few-shot settings appear at their
largest k only, and dropped-modality tests stay in the fusion section. A setting's column
names its encoder only when a dataset was run with several; otherwise the `encoder` column
says which. Paired differences (`PAIRED_PROTOCOLS`, e.g. multitask − single-task on the same
test samples) get their own columns, marked ▲ / ▼ (and coloured) when their CI excludes 0.
The long per-cell tables of the sections below are folded (`Table.folded`).
"""

from __future__ import annotations

import math

import pandas as pd

from climb.evaluate.metrics import METRICS
from climb.report.document import Note, Section, Table, format_estimate
from climb.report.rows import (headline_metric, is_budgeted, is_dropped, is_leak, is_paired, seed_summary,
                               setting_label)

GAIN, LOSS = "▲", "▼"
SHOT_KEYS = ["dataset", "protocol", "encoder", "init", "mode", "fusion", "modalities", "trained_on"]


def headline_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Each dataset's headline-metric rows on its test split (any split when it has no test rows)."""
    parts = []
    for _, frame in results.groupby("dataset", sort=True):
        frame = frame[frame["metric"] == headline_metric(frame[~is_paired(frame)] if (~is_paired(frame)).any()
                                                         else frame)]
        parts.append(frame[frame["split"] == "test"] if (frame["split"] == "test").any() else frame)
    return pd.concat(parts) if parts else results.iloc[:0]


def largest_budget(rows: pd.DataFrame) -> pd.DataFrame:
    """Full-data rows, and few-shot rows at the largest k of their (dataset, setting, encoder)."""
    if not is_budgeted(rows).any():
        return rows
    largest = rows.groupby(SHOT_KEYS, dropna=False)["shots"].transform("max")
    return rows[~is_budgeted(rows) | (rows["shots"] == largest).fillna(False)]  # in the results' order


def column_of(rows: pd.DataFrame) -> pd.Series:
    """The matrix column of each row: its setting, plus the encoder where a dataset ran several."""
    several = rows.groupby(["dataset", "setting"])["encoder"].transform("nunique") > 1
    ambiguous = set(rows.loc[several, "setting"])
    return pd.Series([f"{s} · {e}" if s in ambiguous else s for s, e in zip(rows["setting"], rows["encoder"])],
                     index=rows.index)


def paired_column(protocol: str) -> str:
    """`multitask-vs-single` -> `multitask − single (paired)`."""
    a, _, b = protocol.partition("-vs-")
    return f"{a} − {b} (paired)"


def gain_mark(low: float, high: float, higher_is_better: bool = True) -> str:
    """▲ (a gain) when the difference's whole CI lies on the better side of 0, ▼ (a loss) on the worse side,
    "" when it includes 0 or is missing."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 <= high:
        return ""
    return GAIN if (low > 0) == higher_is_better else LOSS


def summary_matrix(results: pd.DataFrame) -> Table | None:
    """Datasets x settings (headline metric [95% CI]), then the paired-difference columns."""
    rows = headline_rows(results)
    plain = largest_budget(rows[~is_paired(rows) & ~is_dropped(rows)])
    paired = rows[is_paired(rows)]
    if plain.empty and paired.empty:
        return None
    plain = plain.assign(column=column_of(plain))
    paired = paired.assign(column=[paired_column(p) for p in paired["protocol"]])
    settings = list(dict.fromkeys(plain["column"]))
    for protocol in dict.fromkeys(paired["protocol"]):  # each paired column right after its protocol's columns
        of_a = set(plain.loc[plain["protocol"] == protocol.partition("-vs-")[0], "column"])
        mine = [i for i, c in enumerate(settings) if c in of_a]
        settings.insert(mine[-1] + 1 if mine else len(settings), paired_column(protocol))
    columns = ["dataset", "metric", "encoder"] + settings
    body, marks = [], {}
    for i, dataset in enumerate(sorted(set(rows["dataset"]))):
        mine = pd.concat([plain[plain["dataset"] == dataset], paired[paired["dataset"] == dataset]])
        metric = str(mine["metric"].iloc[0])
        better = METRICS[metric].higher_is_better if metric in METRICS else True
        label = (METRICS[metric].label if metric in METRICS else metric) + ("" if better else " (lower is better)")
        row = [dataset, label, ", ".join(sorted(set(mine["encoder"])))]
        for j, column in enumerate(settings, start=len(row)):
            row.append(_cell_text(mine[mine["column"] == column], better, marks, (i, j)))
        body.append(row)
    seeds = int(plain["seed"].nunique()) if not plain.empty else 1
    caption = ("Headline metric per dataset and setting on the test split, 95% CI "
               + ("(several seeds: mean and t-interval over seeds)" if seeds > 1 else "(patient-level bootstrap)"))
    return Table(columns, body, caption, cell_classes=marks)


def _cell_text(cell: pd.DataFrame, higher_is_better: bool, marks: dict[tuple[int, int], str],
               at: tuple[int, int]) -> str:
    """`value [low, high]`; a paired difference signed, with its mark; `marks[at]` set for coloured cells."""
    if cell.empty:
        return ""
    value, low, high, _ = seed_summary(cell)
    text = format_estimate(value, low, high)
    if is_paired(cell).all():
        text = ("+" if value > 0 else "") + text
        mark = gain_mark(low, high, higher_is_better)
        if mark:
            marks[at] = "gain" if mark == GAIN else "loss"
            text += f" {mark}"
    elif cell["notes"].map(is_leak).any():
        marks[at] = "leak"
        text += " (LABEL LEAK)"
    return text


def summary_section(results: pd.DataFrame, banners: list[Note]) -> Section:
    """The report's first section: the run's warnings, then the summary matrix."""
    blocks: list = list(banners)
    matrix = summary_matrix(results)
    if matrix is None:
        blocks.append(Note("This run has no result rows yet.", "warning"))
    else:
        legend = [f"{GAIN} / {LOSS}: a paired difference whose 95% CI excludes 0 (a gain / a loss)."] \
            if is_paired(results).any() else []
        legend += ["Few-shot settings at their largest k."] if is_budgeted(results).any() else []
        blocks += [matrix, Note(" ".join(legend + ["Every row, metric and seed is in the folded tables of the "
                                                   "sections below."]))]
    return Section("Summary", "summary", blocks)


__all__ = ["GAIN", "LOSS", "gain_mark", "summary_matrix", "summary_section"]
