"""Rows of a declared table: ids, patients, strictly mapped labels and splits, with counts.

Every value that cannot be used is an error naming the file, the line(s) and the values,
with the count, unless the declaration's explicit policy (`label.unknown_labels: drop`,
`label.missing_labels: drop | mask`) says otherwise; what a policy drops or masks is
counted and goes into the dataset card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.prepare.builder import PrepareError
from climb.prepare.builders.images_2d import read_table
from climb.prepare.declared.schema import ColumnSplit, LabelSpec, TableSpec, cell_text

SHOWN = 5  # offending rows quoted in an error message


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
    shown = ", ".join(f"line {n} {v!r}" for n, v in lines[:SHOWN])
    more = f" and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    return PrepareError(path, f"{len(lines)} row(s) {problem}: {shown}{more}{hint}")


class LabelMapper:
    """Maps label cells to climb labels under the declaration's policies, counting what it drops."""

    def __init__(self, spec: LabelSpec, source: Path):
        self.spec, self.source = spec, source
        self.index = spec.class_index() if spec.task in ("binary", "multiclass") else {}
        self.unknown: list[tuple[int, Any]] = []
        self.missing: list[tuple[int, Any]] = []
        self.masked_cells = 0

    def __call__(self, values: list[Any], line: int) -> tuple[Any, np.ndarray | None] | None:
        """(label, mask) for one row's label cells; None when a policy drops the row."""
        texts = [cell_text(v) for v in values]
        task = self.spec.task
        if task == "multilabel":
            return self._multilabel(values, texts, line)
        if texts[0] is None:
            self.missing.append((line, values[0]))
            return None
        if task == "regression":
            try:
                number = float(values[0])
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number):
                self.unknown.append((line, values[0]))
                return None
            return number, None
        if texts[0] not in self.index:
            self.unknown.append((line, values[0]))
            return None
        return self.index[texts[0]], None

    def _multilabel(self, values: list[Any], texts: list[str | None], line: int):
        if any(t is not None and t not in ("0", "1") for t in texts):
            self.unknown.append((line, dict(zip(self.spec.label_columns, values))))
            return None
        observed = np.array([t is not None for t in texts])
        if not observed.all():
            if self.spec.missing_labels != "mask":
                self.missing.append((line, dict(zip(self.spec.label_columns, values))))
                return None
            self.masked_cells += int((~observed).sum())
        label = np.array([t == "1" for t in texts], dtype=np.float32)
        mask = observed.astype(np.float32) if self.spec.missing_labels == "mask" else None
        return label, mask

    def check(self) -> dict[str, int]:
        """Raise for what no policy allows; else the counts for the card."""
        allowed = self._allowed()
        if self.unknown and self.spec.unknown_labels == "error":
            raise _quote(self.source, f"with labels outside {allowed} in {self.spec.label_columns}",
                         self.unknown, " (declare label.unknown_labels: drop to drop them, counted in the card)")
        if self.missing and self.spec.missing_labels == "error":
            raise _quote(self.source, f"with an empty label in {self.spec.label_columns}", self.missing,
                         " (declare label.missing_labels: drop to drop them, counted in the card)")
        return {"dropped_unknown_labels": len(self.unknown), "dropped_missing_labels": len(self.missing),
                "masked_label_cells": self.masked_cells}

    def _allowed(self) -> str:
        if self.spec.task == "multilabel":
            return "0/1"
        if self.spec.task == "regression":
            return "finite numbers"
        return str(list(self.index))


def table_rows(frame: pd.DataFrame, spec: TableSpec, label: LabelSpec, split: Any,
               source: Path) -> tuple[list[Row], dict[str, int]]:
    """The usable rows of `frame` and the counts of what the label policies dropped or masked."""
    ids = _sample_ids(frame, spec, source)
    patients = _patients(frame, spec, source, ids)
    groups = _id_cells(frame, spec, source, spec.group_column, "group") if spec.group_column else None
    splits = _column_splits(frame, spec, split, source) if isinstance(split, ColumnSplit) else None
    mapper = LabelMapper(label, source)
    rows = []
    for i, values in enumerate(frame[label.label_columns].itertuples(index=False, name=None)):
        mapped = mapper(list(values), line_of(spec, i))
        if mapped is not None:
            rows.append(Row(ids[i], patients[i], mapped[0], None if splits is None else splits[i], i,
                            line_of(spec, i), mapped[1], None if groups is None else groups[i]))
    return rows, mapper.check()


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

