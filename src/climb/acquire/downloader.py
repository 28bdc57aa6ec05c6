"""The downloader: one entry point for every source kind.

resolve (catalog entry, source, dest, mirror) -> lock the dest -> plan (manifest,
checksums, include selection) -> for each file, in a thread pool: skip if already
verified, else fetch into `<path>.part` (resuming) -> verify every expected digest ->
`os.replace` to the final name -> after a complete run of the entry's default
selection, write `<dest>/.climb_complete`. Kaggle sources without a mirror go through
the official `kaggle` client instead of the fetch loop; manual sources raise with the
entry's instructions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from climb import __version__
from climb.acquire import urls
from climb.acquire.checksums import VerifiedState, hash_file, mismatches
from climb.acquire.credentials import access_help, is_physionet_host, physionet_auth
from climb.acquire.errors import AccessDeniedError, AcquireError, ChecksumError, ManualSourceError
from climb.acquire.kaggle_source import download_kaggle
from climb.acquire.mirror import Mirror
from climb.acquire.plan import FileTask, Plan, Planner, split_include
from climb.acquire.progress import DownloadProgress
from climb.acquire.transport import RetryPolicy, Transport
from climb.catalog.schema import Access, DatasetEntry, Source, SourceKind
from climb.config import raw_dir

log = logging.getLogger("climb.acquire")
MARKER = ".climb_complete"
LOCK = ".climb.lock"


@dataclass
class DownloadReport:
    """What a download did. `complete` is True when the marker was written."""

    dataset_id: str
    dest: Path
    source: str
    mirror: str | None
    files: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0
    complete: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        mb = self.bytes_downloaded / 1e6
        state = "complete" if self.complete else "selection done (no completion marker)"
        return (f"{self.dataset_id}: {len(self.downloaded)} downloaded ({mb:.1f} MB), "
                f"{len(self.skipped)} already verified, {len(self.files)} files in {self.dest} [{state}]")


def _entry(dataset: str | DatasetEntry) -> DatasetEntry:
    if isinstance(dataset, DatasetEntry):
        return dataset
    from climb import catalog

    try:
        return catalog.get(dataset)
    except KeyError as e:
        raise AcquireError(str(e.args[0]) if e.args else f"unknown dataset {dataset!r}") from None


def pick_source(entry: DatasetEntry) -> Source:
    """The first scripted source of `entry`; manual-only entries raise their instructions."""
    for source in entry.sources:
        if source.kind != SourceKind.manual:
            return source
    manual = next((s for s in entry.sources if s.kind == SourceKind.manual), None)
    if manual is not None:
        raise ManualSourceError(f"{entry.id} cannot be downloaded by script: {manual.instructions.strip()} "
                                f"(see {entry.homepage})")
    raise AcquireError(f"{entry.id} has no download source in the catalog; see {entry.homepage}")


def download(dataset: str | DatasetEntry, dest: str | Path | None = None, mirror: str | Path | None = None,
             include: list[str] | str | None = None, workers: int = 4, quiet: bool = False,
             retry: RetryPolicy | None = None, lock_timeout: float = -1) -> DownloadReport:
    """Download and verify a catalog dataset into `dest` (default: climb's raw cache).

    `mirror` (a directory or URL prefix) stands in for the official host; `include`
    narrows the selection (globs, file paths, PhysioNet record names such as "100").
    """
    entry = _entry(dataset)
    source = pick_source(entry)
    dest = Path(dest).expanduser() if dest is not None else raw_dir(entry.id)
    mirror_obj = Mirror.parse(mirror) if mirror is not None else None
    items = split_include(include)
    dest.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with _locked(dest, entry.id, lock_timeout):
        if source.kind == SourceKind.kaggle and mirror_obj is None:
            report = _run_kaggle(entry, source, dest, quiet)
        else:
            report = _run_files(entry, source, dest, mirror_obj, items, max(1, workers), quiet, retry)
    report.seconds = round(time.monotonic() - started, 3)
    return report


class _locked:
    """Exclusive per-dest lock, so two processes never write the same dataset at once."""

    def __init__(self, dest: Path, dataset_id: str, timeout: float) -> None:
        self.lock = FileLock(str(dest / LOCK))
        self.dataset_id, self.timeout = dataset_id, timeout

    def __enter__(self) -> None:
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            log.info("%s: another download of this dataset is running; waiting for it", self.dataset_id)
            try:
                self.lock.acquire(timeout=self.timeout)
            except Timeout:
                raise AcquireError(f"{self.dataset_id}: timed out waiting for another download "
                                   f"(lock {self.lock.lock_file})") from None

    def __exit__(self, *exc) -> None:
        self.lock.release()


def _transport(entry: DatasetEntry, source: Source, mirror: Mirror | None,
               retry: RetryPolicy | None) -> Transport:
    is_physionet = source.kind == SourceKind.physionet
    auth = physionet_auth() if is_physionet else None  # sent only to physionet.org (below)
    if is_physionet and entry.access != Access.open and auth is None and mirror is None:
        raise AccessDeniedError(f"{entry.id} requires a PhysioNet login: {access_help(entry, source.kind)}")

    def auth_for(url: str):
        return auth if auth is not None and is_physionet_host(urls.host_of(url)) else None

    return Transport(retry, auth_for=auth_for, access_help=access_help(entry, source.kind))


def _run_files(entry: DatasetEntry, source: Source, dest: Path, mirror: Mirror | None, include: list[str],
               workers: int, quiet: bool, retry: RetryPolicy | None) -> DownloadReport:
    transport = _transport(entry, source, mirror, retry)
    state = VerifiedState(dest)
    report = DownloadReport(entry.id, dest, source.kind.value, mirror.describe() if mirror else None)
    try:
        plan = Planner(entry, source, mirror, transport, dest).build(include)
        if plan.full_selection:
            (dest / MARKER).unlink(missing_ok=True)
        _save_manifest(plan, dest)
        _fetch_all(plan, dest, transport, state, report, workers, quiet)
    finally:
        transport.close()
        state.flush()
    report.files = ([plan.manifest_path] if plan.manifest_path else []) + [t.path for t in plan.files]
    if plan.full_selection:
        _write_marker(plan, dest, state, report)
        report.complete = True
    return report


def _save_manifest(plan: Plan, dest: Path) -> None:
    if plan.manifest_path is None or plan.manifest_bytes is None:
        return
    target = dest / plan.manifest_path
    if target.is_file() and target.read_bytes() == plan.manifest_bytes:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(plan.manifest_bytes)
    os.replace(tmp, target)


def _fetch_all(plan: Plan, dest: Path, transport: Transport, state: VerifiedState,
               report: DownloadReport, workers: int, quiet: bool) -> None:
    lock = threading.Lock()
    with DownloadProgress(plan.entry.id, len(plan.files), quiet) as progress, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="climb-dl") as pool:
        futures = {pool.submit(_ensure_file, plan, t, dest, transport, state, progress): t
                   for t in plan.files}
        try:
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # KeyboardInterrupt: stop workers at their next chunk
            progress.cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        failures = [f for f in done if f.exception() is not None]
        if failures:
            progress.cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            err = failures[0].exception()
            others = sum(1 for f in futures if f is not failures[0] and f.done() and not f.cancelled()
                         and f.exception() is not None and not isinstance(f.exception(), InterruptedError))
            if others > 0:
                log.error("%s: %d other file(s) also failed", plan.entry.id, others)
            raise err
        for f, task in futures.items():
            fetched = f.result()
            with lock:
                (report.downloaded if fetched is not None else report.skipped).append(task.path)
                report.bytes_downloaded += fetched or 0


def _ensure_file(plan: Plan, task: FileTask, dest: Path, transport: Transport, state: VerifiedState,
                 progress: DownloadProgress) -> int | None:
    """Make `dest/task.path` present and verified; bytes fetched, or None if it was already."""
    final = dest / task.path
    if not final.resolve().is_relative_to(dest.resolve()):
        raise AcquireError(f"{plan.entry.id}: refusing path outside the destination: {task.path!r}")
    if _already_verified(plan, task, final, state):
        progress.file_skipped(final.stat().st_size)
        return None
    part = final.with_name(final.name + ".part")
    what = f"{plan.entry.id}: {task.path}"
    bar = progress.file(task.path)
    try:
        if task.local is not None:
            transport.copy_local(task.local, part, what, bar)
        else:
            assert task.url is not None
            transport.fetch(task.url, part, what, bar)
    finally:
        bar.close()
    digests = _verify(plan, task, part)
    size = part.stat().st_size
    os.replace(part, final)
    state.record(task.path, final, digests)
    progress.file_finished()
    return size


def _already_verified(plan: Plan, task: FileTask, final: Path, state: VerifiedState) -> bool:
    if not final.is_file():
        return False
    if state.is_verified(task.path, final, task.digests):
        return True
    actual = hash_file(final, list(task.digests))
    if not mismatches(actual, task.digests):
        state.record(task.path, final, actual)
        return True
    log.warning("%s: %s exists but fails its checksum; downloading it again", plan.entry.id, task.path)
    state.forget(task.path)
    final.unlink()
    return False


def _verify(plan: Plan, task: FileTask, part: Path) -> dict[str, str]:
    """Digests of the downloaded `part`; on any mismatch the file is deleted and we raise."""
    actual = hash_file(part, list(task.digests))
    problems = [f"expected {a} {e}, got {g}" for a, e, g in mismatches(actual, task.digests)]
    size = part.stat().st_size
    if task.size is not None and size != task.size:
        problems.append(f"expected {task.size} bytes, got {size}")
    if problems:
        part.unlink(missing_ok=True)
        where = urls.redact(task.url) if task.url else str(task.local)
        raise ChecksumError(f"{plan.entry.id}: {task.path}: checksum mismatch ({'; '.join(problems)}; "
                            f"checksum from {task.origin}, file from {where}); the corrupt file was deleted")
    return actual


def _write_marker(plan: Plan, dest: Path, state: VerifiedState, report: DownloadReport) -> None:
    files = [{"path": t.path, **t.digests} for t in plan.files]
    payload = {
        "dataset": plan.entry.id,
        "source": {"kind": plan.source.kind.value, "base_url": plan.source.base_url,
                   "manifest": plan.manifest_path, "mirror": plan.mirror.describe() if plan.mirror else None},
        "files": ([{"path": plan.manifest_path}] if plan.manifest_path else []) + files,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "climb_version": __version__,
    }
    _atomic_json(dest / MARKER, payload)


def _atomic_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def _kaggle_already_complete(dest: Path) -> list[str] | None:
    """Files of a previous complete Kaggle download if all are still verified, else None."""
    try:
        marker = json.loads((dest / MARKER).read_text())
    except (OSError, ValueError):
        return None
    state = VerifiedState(dest)
    files = marker.get("files", [])
    for f in files:
        expected = {a: f[a] for a in ("sha256", "md5") if a in f}
        path = dest / f["path"]
        if not expected:
            return None
        if not state.is_verified(f["path"], path, expected) and not (
                path.is_file() and not mismatches(hash_file(path, list(expected)), expected)):
            return None
    return [f["path"] for f in files]


def _run_kaggle(entry: DatasetEntry, source: Source, dest: Path, quiet: bool) -> DownloadReport:
    done = _kaggle_already_complete(dest)
    if done is not None:
        return DownloadReport(entry.id, dest, "kaggle", None, files=done, skipped=done, complete=True)
    (dest / MARKER).unlink(missing_ok=True)
    digests = download_kaggle(entry, source, dest, quiet)
    state = VerifiedState(dest)
    for path, d in digests.items():
        state.record(path, dest / path, d)
    state.flush()
    report = DownloadReport(entry.id, dest, source.kind.value, None, files=sorted(digests),
                            downloaded=sorted(digests), complete=True)
    report.bytes_downloaded = sum((dest / p).stat().st_size for p in digests)
    _atomic_json(dest / MARKER, {
        "dataset": entry.id, "source": {"kind": "kaggle", "kaggle": source.kaggle},
        "files": [{"path": p, **d} for p, d in digests.items()],
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "climb_version": __version__,
    })
    return report

