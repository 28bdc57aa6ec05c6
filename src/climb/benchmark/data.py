"""A suite's data: locate each dataset's raw files and prepare it (idempotent), or say how to get it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from climb.benchmark.suite import DatasetSpec, Suite


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

    if spec.raw is not None:
        return spec.local_raw(name)
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


def prepare_dataset(name: str, spec: DatasetSpec, dry_run: bool = False, workers: int = 1) -> DataStatus:
    """Locate the raw files of `name` and prepare it (idempotent; `workers` shard its records); never raises."""
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
        card = prepare(name, raw=raw, workers=workers).card
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


def _prepare_job(args: tuple[str, dict[str, Any], bool, int]) -> DataStatus:
    name, spec, dry_run, workers = args
    return prepare_dataset(name, DatasetSpec.model_validate(spec), dry_run, workers)


def check_data(suite: Suite, names: list[str], workers: int = 1, dry_run: bool = False,
               on_done: Callable[[DataStatus], None] | None = None) -> dict[str, DataStatus]:
    """Prepare (or, with `dry_run`, only locate) `names`. With `workers` > 1, several datasets are
    prepared by a pool of processes (one each), a single one by its builder's own `workers`."""
    pooled = workers > 1 and len(names) > 1
    jobs = [(n, suite.datasets[n].model_dump(), dry_run, 1 if pooled else workers) for n in names]
    out: dict[str, DataStatus] = {}
    pool = ProcessPoolExecutor(max_workers=workers) if pooled else None
    try:
        for status in pool.map(_prepare_job, jobs) if pool else map(_prepare_job, jobs):
            out[status.name] = status
            if on_done:
                on_done(status)
    finally:
        if pool:
            pool.shutdown()
    return out
