"""Run a benchmark suite: check/prepare data, run every cell, gather results, write the run directory.

    from climb.benchmark import load_suite, run_suite
    run_dir = run_suite(load_suite("demo"), "runs/demo")     # resumable: finished cells are kept

Run directory (the contract read by `climb report`)::

    <run>/manifest.json     suite, versions, hardware, data fingerprints, seeds, times, per-cell status
    <run>/results.csv       tidy rows of every done cell (+ paired multitask-vs-single rows); also .parquet
    <run>/cells/<cell_id>/  the cell's own run dir(s) and `cell.json` (spec, status, error, wall seconds)

A cell's failure is recorded (`failed` + the error) and the suite goes on; a cell whose data
is absent is recorded `missing-data` with the command that gets it. Under torchrun / SLURM /
Lightning's DDP launcher every rank walks the same cells; only rank 0 writes.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import logging
import os
import platform
import shutil
import uuid
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from climb.benchmark.cells import RunLock, cell_problems, output_files, read_record, spec_fingerprint
from climb.benchmark.suite import Cell, DatasetSpec, Suite, SuiteError, input_kind
from climb.safeio import atomic_write_json

DONE, FAILED, MISSING = "done", "failed", "missing-data"
EXTRA_COLUMNS = ["cell", "suite", "wall_seconds", "train_samples_per_second"]
COMPUTE_KEYS = ("accelerator", "devices", "strategy", "precision", "num_nodes", "logger")


# ---------------------------------------------------------------- data


@dataclass
class DataStatus:
    """Whether a dataset is ready; if not, what to do about it."""

    name: str
    source: str
    ready: bool
    fingerprint: str | None = None
    raw: str | None = None
    message: str | None = None
    error: bool = False  # present but preparing it failed (its cells fail, they are not missing)


def _how_to_get(name: str) -> str:
    """The command (and access steps) that provide the raw files of prepared dataset `name`."""
    from climb.catalog import get
    from climb.prepare import create_builder

    catalog_id = create_builder(name).catalog_id
    try:
        entry = get(catalog_id)
    except Exception:  # noqa: BLE001 - a builder without catalog entry: generic advice
        return f"run `climb download {catalog_id}` or `climb prepare {name} --raw DIR`"
    steps = f"run `climb download {catalog_id}` (or `climb prepare {name} --raw DIR` with a local copy)"
    manual = [s for s in entry.sources if s.kind.value == "manual"]
    notes = [s.instructions for s in entry.sources if s.instructions]
    if manual:
        steps = f"download it by hand, then `climb prepare {name} --raw DIR`: {manual[0].instructions}"
    elif entry.access.value != "open":
        steps += f"; access is {entry.access.value}: " + (notes[0] if notes else f"see {entry.homepage}")
    return steps


def locate_raw(name: str, spec: DatasetSpec) -> tuple[Path | None, str | None]:
    """(raw dir, None) when the raw files are here, else (None, what is missing and how to get it)."""
    from climb.config import raw_dir, shared_data_dir
    from climb.prepare import PrepareError, create_builder

    builder = create_builder(name)
    if spec.package:
        try:
            return builder.default_raw(), None
        except PrepareError as e:
            return None, f"{name}: {e}"
    cache = raw_dir(builder.catalog_id)
    if spec.shared is not None:
        root = shared_data_dir()
        if root is not None and (root / spec.shared).is_dir():
            return root / spec.shared, None
        where = f"{root / spec.shared}" if root else "../shared/data (absent; or set $CLIMB_SHARED_DATA)"
        if cache.is_dir():
            return cache, None
        return None, f"{name}: raw data not in {where} nor in {cache}: {_how_to_get(name)}"
    if cache.is_dir():
        return cache, None
    return None, f"{name}: raw data not in {cache}: {_how_to_get(name)}"


def prepare_dataset(name: str, spec: DatasetSpec, dry_run: bool = False) -> DataStatus:
    """Locate the raw files of `name` and prepare it (idempotent); never raises."""
    from climb.prepare import open_prepared, prepare

    try:
        raw, missing = locate_raw(name, spec)
        if raw is None:
            try:  # prepared earlier from elsewhere (e.g. `climb prepare X --raw DIR`): use it
                card = open_prepared(name).card
                return DataStatus(name, spec.source, True, card.get("fingerprint"), None, "prepared copy reused")
            except FileNotFoundError:
                return DataStatus(name, spec.source, False, message=missing)
        if dry_run:
            return DataStatus(name, spec.source, True, _prepared_fingerprint(name), raw=str(raw))
        card = prepare(name, raw=raw).card
        return DataStatus(name, spec.source, True, card.get("fingerprint"), str(raw))
    except Exception as e:  # noqa: BLE001 - reported per dataset, the suite goes on
        return DataStatus(name, spec.source, False, message=f"{name}: preparing failed: {type(e).__name__}: {e}",
                          error=True)


def _prepared_fingerprint(name: str) -> str | None:
    from climb.prepare import open_prepared

    try:
        return open_prepared(name).card.get("fingerprint")
    except (FileNotFoundError, OSError, ValueError):
        return None


def _prepare_job(args: tuple[str, dict[str, Any], bool]) -> DataStatus:
    name, spec, dry_run = args
    return prepare_dataset(name, DatasetSpec.model_validate(spec), dry_run)


def check_data(suite: Suite, names: list[str], workers: int = 1, dry_run: bool = False,
               on_done: Callable[[DataStatus], None] | None = None) -> dict[str, DataStatus]:
    """Prepare (or, with `dry_run`, only locate) `names`, with a process pool when `workers` > 1."""
    jobs = [(n, suite.datasets[n].model_dump(), dry_run) for n in names]
    out: dict[str, DataStatus] = {}
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for status in pool.map(_prepare_job, jobs):
                out[status.name] = status
                if on_done:
                    on_done(status)
    else:
        for job in jobs:
            status = _prepare_job(job)
            out[status.name] = status
            if on_done:
                on_done(status)
    return out


def fusion_datasets(preset: str) -> list[str]:
    """The prepared datasets a fusion preset reads: its dataset and its other test sites."""
    from climb.train.fusion import preset_config

    cfg = preset_config(preset)
    return [cfg.dataset, *cfg.test_on]


def cell_datasets(cell: Cell) -> list[str]:
    """Every prepared dataset a cell reads (a held-out few-shot cell also pretrains on others)."""
    if cell.protocol == "fusion":
        return fusion_datasets(cell.datasets[0])
    return [*cell.datasets, *cell.extra.get("pretrain_on", [])]


# ---------------------------------------------------------------- plan


@dataclass
class PlannedCell:
    """A cell and what the runner will do with it."""

    cell: Cell
    action: str  # run | done (kept) | missing-data | skipped (--only)
    message: str | None = None
    fingerprint: str | None = None  # of the cell's full spec (climb.benchmark.cells.spec_fingerprint)
    fresh: bool = False  # start its trainings over (spec changed, or --no-resume) instead of resuming


def suite_kinds(suite: Suite) -> dict[str, str]:
    return {name: input_kind(name, spec) for name, spec in suite.datasets.items()}


def validate_suite(suite: Suite) -> list[Cell]:
    """Every dataset has a builder, every encoder is registered, fusion datasets are listed; the cells."""
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
    bad = sorted({c.encoder for c in cells if c.protocol != "fusion"} - known)
    if bad:
        raise SuiteError(f"suite {suite.name}: unknown encoders {bad}; `climb models` lists them")
    for cell in cells:
        if cell.protocol == "fusion":
            missing = [d for d in cell_datasets(cell) if d not in suite.datasets]
            if missing:
                raise SuiteError(f"suite {suite.name}: fusion preset {cell.datasets[0]} reads {missing}; "
                                 "list them under `datasets`")
    return cells


def read_cell(out_dir: Path, cell_id: str) -> dict[str, Any] | None:
    return read_record(out_dir / "cells" / cell_id / "cell.json")


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
        if only and not any(fnmatch.fnmatch(cell.id, pat) for pat in only.split(",")):
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
        redo = None if not record or not resume else f"redo: {'; '.join(why)}"
        planned.append(PlannedCell(cell, "run", redo, fingerprint, fresh=not resume or changed))
    return planned


# ---------------------------------------------------------------- running cells


def _rank() -> int:
    from climb.train.engine import global_rank

    return global_rank()


def _atomic_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, json.loads(json.dumps(payload, default=str)))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CellContext:
    """What a cell runner needs: suite, run directory, compute settings and a progress hook."""

    def __init__(self, suite: Suite, out_dir: Path, compute: dict[str, Any], kinds: dict[str, str],
                 callbacks: Callable[[str], list] | None = None):
        self.suite, self.out_dir, self.compute, self.kinds = suite, out_dir, compute, kinds
        self.callbacks = callbacks or (lambda label: [])
        self.fresh = False  # the current cell starts its trainings over (set per cell by run_suite)

    @property
    def cells_dir(self) -> Path:
        return self.out_dir / "cells"

    def train_config(self, cell: Cell, **update: Any):
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


def run_single(cell: Cell, ctx: CellContext) -> None:
    from climb.train import train

    update = {"sampling": cell.extra["sampling"]} if "sampling" in cell.extra else {}
    # the cell directory is the run directory: train() writes its results.csv (and run.json)
    train(ctx.train_config(cell, **update), protocol=cell.protocol, callbacks=ctx.callbacks(cell.id), fresh=ctx.fresh)


NOT_HELD_OUT = ("multitask encoder was trained on the full train split of this dataset (not held out): "
                "measures few-shot adaptation, not transfer to an unseen dataset")


def run_fewshot(cell: Cell, ctx: CellContext) -> None:
    """k examples per class x initialisations x modes, each its own run under the cell's directory."""
    from climb.train import train

    dataset = cell.datasets[0]
    inits: dict[str, Path | None] = {}
    for init in cell.extra["inits"]:
        if init == "scratch":
            inits[init] = None
        elif init == "multitask_heldout":
            inits[init] = _heldout_encoder(cell, ctx)
        else:
            inits[init] = _multitask_encoder(cell, ctx)
    frames = []
    for k in cell.extra["shots"]:
        for init, path in inits.items():
            for mode in cell.extra["modes"]:
                if mode == "linear_probe" and path is None:
                    continue  # a frozen random encoder says nothing
                run = f"{dataset}__{cell.encoder}__k{k}__{init}__{mode}__seed{cell.seed}"
                cfg = ctx.train_config(cell, shots=k, pretrained=path, freeze_encoder=mode == "linear_probe",
                                       out_dir=ctx.cells_dir / cell.id, run_name=run)
                result = train(cfg, protocol="fewshot", init=init, callbacks=ctx.callbacks(run), fresh=ctx.fresh)
                if result.rows:
                    frame = result.frame()
                    if init == "multitask":
                        frame["notes"] = [[*n, NOT_HELD_OUT] for n in frame["notes"]]
                    frame["train_samples_per_second"] = round(result.samples_per_second, 1)
                    frames.append(frame)
    if frames:
        _write_cell_results(ctx, cell, pd.concat(frames, ignore_index=True))


def _write_cell_results(ctx: CellContext, cell: Cell, frame: pd.DataFrame) -> None:
    """The cell's own results.csv (rank zero; other ranks hold no rows)."""
    if _rank() == 0:
        path = ctx.cells_dir / cell.id / "results.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        from climb.safeio import atomic_write_text

        atomic_write_text(path, frame.to_csv(index=False))


def _heldout_encoder(cell: Cell, ctx: CellContext) -> Path:
    """Pretrain (inside the few-shot cell) on the target's multitask group minus the target."""
    from climb.train import train

    group = ctx.suite.multitask_cell_for(cell.datasets[0], cell.encoder, cell.seed, ctx.kinds)
    if group is None:
        raise SuiteError(f"{cell.id}: no multitask group with encoder {cell.encoder} holds {cell.datasets[0]}")
    others = cell.extra["pretrain_on"]  # the group's other datasets (Suite._fewshot)
    run = f"pretrain__{'+'.join(others)}__{cell.encoder}__seed{cell.seed}"
    update: dict[str, Any] = {"datasets": others, "out_dir": ctx.cells_dir / cell.id, "run_name": run}
    if len(others) > 1 and "sampling" in group.extra:
        update["sampling"] = group.extra["sampling"]
    cfg = ctx.train_config(group, **update)
    result = train(cfg, protocol="pretrain-heldout", callbacks=ctx.callbacks(run), fresh=ctx.fresh)
    path = result.encoder_path or cfg.run_dir / "encoder.safetensors"  # other DDP ranks: rank 0 writes it
    deadline = time.monotonic() + 600
    while not path.is_file():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{cell.id}: held-out pretraining on {others} wrote no encoder at {path}")
        time.sleep(1)
    return path


def _multitask_encoder(cell: Cell, ctx: CellContext) -> Path:
    source = ctx.suite.multitask_cell_for(cell.datasets[0], cell.encoder, cell.seed, ctx.kinds)
    if source is None:
        raise SuiteError(f"{cell.id}: no multitask cell with encoder {cell.encoder}, seed {cell.seed} "
                         f"and dataset {cell.datasets[0]}")
    record = read_cell(ctx.out_dir, source.id) or {}
    path = ctx.cells_dir / source.id / "encoder.safetensors"
    if record.get("status") != DONE or not path.is_file():
        raise RuntimeError(f"needs the multitask encoder of cell {source.id} (status: "
                           f"{record.get('status', 'not run')}); run it first, e.g. --only '{source.id},{cell.id}'")
    return path


def run_fusion_cell(cell: Cell, ctx: CellContext) -> None:
    from climb.train.fusion import fusion_protocol

    b = cell.budget
    compute = {**ctx.compute}
    compute["strategy_name"] = compute.pop("strategy")
    budget = {k: b[k] for k in ("epochs", "batch_size", "lr", "limit_train_batches", "n_boot", "num_workers") if k in b}
    table = fusion_protocol(cell.datasets[0], strategies=cell.extra["strategies"], shots=cell.extra["shots"],
                            unimodal=cell.extra["unimodal"], seeds=[cell.seed], out_dir=ctx.cells_dir / cell.id,
                            quiet=True, callbacks=ctx.callbacks, fresh=ctx.fresh, **budget, **compute)
    _write_cell_results(ctx, cell, table)


RUNNERS: dict[str, Callable[[Cell, CellContext], None]] = {
    "single": run_single, "multitask": run_single, "fewshot": run_fewshot, "fusion": run_fusion_cell,
}


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
    """Run one cell; never raises (a failure is recorded). Rank 0 writes cell.json atomically,
    with the spec fingerprint and the sha256 of every output file."""
    started, t0 = _now(), time.perf_counter()
    status, error, caught = DONE, None, []
    cell_dir = ctx.cells_dir / cell.id
    try:
        with _quiet_lightning() as caught:
            RUNNERS[cell.protocol](cell, ctx)
        if _rank() == 0:
            _check_results(cell_dir / "results.csv")
    except Exception as e:  # noqa: BLE001 - one cell's failure must not stop the suite
        status, error = FAILED, f"{type(e).__name__}: {e}"
        if _rank() == 0:
            cell_dir.mkdir(parents=True, exist_ok=True)
            from climb.safeio import atomic_write_text

            atomic_write_text(cell_dir / "error.log", traceback.format_exc())
    record = {"cell": cell.spec(), "fingerprint": fingerprint, "status": status, "error": error,
              "wall_seconds": round(time.perf_counter() - t0, 2), "started": started, "finished": _now(),
              "warnings": caught[:20]}
    if _rank() == 0:
        record["files"] = output_files(cell_dir) if status == DONE else {}
        _atomic_json(cell_dir / "cell.json", record)
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


def missing_record(cell: Cell, ctx: CellContext, message: str, fingerprint: str | None = None) -> dict[str, Any]:
    record = {"cell": cell.spec(), "fingerprint": fingerprint, "status": MISSING, "error": message,
              "wall_seconds": 0.0, "started": _now(), "finished": _now(), "warnings": []}
    if _rank() == 0:
        _atomic_json(ctx.cells_dir / cell.id / "cell.json", record)
    return record


def _set_aside(cell_dir: Path) -> None:
    """Start a cell over: its directory moved aside in one rename (another rank sees it whole or gone), then removed."""
    if cell_dir.exists():
        trash = cell_dir.with_name(f".trash-{cell_dir.name}-{uuid.uuid4().hex[:8]}")
        os.replace(cell_dir, trash)
        shutil.rmtree(trash, ignore_errors=True)


# ---------------------------------------------------------------- results


def _notes(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, str) and value.startswith("["):
        try:
            return "; ".join(map(str, ast.literal_eval(value)))
        except (ValueError, SyntaxError):
            return value
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def result_columns() -> list[str]:
    from climb.evaluate import ResultRow

    return [f.name for f in fields(ResultRow)] + EXTRA_COLUMNS


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


def paired_rows(out_dir: Path, suite: Suite, cells: list[Cell]) -> pd.DataFrame:
    """multitask - single AUROC on the same test samples, for every (dataset, encoder, seed) with both done."""
    import numpy as np

    from climb.evaluate import paired_difference
    from climb.prepare import open_prepared

    done = {c.id: c for c in cells if (read_cell(out_dir, c.id) or {}).get("status") == DONE}
    singles = {(c.datasets[0], c.encoder, c.seed): c for c in done.values() if c.protocol == "single"}
    rows = []
    for mt in (c for c in done.values() if c.protocol == "multitask"):
        for ds in mt.datasets:
            single = singles.get((ds, mt.encoder, mt.seed))
            if single is None:
                continue
            a = np.load(out_dir / "cells" / mt.id / "predictions.npz", allow_pickle=False)
            b = np.load(out_dir / "cells" / single.id / "predictions.npz", allow_pickle=False)
            y, pid = a[f"{ds}/y"], a[f"{ds}/patient_id"]
            if not (np.array_equal(y, b[f"{ds}/y"]) and np.array_equal(pid, b[f"{ds}/patient_id"])):
                raise RuntimeError(f"{ds}: test samples of {mt.id} and {single.id} differ; cannot pair")
            diff = paired_difference(y, a[f"{ds}/score"], b[f"{ds}/score"], groups=pid, metric="auroc",
                                     task=open_prepared(ds).card["task"], n_boot=mt.budget.get("n_boot", 200),
                                     seed=mt.seed)
            rows.append({"dataset": ds, "split": "test", "protocol": "multitask-vs-single", "encoder": mt.encoder,
                         "seed": mt.seed, "metric": "auroc", "value": diff.difference, "ci_low": diff.low,
                         "ci_high": diff.high, "n": len(y),
                         "notes": f"AUROC of {mt.id} minus {single.id}; paired patient-level bootstrap "
                                  f"({diff.n_boot} replicates, {diff.n_failed} undefined)",
                         "cell": f"paired__{ds}__{mt.encoder}__seed{mt.seed}", "suite": suite.name,
                         "wall_seconds": float("nan"), "train_samples_per_second": float("nan")})
    return pd.DataFrame(rows, columns=result_columns())


def write_results(out_dir: Path, table: pd.DataFrame) -> None:
    for name, writer in (("results.csv", lambda p: table.to_csv(p, index=False)),
                         ("results.parquet", lambda p: table.to_parquet(p, index=False))):
        tmp = out_dir / f".{name}.tmp"
        writer(tmp)
        os.replace(tmp, out_dir / name)


# ---------------------------------------------------------------- manifest


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    import lightning
    import torch

    import climb

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {"climb_version": climb.__version__, "git_commit": _git_commit(), "python": sys.version.split()[0],
            "torch": torch.__version__, "lightning": lightning.__version__, "platform": platform.platform(),
            "hardware": {"cpu_count": os.cpu_count(), "gpus": gpus, "machine": platform.machine()}}


class Manifest:
    """manifest.json, rewritten atomically after every cell."""

    def __init__(self, out_dir: Path, suite: Suite, suite_file: str | None, compute: dict[str, Any]):
        self.path = out_dir / "manifest.json"
        old = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.data: dict[str, Any] = {
            "suite": suite.name, "demo": suite.demo, "description": suite.description, "suite_file": suite_file,
            "suite_yaml": suite.model_dump(mode="json"), **environment(), "compute": compute, "seeds": suite.seeds,
            "started": old.get("started", _now()), "attempts": [*old.get("attempts", []), _now()],
            "finished": None, "datasets": {}, "cells": old.get("cells", {}),
        }

    def datasets(self, data: dict[str, DataStatus]) -> None:
        self.data["datasets"] = {n: {k: v for k, v in asdict(s).items() if k != "name"} for n, s in data.items()}

    def cell(self, cell_id: str, record: dict[str, Any]) -> None:
        self.data["cells"][cell_id] = {k: record.get(k) for k in ("status", "wall_seconds", "error")}

    def write(self, finished: bool = False) -> None:
        if finished:
            self.data["finished"] = _now()
        if _rank() == 0:
            _atomic_json(self.path, self.data)


# ---------------------------------------------------------------- the suite


def run_suite(suite: Suite, out_dir: str | Path, resume: bool = True, *, only: str | None = None,
              overrides: dict[str, Any] | None = None, paired: bool | None = None, prepare_workers: int = 1,
              suite_file: str | None = None, progress: Any = None) -> Path:
    """Run every cell of `suite` into `out_dir` and return it (see module docstring).

    `only`: comma-separated glob(s) over cell ids; `overrides`: accelerator / devices / strategy /
    precision / num_nodes over the suite's `compute`; `progress`: a `SuiteProgress` (None: silent).
    One writer per run directory: rank zero holds `RunLock` for the whole run.
    """
    out_dir = Path(out_dir)
    validate_suite(suite)  # bad suites fail before anything is locked, prepared or trained
    if _rank() != 0:
        return _run_suite(suite, out_dir, resume, only, overrides, paired, prepare_workers, suite_file, progress)
    with RunLock(out_dir):
        return _run_suite(suite, out_dir, resume, only, overrides, paired, prepare_workers, suite_file, progress)


def _run_suite(suite: Suite, out_dir: Path, resume: bool, only: str | None, overrides: dict[str, Any] | None,
               paired: bool | None, prepare_workers: int, suite_file: str | None, progress: Any) -> Path:
    compute = {**suite.compute.model_dump(), **{k: v for k, v in (overrides or {}).items()
                                                if k in COMPUTE_KEYS and v is not None}}
    cells = validate_suite(suite)
    kinds = suite_kinds(suite)
    needed = sorted({d for c in cells if not only or any(fnmatch.fnmatch(c.id, p) for p in only.split(","))
                     for d in cell_datasets(c)})
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_dir, suite, suite_file, compute)
    prog = progress if progress is not None and _rank() == 0 else _NoProgress()
    prog.start_data(len(needed))
    data = check_data(suite, needed, prepare_workers, on_done=prog.data_done)
    manifest.datasets(data)
    planned = plan(suite, out_dir, data, resume=resume, only=only, compute=compute)
    ctx = CellContext(suite, out_dir, compute, kinds, callbacks=prog.callbacks)
    prog.start_cells(planned)
    for p in planned:
        if p.action == "skipped":
            continue
        if p.action == "done":
            manifest.cell(p.cell.id, read_cell(out_dir, p.cell.id) or {})
            continue
        if p.fresh and p.action == "run" and _rank() == 0:
            _set_aside(out_dir / "cells" / p.cell.id)  # its trainings start over (ctx.fresh), none resumes
        ctx.fresh = p.fresh
        prog.cell_started(p.cell, p.message)
        record = missing_record(p.cell, ctx, p.message or "", p.fingerprint) if p.action == MISSING \
            else run_cell(p.cell, ctx, p.fingerprint)
        manifest.cell(p.cell.id, record)
        manifest.write()
        prog.cell_finished(p.cell, record)
    if _rank() == 0:
        problems: list[str] = []
        table = gather(out_dir, suite, [c.id for c in cells], problems)
        if suite.paired if paired is None else paired:
            pairs = paired_rows(out_dir, suite, cells)
            table = pd.concat([table, pairs], ignore_index=True) if len(pairs) and len(table) else \
                (pairs if len(pairs) else table)
        write_results(out_dir, table)
        manifest.data["problems"] = problems
        for problem in problems:
            prog.problem(problem)
    manifest.write(finished=True)
    prog.stop()
    return out_dir


class _NoProgress:
    """The progress interface, silent (see climb.cli.cmd_benchmark for the rich one)."""

    def start_data(self, n: int) -> None: ...
    def data_done(self, status: DataStatus) -> None: ...
    def start_cells(self, planned: list[PlannedCell]) -> None: ...
    def cell_started(self, cell: Cell, message: str | None = None) -> None: ...
    def problem(self, text: str) -> None: ...
    def cell_finished(self, cell: Cell, record: dict[str, Any]) -> None: ...
    def stop(self) -> None: ...

    def callbacks(self, label: str) -> list:
        return []


class RichProgress(_NoProgress):
    """Overall progress (cells done/total, current cell, elapsed) and per-cell training progress."""

    def __init__(self, console: Any = None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        self.console = console or Console(stderr=True)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=False)
        self.overall: Any = None
        self.current: Any = None

    def start_data(self, n: int) -> None:
        self.progress.start()
        self.overall = self.progress.add_task("checking / preparing data", total=n)

    def data_done(self, status: DataStatus) -> None:
        self.progress.advance(self.overall)
        if not status.ready:
            self.console.print(f"[yellow]data:[/yellow] {status.message}")

    def start_cells(self, planned: list[PlannedCell]) -> None:
        active = [p for p in planned if p.action != "skipped"]
        kept = sum(p.action == "done" for p in active)
        self.progress.reset(self.overall, total=len(active), completed=kept, description="cells")
        if kept:
            self.console.print(f"resuming: {kept} finished cell(s) kept")

    def cell_started(self, cell: Cell, message: str | None = None) -> None:
        self.progress.update(self.overall, description=f"cells: [bold]{cell.id}[/bold]")
        if message:
            self.console.print(f"{cell.id}: {message}", markup=False, highlight=False)

    def problem(self, text: str) -> None:
        self.console.print(f"problem: {text}", markup=False, highlight=False)

    def cell_finished(self, cell: Cell, record: dict[str, Any]) -> None:
        self.progress.advance(self.overall)
        colour = {DONE: "green", FAILED: "red"}.get(record["status"], "yellow")
        line = f"[{colour}]{record['status']:>12}[/{colour}] {cell.id} ({record['wall_seconds']:.1f} s)"
        if record.get("error"):
            line += f": {record['error']}"
        self.console.print(line)
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None

    def callbacks(self, label: str) -> list:
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(f"  {label}", total=None)
        from climb.train.runlog import PlainProgress  # without a terminal the bars stay blank: plain lines

        plain = [] if self.console.is_terminal else [PlainProgress(stream=self.console.file)]
        return [_EpochProgress(self.progress, self.current, label), *plain]

    def stop(self) -> None:
        self.progress.stop()


def _EpochProgress(progress: Any, task: Any, label: str):
    """A Lightning callback that advances `task` per training batch (built lazily: Lightning is heavy)."""
    from lightning.pytorch.callbacks import Callback

    class EpochProgress(Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            total = trainer.max_epochs * trainer.num_training_batches
            progress.update(task, total=total, description=f"  {label}: epoch {trainer.current_epoch + 1}"
                                                           f"/{trainer.max_epochs}")

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            progress.advance(task)

        def on_test_start(self, trainer, pl_module) -> None: ...

    return EpochProgress()


__all__ = [
    "CellContext", "RichProgress", "DataStatus", "PlannedCell", "check_data", "gather", "locate_raw", "paired_rows", "plan",
    "prepare_dataset", "run_cell", "run_suite", "validate_suite",
]
