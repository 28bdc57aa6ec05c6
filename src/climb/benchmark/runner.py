"""Run a benchmark suite: check/prepare data, plan, run every cell, gather results, write the run directory.

    from climb.benchmark import load_suite, run_suite
    run_dir = run_suite(load_suite("demo"), "runs/demo")     # resumable: finished cells are kept

Run directory (the contract read by `climb report`)::

    <run>/manifest.json     suite, versions, hardware, data fingerprints, seeds, times, per-cell status
    <run>/results.csv       tidy rows of every done cell (+ the protocols' summary rows); also .parquet
    <run>/cells/<cell_id>/  the cell's own run dir(s) and `cell.json` (spec, status, error, wall seconds)

Each job has its module: `data` (locate + prepare), `plan`, `protocols/` (one plugin per
protocol: its suite section, cells and run), `execute` (one cell), `results` (gathering +
summary rows), `manifest`, `progress`. Under torchrun / SLURM / Lightning's DDP launcher
every rank walks the same cells; only rank 0 writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.benchmark.cells import MISSING, MISSING_WEIGHTS, RunLock, read_cell
from climb.benchmark.data import DataStatus, check_data, locate_raw, prepare_dataset
from climb.benchmark.execute import CellContext, missing_record, rank, run_cell, set_aside
from climb.benchmark.manifest import Manifest
from climb.benchmark.plan import PlannedCell, cell_datasets, missing_weights, plan, selected, suite_kinds, validate_suite
from climb.benchmark.progress import NoProgress, RichProgress
from climb.benchmark.results import gather, result_columns, suite_table, write_results
from climb.benchmark.suite import Suite

COMPUTE_KEYS = ("accelerator", "devices", "strategy", "precision", "num_nodes", "logger")
_rank = rank  # the CLI's name for it


def run_suite(suite: Suite, out_dir: str | Path, resume: bool = True, *, only: str | None = None,
              overrides: dict[str, Any] | None = None, paired: bool | None = None, prepare_workers: int = 1,
              suite_file: str | None = None, progress: Any = None) -> Path:
    """Run every cell of `suite` into `out_dir` and return it (see module docstring).

    `only`: comma-separated glob(s) over cell ids; `overrides`: accelerator / devices / strategy /
    precision / num_nodes over the suite's `compute`; `paired`: summary rows (None: the suite's
    `paired`); `progress`: a `RichProgress` (None: silent). One writer per run directory: rank
    zero holds `RunLock` for the whole run.
    """
    out_dir = Path(out_dir)
    validate_suite(suite)  # bad suites fail before anything is locked, prepared or trained
    args = (suite, out_dir, resume, only, overrides, paired, prepare_workers, suite_file, progress)
    if rank() != 0:
        return _run_suite(*args)
    with RunLock(out_dir):
        return _run_suite(*args)


def _run_suite(suite: Suite, out_dir: Path, resume: bool, only: str | None, overrides: dict[str, Any] | None,
               paired: bool | None, prepare_workers: int, suite_file: str | None, progress: Any) -> Path:
    compute = {**suite.compute.model_dump(), **{k: v for k, v in (overrides or {}).items()
                                                if k in COMPUTE_KEYS and v is not None}}
    cells = validate_suite(suite)
    needed = sorted({d for c in cells if selected(c, only) for d in cell_datasets(c)})
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_dir, suite, suite_file, compute)
    prog = progress if progress is not None and rank() == 0 else NoProgress()
    prog.start_data(len(needed))
    data = check_data(suite, needed, prepare_workers, on_done=prog.data_done)
    manifest.datasets(data)
    planned = plan(suite, out_dir, data, resume=resume, only=only, compute=compute)
    ctx = CellContext(suite, out_dir, compute, suite_kinds(suite), callbacks=prog.callbacks, paired=paired)
    prog.start_cells(planned)
    for p in planned:
        if p.action == "skipped":
            continue
        if p.action == "done":
            manifest.cell(p.cell.id, read_cell(out_dir, p.cell.id) or {})
            continue
        if p.fresh and p.action == "run" and rank() == 0:
            set_aside(out_dir / "cells" / p.cell.id)  # its trainings start over (ctx.fresh), none resumes
        ctx.fresh = p.fresh
        prog.cell_started(p.cell, p.message)
        record = missing_record(p.cell, ctx, p.message or "", p.fingerprint, p.action) \
            if p.action in (MISSING, MISSING_WEIGHTS) else run_cell(p.cell, ctx, p.fingerprint)
        manifest.cell(p.cell.id, record)
        manifest.write()
        prog.cell_finished(p.cell, record)
    if rank() == 0:
        problems: list[str] = []
        write_results(out_dir, suite_table(ctx, cells, problems))
        manifest.data["problems"] = problems
        for problem in problems:
            prog.problem(problem)
    manifest.write(finished=True)
    prog.stop()
    return out_dir


__all__ = [
    "CellContext", "DataStatus", "MISSING", "MISSING_WEIGHTS", "PlannedCell", "RichProgress", "cell_datasets",
    "check_data", "gather", "missing_weights",
    "locate_raw", "plan", "prepare_dataset", "result_columns", "run_cell", "run_suite", "validate_suite",
]
