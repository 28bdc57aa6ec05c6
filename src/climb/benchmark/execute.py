"""Running one cell: its protocol's `run` under quiet Lightning, its rows and `cell.json` written by rank zero.

A cell's failure is recorded (`failed` + the error, traceback in `error.log`) and the suite
goes on; a cell whose data is absent is recorded `missing-data` with the command that gets it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from climb.benchmark.cells import DONE, FAILED, MISSING, output_files
from climb.benchmark.protocols import get_protocol
from climb.benchmark.suite import Cell, Suite
from climb.safeio import atomic_write_json, atomic_write_text


def rank() -> int:
    from climb.train.engine import global_rank

    return global_rank()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, json.loads(json.dumps(payload, default=str)))


class CellContext:
    """What a protocol needs to run a cell: suite, run directory, compute settings and a progress hook."""

    def __init__(self, suite: Suite, out_dir: Path, compute: dict[str, Any], kinds: dict[str, str],
                 callbacks: Callable[[str], list] | None = None, paired: bool | None = None):
        self.suite, self.out_dir, self.compute, self.kinds = suite, out_dir, compute, kinds
        self.paired = suite.paired if paired is None else paired  # protocols' paired summary rows wanted
        self.callbacks = callbacks or (lambda label: [])
        self.fresh = False  # the current cell starts its trainings over (set per cell by run_suite)

    @property
    def cells_dir(self) -> Path:
        return self.out_dir / "cells"

    def train_config(self, cell: Cell, **update: Any):
        """The `TrainConfig` of a cell's training run: its datasets, encoder, seed, budget, compute; `update` on top."""
        from climb.train import TrainConfig

        fields_ = {d: self.suite.datasets[d].input_field for d in cell.datasets}
        input_field = next(iter(fields_.values())) if len(set(fields_.values())) == 1 else None
        budget = {k: v for k, v in cell.budget.items() if k in TrainConfig.model_fields}
        values = {"datasets": list(cell.datasets), "encoder": cell.encoder, "encoder_kwargs": cell.encoder_kwargs,
                  "input_field": input_field, "seed": cell.seed, "out_dir": self.cells_dir, "run_name": cell.id,
                  **budget, **self.compute, **update}
        if len(cell.datasets) > 1 and values["strategy"] == "ddp":
            values["strategy"] = "ddp_find_unused_parameters_true"  # each step trains one task's head
        return TrainConfig(**values)


@contextmanager
def _quiet_lightning() -> Iterator[list[str]]:
    """Silence Lightning's info chatter and collect warnings (kept in cell.json, not on screen)."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [lg.level for lg in loggers]
    caught: list[str] = []
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("default")
        try:
            yield caught
        finally:
            caught.extend(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in records))
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def run_cell(cell: Cell, ctx: CellContext, fingerprint: str | None = None) -> dict[str, Any]:
    """Run one cell through its protocol; never raises (a failure is recorded). Rank 0 writes the rows
    the protocol returns as the cell's results.csv, then cell.json (atomically), with the spec
    fingerprint and the sha256 of every output file."""
    started, t0 = now(), time.perf_counter()
    status, error, caught = DONE, None, []
    cell_dir = ctx.cells_dir / cell.id
    try:
        with _quiet_lightning() as caught:
            rows = get_protocol(cell.protocol).run(cell, ctx)
        if rank() == 0:
            if rows is not None:
                cell_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_text(cell_dir / "results.csv", rows.to_csv(index=False))
            _check_results(cell_dir / "results.csv")
    except Exception as e:  # noqa: BLE001 - one cell's failure must not stop the suite
        status, error = FAILED, f"{type(e).__name__}: {e}"
        if rank() == 0:
            cell_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(cell_dir / "error.log", traceback.format_exc())
    record = {"cell": cell.spec(), "fingerprint": fingerprint, "status": status, "error": error,
              "wall_seconds": round(time.perf_counter() - t0, 2), "started": started, "finished": now(),
              "warnings": caught[:20]}
    if rank() == 0:
        record["files"] = output_files(cell_dir) if status == DONE else {}
        write_json(cell_dir / "cell.json", record)
    return record


def _check_results(path: Path) -> None:
    """A done cell has a readable, non-empty results.csv."""
    if not path.is_file():
        raise RuntimeError("the cell produced no results.csv (no test split?)")
    try:
        rows = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RuntimeError(f"the cell's results.csv is unreadable ({e})") from None
    if rows.empty:
        raise RuntimeError("the cell's results.csv holds no rows")


def missing_record(cell: Cell, ctx: CellContext, message: str, fingerprint: str | None = None,
                   status: str = MISSING) -> dict[str, Any]:
    record = {"cell": cell.spec(), "fingerprint": fingerprint, "status": status, "error": message,
              "wall_seconds": 0.0, "started": now(), "finished": now(), "warnings": []}
    if rank() == 0:
        write_json(ctx.cells_dir / cell.id / "cell.json", record)
    return record


def set_aside(cell_dir: Path) -> None:
    """Start a cell over: its directory moved aside in one rename (another rank sees it whole or gone), then removed."""
    if cell_dir.exists():
        trash = cell_dir.with_name(f".trash-{cell_dir.name}-{uuid.uuid4().hex[:8]}")
        os.replace(cell_dir, trash)
        shutil.rmtree(trash, ignore_errors=True)


__all__ = ["CellContext", "DONE", "FAILED", "MISSING", "missing_record", "run_cell", "set_aside"]
