"""Planning a suite run: validate the suite, expand its cells, and decide what happens to each."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from climb.benchmark.cells import MISSING, MISSING_WEIGHTS, cell_problems, read_cell, spec_fingerprint
from climb.benchmark.data import DataStatus
from climb.benchmark.protocols import get_protocol
from climb.benchmark.suite import Cell, Suite, SuiteError, input_kind


@dataclass
class PlannedCell:
    """A cell and what the runner will do with it."""

    cell: Cell
    action: str  # run | done (kept) | missing-data | missing-weights | skipped (--only)
    message: str | None = None
    fingerprint: str | None = None  # of the cell's full spec (climb.benchmark.cells.spec_fingerprint)
    fresh: bool = False  # start its trainings over (spec changed, or --no-resume) instead of resuming


def suite_kinds(suite: Suite) -> dict[str, str]:
    return {name: input_kind(name, spec) for name, spec in suite.datasets.items()}


def cell_datasets(cell: Cell) -> list[str]:
    """Every prepared dataset a cell reads (its protocol says: e.g. a held-out few-shot cell also pretrains on others)."""
    return get_protocol(cell.protocol).datasets(cell)


def selected(cell: Cell, only: str | None) -> bool:
    """Whether `cell` is among the comma-separated globs `only` (None: every cell)."""
    return not only or any(fnmatch.fnmatch(cell.id, pat) for pat in only.split(","))


def validate_suite(suite: Suite) -> list[Cell]:
    """Every dataset has a builder, every encoder is registered, every cell is valid for its protocol; the cells."""
    from climb.models import list_encoders
    from climb.prepare import builder_names

    unknown = sorted(set(suite.datasets) - set(builder_names()))
    if unknown:
        raise SuiteError(f"suite {suite.name}: datasets without a builder: {unknown}")
    cells = suite.cells(suite_kinds(suite))
    ids = [c.id for c in cells]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise SuiteError(f"suite {suite.name}: cells listed twice (same protocol, data, encoder and seed): {twice}")
    known = set(list_encoders())
    bad = sorted({c.encoder for c in cells if get_protocol(c.protocol).checks_encoders} - known)
    if bad:
        raise SuiteError(f"suite {suite.name}: unknown encoders {bad}; `climb models` lists them")
    for cell in cells:
        problem = get_protocol(cell.protocol).is_valid(cell, suite)
        if problem:
            raise SuiteError(f"suite {suite.name}: {problem}")
    return cells


def cell_fingerprint(cell: Cell, data: dict[str, DataStatus], compute: dict[str, Any]) -> str:
    """The fingerprint of a cell's full spec, with the fingerprints of the prepared data it reads."""
    prints = {d: data[d].fingerprint if d in data else None for d in cell_datasets(cell)}
    return spec_fingerprint(cell.spec(), prints, str(compute.get("precision", "32-true")))


def plan(suite: Suite, out_dir: Path, data: dict[str, DataStatus], *, resume: bool = True,
         only: str | None = None, compute: dict[str, Any] | None = None) -> list[PlannedCell]:
    """What happens to each cell: run, keep (done: status, spec fingerprint and output hashes agree),
    missing-data, or skipped by `only`; a redone cell's message says why."""
    compute = compute if compute is not None else suite.compute.model_dump()
    planned = []
    for cell in validate_suite(suite):
        if not selected(cell, only):
            planned.append(PlannedCell(cell, "skipped"))
            continue
        fingerprint = cell_fingerprint(cell, data, compute)
        record = read_cell(out_dir, cell.id)
        why = cell_problems(record, out_dir / "cells" / cell.id, fingerprint)
        if resume and not why:
            planned.append(PlannedCell(cell, "done", fingerprint=fingerprint))
            continue
        changed = bool(record) and record.get("fingerprint") != fingerprint
        absent = [data[d] for d in cell_datasets(cell) if not data[d].ready and not data[d].error]
        if absent:
            message = "; ".join(s.message or s.name for s in absent)
            planned.append(PlannedCell(cell, MISSING, message, fingerprint))
            continue
        no_weights = missing_weights(cell)
        if no_weights:
            planned.append(PlannedCell(cell, MISSING_WEIGHTS, no_weights, fingerprint))
            continue
        redo = None if not record or not resume else f"redo: {'; '.join(why)}"
        planned.append(PlannedCell(cell, "run", redo, fingerprint, fresh=not resume or changed))
    return planned


def missing_weights(cell: Cell) -> str | None:
    """Why some pretrained weights of `cell` cannot be had now (climb.models.weights.unavailable), else None."""
    from climb.models.weights import unavailable

    problems = [p for p in (unavailable(spec, cell.encoder) for spec in cell.weights) if p]
    return "; ".join(problems) or None
