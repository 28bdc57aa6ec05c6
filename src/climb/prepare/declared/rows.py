"""Rows of a declared table: ids, patients, strictly mapped labels and splits, with counts.

Labels are mapped by the one `climb.prepare.labels.mapping.LabelMapper` (`label_mapper`),
as every built-in builder's are. Every value that cannot be used is an error naming the
file, the line(s) and the values, with the count, unless the declaration's explicit policy
(`label.unknown_labels: drop`, `label.missing_labels: drop | mask`) says otherwise; what a
policy drops or masks is counted and goes into the dataset card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.prepare.builder import Builder, PrepareError
from climb.prepare.builders.images_2d import read_table
from climb.prepare.declared.schema import ColumnSplit, LabelSpec, TableSpec, cell_text
from climb.prepare.labels.mapping import LabelMapper, RecordQuotes, quote


@dataclass(frozen=True)
class Row:
    """One usable sample before its payload (image, signal, graph, ...) is read."""

    sample_id: str
    patient_id: str
    label: Any  # int class index, float, or float32 (K,) multi-hot
    split: str | None
    index: int  # position in the table (or in the folder listing)
    line: int = 0  # line in the file, for messages (0: not from a table)
    mask: np.ndarray | None = None  # multilabel with missing_labels: mask (1 = measured)
    group_id: str | None = None  # table.group_column: what splits keep apart (default: the patient)


def under(base: Path, path: str) -> Path:
    """`path` relative to `base` (absolute paths are kept)."""
    p = Path(path)
    return p if p.is_absolute() else Path(base) / p


def read_declared_table(raw: Path, spec: TableSpec, columns: list[str]) -> tuple[Path, pd.DataFrame]:
    """The table of a declaration, with the `columns` it names checked to be present."""
    path = under(raw, spec.file)
    frame = read_table(path, [], sep=spec.sep, skiprows=spec.skip_lines, header=0 if spec.header else None,
                       keep_default_na=False, na_values=spec.missing_values)
    frame.columns = [str(c) for c in frame.columns]
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise PrepareError(path, f"missing column(s) {missing}; present: {list(frame.columns)}")
    return path, frame.reset_index(drop=True)


def line_of(spec: TableSpec, index: int) -> int:
    """The 1-based file line of data row `index` (no multi-line quoted cells)."""
    return spec.skip_lines + (1 if spec.header else 0) + index + 1


def _quote(path: Path, problem: str, lines: list[tuple[int, Any]], hint: str) -> PrepareError:
    return PrepareError(path, quote("row", problem, [(f"line {n}", v) for n, v in lines], hint))


MISSING_POLICY = {"error": "error", "drop": "exclude", "mask": "mask"}  # declared -> LabelMapper policy


def label_mapper(builder: Builder, spec: LabelSpec, source: Path) -> LabelMapper:
    """The `LabelMapper` of a declaration's label cells, registered with `builder` for the card.

    Cells are compared as `cell_text` (1, 1.0 and "1" alike); errors quote each offending
    line with its cell(s) and name the declaration's policy that would allow it.
    """
    columns = spec.label_columns
    allowed = {"multilabel": "0/1", "regression": "finite numbers"}.get(spec.task, str(list(spec.class_index())))
    quotes = RecordQuotes(
        "row", f"with labels outside {allowed} in {columns}", f"with an empty label in {columns}",
        " (declare label.unknown_labels: drop to drop them, counted in the card)",
        " (declare label.missing_labels: drop to drop them, counted in the card)")
    table = ({text: spec.label_names[i] for text, i in spec.class_index().items()}
             if spec.task in ("binary", "multiclass") else None)
    return builder.label_mapper(table, what="label", source=source, unknown=spec.unknown_labels,
                                missing=MISSING_POLICY[spec.missing_labels], quotes=quotes, key=cell_text)


def map_row(mapper: LabelMapper, task: str, cells: dict[str, Any],
            record: str) -> tuple[Any, np.ndarray | None] | None:
    """(label, mask) of one row's label `cells` (column -> value); None when a policy leaves the row out."""
    if task == "multilabel":
        return mapper.flags(cells, record)
    value = next(iter(cells.values()))
    label = mapper.number(value, record) if task == "regression" else mapper.one(value, record)
    return None if label is None else (label, None)


def label_counts(report: dict[str, Any]) -> dict[str, int]:
    """What the declaration's label policies left out or masked (from a `LabelMapper` report), for the
    card's `label` field."""
    return {"dropped_unknown_labels": report["unknown"]["records"],
            "dropped_missing_labels": report["missing"]["records"],
            "masked_label_cells": report["missing"].get("masked_cells", 0)}


def table_rows(frame: pd.DataFrame, spec: TableSpec, label: LabelSpec, split: Any, source: Path,
               mapper: LabelMapper) -> tuple[list[Row], dict[str, int]]:
    """The usable rows of `frame` (labels through `mapper`) and the counts of what its policies dropped or masked."""
    ids = _sample_ids(frame, spec, source)
    patients = _patients(frame, spec, source, ids)
    groups = _id_cells(frame, spec, source, spec.group_column, "group") if spec.group_column else None
    splits = _column_splits(frame, spec, split, source) if isinstance(split, ColumnSplit) else None
    rows = []
    columns = label.label_columns
    for i, values in enumerate(frame[columns].itertuples(index=False, name=None)):
        mapped = map_row(mapper, label.task, dict(zip(columns, values)), f"line {line_of(spec, i)}")
        if mapped is not None:
            rows.append(Row(ids[i], patients[i], mapped[0], None if splits is None else splits[i], i,
                            line_of(spec, i), mapped[1], None if groups is None else groups[i]))
    return rows, label_counts(mapper.finish())


def _sample_ids(frame: pd.DataFrame, spec: TableSpec, source: Path) -> list[str]:
    if spec.id_column is None:
        return [spec.id_format.format(row=i) for i in range(len(frame))]
    ids = [cell_text(v) for v in frame[spec.id_column]]
    empty = [(line_of(spec, i), frame[spec.id_column].iloc[i]) for i, v in enumerate(ids) if v is None]
    if empty:
        raise _quote(source, f"with an empty sample id in {spec.id_column!r}", empty, "")
    seen: dict[str, int] = {}
    dupes = [(line_of(spec, i), v) for i, v in enumerate(ids) if seen.setdefault(v, i) != i]
    if dupes:
        raise _quote(source, f"repeat a sample id of {spec.id_column!r}", dupes, "")
    return ids  # type: ignore[return-value]


def _patients(frame: pd.DataFrame, spec: TableSpec, source: Path, ids: list[str]) -> list[str]:
    return list(ids) if spec.patient_column is None else _id_cells(frame, spec, source, spec.patient_column, "patient")


def _id_cells(frame: pd.DataFrame, spec: TableSpec, source: Path, column: str, what: str) -> list[str]:
    """The cells of an id column as text; an empty cell is an error naming its lines."""
    values = [cell_text(v) for v in frame[column]]
    empty = [(line_of(spec, i), frame[column].iloc[i]) for i, v in enumerate(values) if v is None]
    if empty:
        raise _quote(source, f"with an empty {what} id in {column!r}", empty, "")
    return values  # type: ignore[return-value]


def split_values(split: ColumnSplit) -> dict[str, str]:
    """Cell text -> split name (the schema refuses a value listed under two splits)."""
    return {str(cell_text(v)): name for name, values in split.values.items() for v in values}


def _column_splits(frame: pd.DataFrame, spec: TableSpec, split: ColumnSplit, source: Path) -> list[str]:
    table = split_values(split)
    cells = frame[split.column]
    out, bad = [], []
    for i, v in enumerate(cells):
        text = cell_text(v)
        if text not in table:
            bad.append((line_of(spec, i), v))
        out.append(table.get(str(text), ""))
    if bad:
        raise _quote(source, f"with a value of split column {split.column!r} outside {list(table)}", bad, "")
    return out


def numeric_columns(frame: pd.DataFrame, columns: list[str], spec: TableSpec, source: Path) -> np.ndarray:
    """`columns` as float64 (rows, len(columns)); a non-numeric, non-empty cell is an error."""
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, col in enumerate(columns):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].map(cell_text).notna()
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            raise _quote(source, f"with a non-numeric value in column {col!r}",
                         [(line_of(spec, int(i)), frame[col].iloc[int(i)]) for i in rows], "")
        out[:, j] = values.to_numpy(dtype=np.float64)
    return out

