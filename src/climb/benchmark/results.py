"""The suite's results: every done cell's rows plus the protocols' summary rows, as results.csv/.parquet."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from climb.benchmark.cells import DONE, cell_problems, read_cell
from climb.benchmark.execute import CellContext
from climb.benchmark.protocols import get_protocol
from climb.benchmark.suite import Cell, Suite
from climb.safeio import atomic_write_bytes, atomic_write_text

EXTRA_COLUMNS = ["cell", "suite", "wall_seconds", "train_samples_per_second"]


def result_columns() -> list[str]:
    from climb.evaluate import ResultRow

    return [f.name for f in fields(ResultRow)] + EXTRA_COLUMNS


def _notes(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, str) and value.startswith("["):
        try:
            return "; ".join(map(str, ast.literal_eval(value)))
        except (ValueError, SyntaxError):
            return value
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def gather(out_dir: Path, suite: Suite, cell_ids: list[str], problems: list[str] | None = None) -> pd.DataFrame:
    """The rows of every done cell, from the cells' own results.csv (a done cell whose files no longer
    match its record is left out and named in `problems`, never dropped silently)."""
    frames = []
    problems = problems if problems is not None else []
    for cell_id in cell_ids:
        record = read_cell(out_dir, cell_id)
        path = out_dir / "cells" / cell_id / "results.csv"
        if not record or record.get("status") != DONE:
            continue
        why = cell_problems(record, path.parent)
        if why:
            problems.append(f"{cell_id}: left out of results.csv: {'; '.join(why)}")
            continue
        frame = pd.read_csv(path)
        frame["cell"], frame["suite"], frame["wall_seconds"] = cell_id, suite.name, record["wall_seconds"]
        if "train_samples_per_second" not in frame:
            frame["train_samples_per_second"] = float("nan")
        frames.append(frame)
    columns = result_columns()
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True).reindex(columns=columns)
    table["notes"] = table["notes"].map(_notes)
    return table


def summary_rows(ctx: CellContext, cells: list[Cell]) -> pd.DataFrame:
    """Each protocol's rows derived from several done cells (e.g. multitask-vs-single paired differences)."""
    done = {c.id for c in cells if (read_cell(ctx.out_dir, c.id) or {}).get("status") == DONE}
    frames = [get_protocol(name).summary_rows(ctx, cells, done) for name in ctx.suite.protocols]
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=result_columns())
    table = pd.concat(frames, ignore_index=True)
    table["suite"] = ctx.suite.name
    return table.reindex(columns=result_columns())


def suite_table(ctx: CellContext, cells: list[Cell], problems: list[str]) -> pd.DataFrame:
    """gather() of every cell, then the summary rows."""
    table = gather(ctx.out_dir, ctx.suite, [c.id for c in cells], problems)
    extra = summary_rows(ctx, cells)
    if not len(extra):
        return table
    return pd.concat([table, extra], ignore_index=True) if len(table) else extra


def write_results(out_dir: Path, table: pd.DataFrame) -> None:
    """results.csv and results.parquet, each written atomically and never through a link (climb.safeio)."""
    import io

    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_text(out_dir / "results.csv", table.to_csv(index=False))
    atomic_write_bytes(out_dir / "results.parquet", buffer.getvalue())
