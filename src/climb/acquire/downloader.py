"""The downloader: one entry point for every source kind.

resolve (catalog entry, source, dest, mirror) -> lock the dest -> plan (manifest,
checksums, include selection) -> for each file, in a thread pool: skip if already
verified, else fetch into `<path>.part` (resuming) -> verify every expected digest ->
`os.replace` to the final name -> after a complete run of the entry's default
selection, write `<dest>/.climb_complete`. Kaggle sources without a mirror go through
the official `kaggle` client instead of the fetch loop; manual sources raise with the
entry's instructions (unless a trusted mirror stands in for them).

An entry made of several projects (sources with a `subdir`, `DatasetEntry.parts`: MIMIC-IV
+ MIMIC-CXR-JPG + MIMIC-IV-ECG) downloads every part into `<dest>/<subdir>/`, each through
the same loop against its own checksums, with its own state and completion marker (so each
part resumes on its own); `<dest>/.climb_complete` is written once every part is complete.

Trusted-mirror mode (`trust_mirror=True`, opt-in) verifies every byte against the
mirror's own MANIFEST.sha256 instead of the publisher's checksums, logs loudly which
files differ from the official ones, and records "mirror-verified (differs from
official for N files)" in the completion marker. Credentials never go to a mirror.

Every file the downloader writes (`.part` files, the saved manifest, the state file, the
completion marker, the lock file) goes through `climb.safeio`, which refuses a symbolic
link planted in its place (a link would make climb overwrite whatever it points to).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from climb import __version__
from climb.acquire import urls
from climb.acquire.checksums import VerifiedState, hash_file, mismatches
from climb.acquire.credentials import access_help, is_physionet_host, physionet_auth
from climb.acquire.errors import (AccessDeniedError, AcquireError, AcquireUsageError, ChecksumError,
                                  ManualSourceError, SelectionError)
from climb.acquire.kaggle_source import download_kaggle
from climb.acquire.mirror import MIRROR_MANIFEST, Mirror
from climb.acquire.plan import FileTask, Plan, Planner, split_include
from climb.acquire.progress import DownloadProgress
from climb.acquire.transport import RetryPolicy, TransferLimits, Transport
from climb.catalog.schema import Access, DatasetEntry, Source, SourceKind
from climb.config import raw_dir
from climb.safeio import atomic_write_bytes, atomic_write_json, refuse_symlink

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
    trusted_mirror: bool = False
    differs_from_official: list[str] = field(default_factory=list)  # trusted mode
    without_official_checksum: list[str] = field(default_factory=list)  # trusted mode
    official_not_in_mirror: list[str] = field(default_factory=list)  # trusted mode
    unpinned_manifest: str | None = None  # strict mode: checksums from an unpinned manifest of the publisher
    unverified: list[str] = field(default_factory=list)  # Kaggle: files no checksum covers (recorded only)
    parts: dict[str, "DownloadReport"] = field(default_factory=dict)  # multi-part entry: subdir -> its report

    @property
    def verification(self) -> str:
        """How the bytes were verified, in words (also written to the completion marker)."""
        if self.trusted_mirror:
            return f"mirror-verified (differs from official for {len(self.differs_from_official)} files)"
        if self.unverified:
            return (f"unverified: {len(self.unverified)} file(s) have no published or pinned checksum "
                    "(hashed and recorded, not checked)")
        if self.unpinned_manifest:
            return (f"official checksums ({self.unpinned_manifest} fetched from the publisher over TLS; "
                    "not pinned by the catalog)")
        return "official checksums"

    def summary(self) -> str:
        mb = self.bytes_downloaded / 1e6
        state = "complete" if self.complete else "selection done (no completion marker)"
        return (f"{self.dataset_id}: {len(self.downloaded)} downloaded ({mb:.1f} MB), "
                f"{len(self.skipped)} already verified, {len(self.files)} files in {self.dest} [{state}; "
                f"{self.verification}]")


def _entry(dataset: str | DatasetEntry) -> DatasetEntry:
    if isinstance(dataset, DatasetEntry):
        return dataset
    from climb import catalog

    try:
        return catalog.get(dataset)
    except KeyError as e:
        raise AcquireUsageError(str(e.args[0]) if e.args else f"unknown dataset {dataset!r}") from None


def pick_source(entry: DatasetEntry, allow_manual: bool = False) -> Source:
    """The first scripted source of `entry`; manual-only entries raise their instructions.

    With `allow_manual` (a trusted mirror stands in for the publisher) a manual source is
    returned instead: its files then come from the mirror's MANIFEST.sha256.
    """
    for source in entry.sources:
        if source.kind != SourceKind.manual:
            return source
    manual = next((s for s in entry.sources if s.kind == SourceKind.manual), None)
    if manual is not None and allow_manual:
        return manual
    if manual is not None:
        raise _manual_error(entry, manual)
    raise AcquireError(f"{entry.id} has no download source in the catalog; see {entry.homepage}")


def _manual_error(entry: DatasetEntry, source: Source) -> ManualSourceError:
    part = f" (part {source.subdir}/)" if source.subdir else ""
    return ManualSourceError(f"{entry.id}{part} cannot be downloaded by script: {source.instructions.strip()} "
                             f"(see {entry.homepage})")


def download(dataset: str | DatasetEntry, dest: str | Path | None = None, mirror: str | Path | None = None,
             include: list[str] | str | None = None, workers: int = 4, quiet: bool = False,
             retry: RetryPolicy | None = None, lock_timeout: float = -1,
             trust_mirror: bool = False, limits: TransferLimits | None = None) -> DownloadReport:
    """Download and verify a catalog dataset into `dest` (default: climb's raw cache).

    An entry made of parts (sources with a `subdir`) gets every part, each in `dest/<subdir>`;
    an include item then starts with its part's folder (``mimic-iv-ecg/record_list.csv``).

    `mirror` (a directory or URL prefix) stands in for the official host; `include`
    narrows the selection (globs, file paths, PhysioNet record names such as "100",
    or "@FILE" for a list of those, one per line). `trust_mirror` verifies against the
    mirror's MANIFEST.sha256 instead of the publisher's checksums (for mirrors holding
    a modified subset); every file still needs a checksum. `limits` bounds what a server can
    make the download do (expected sizes, manifest cap, minimum speed, deadline).
    """
    entry = _entry(dataset)
    if trust_mirror and mirror is None:
        raise AcquireUsageError(f"{entry.id}: trust_mirror (--trust-mirror) needs a mirror (--mirror DIR or URL)")
    if isinstance(dest, str) and not dest.strip():
        raise AcquireUsageError(f"{entry.id}: the destination (--dest) is empty; give a directory")
    source = None if entry.parts else pick_source(entry, allow_manual=trust_mirror)
    dest = Path(dest).expanduser() if dest is not None else raw_dir(entry.id)
    mirror_obj = Mirror.parse(mirror) if mirror is not None else None
    items = split_include(include)
    per_part = _includes_per_part(entry, items) if entry.parts else {}
    dest.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with _locked(dest, entry.id, lock_timeout):
        run = _Run(entry, mirror_obj, max(1, workers), quiet, retry, trust_mirror, limits, time.monotonic())
        report = (run.source(source, dest, items, mirror_obj) if source is not None
                  else run.parts(dest, per_part, bool(items)))
    report.seconds = round(time.monotonic() - started, 3)
    return report


@dataclass
class _Run:
    """The options of one `download` call, applied to one source or to each part of an entry."""

    entry: DatasetEntry
    mirror: Mirror | None
    workers: int
    quiet: bool
    retry: RetryPolicy | None
    trust_mirror: bool
    limits: TransferLimits | None
    started: float  # time.monotonic() at the start of the call: one deadline for every part

    def source(self, source: Source, dest: Path, items: list[str], mirror: Mirror | None) -> DownloadReport:
        if source.kind == SourceKind.kaggle and mirror is None:
            return _run_kaggle(self.entry, source, dest, self.quiet)
        if source.kind == SourceKind.manual and not self.trust_mirror:
            raise _manual_error(self.entry, source)
        return _run_files(self.entry, source, dest, mirror, items, self.workers, self.quiet, self.retry,
                          self.trust_mirror, self.limits, self.started)

    def parts(self, dest: Path, per_part: dict[str, list[str]], narrowed: bool) -> DownloadReport:
        """Each chosen part into `dest/<subdir>`; the entry's marker once every part is complete."""
        if not narrowed:
            (dest / MARKER).unlink(missing_ok=True)
        reports: dict[str, DownloadReport] = {}
        for part in self.entry.parts:
            if part.subdir not in per_part:
                continue
            sub = dest / part.subdir
            refuse_symlink(sub)  # a planted link would send the part's files elsewhere
            sub.mkdir(parents=True, exist_ok=True)
            mirror = self.mirror.sub(part.subdir) if self.mirror else None
            run = replace(self, entry=self.entry.model_copy(update={"id": f"{self.entry.id}/{part.subdir}"}))
            reports[part.subdir] = run.source(part, sub, per_part[part.subdir], mirror)  # messages name the part
        report = _combined(self.entry, dest, self.mirror, reports)
        if not narrowed and all(r.complete for r in reports.values()):
            atomic_write_json(dest / MARKER, {
                "dataset": self.entry.id, "verification": report.verification,
                "parts": {d: {"source": r.source, "marker": f"{d}/{MARKER}", "verification": r.verification}
                          for d, r in reports.items()},
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "climb_version": __version__,
            }, indent=1)
            report.complete = True
        return report


def _includes_per_part(entry: DatasetEntry, items: list[str]) -> dict[str, list[str]]:
    """`{subdir: include items within that part}` for the parts `items` choose (all of them when empty).

    An item names its part's folder first (``mimic-iv-ecg/record_list.csv``); the folder
    alone chooses the whole part.
    """
    folders = [p.subdir for p in entry.parts]
    if not items:
        return {f: [] for f in folders}
    out: dict[str, list[str]] = {}
    whole: set[str] = set()
    for item in items:
        folder = next((f for f in folders if item == f or item.startswith(f + "/")), None)
        if folder is None:
            raise SelectionError(f"include {item!r}: {entry.id} is made of the parts {folders}; start each "
                                 f"include with its part's folder, e.g. {folders[0]}/...")
        rest = item[len(folder) + 1:].strip("/")
        out.setdefault(folder, []).extend([rest] if rest else [])
        if not rest:
            whole.add(folder)
    return {f: [] if f in whole else chosen for f, chosen in out.items()}  # [] = the part's whole selection


def _combined(entry: DatasetEntry, dest: Path, mirror: Mirror | None,
              reports: dict[str, DownloadReport]) -> DownloadReport:
    """One report for the parts of an entry: paths relative to `dest`, counts summed."""
    def prefixed(d: str, paths: list[str]) -> list[str]:
        return [f"{d}/{p}" for p in paths]

    out = DownloadReport(entry.id, dest, ", ".join(f"{d} ({r.source})" for d, r in reports.items()),
                         mirror.describe() if mirror else None, parts=reports,
                         trusted_mirror=any(r.trusted_mirror for r in reports.values()))
    for d, r in reports.items():
        for name in ("files", "downloaded", "skipped", "differs_from_official", "without_official_checksum",
                     "official_not_in_mirror", "unverified"):
            getattr(out, name).extend(prefixed(d, getattr(r, name)))
        out.bytes_downloaded += r.bytes_downloaded
    unpinned = [f"{d}/{r.unpinned_manifest}" for d, r in reports.items() if r.unpinned_manifest]
    out.unpinned_manifest = ", ".join(unpinned) or None
    return out


class _locked:
    """Exclusive per-dest lock, so two processes never write the same dataset at once."""

    def __init__(self, dest: Path, dataset_id: str, timeout: float) -> None:
        refuse_symlink(dest / LOCK)  # filelock opens it with O_TRUNC, which would follow a link
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


def _transport(entry: DatasetEntry, source: Source, mirror: Mirror | None, retry: RetryPolicy | None,
               limits: TransferLimits | None = None, started: float | None = None) -> Transport:
    is_physionet = source.kind == SourceKind.physionet
    auth = physionet_auth() if is_physionet else None  # sent only to physionet.org (below)
    if is_physionet and entry.access != Access.open and auth is None and mirror is None:
        raise AccessDeniedError(f"{entry.id} requires a PhysioNet login: {access_help(entry, source.kind)}")

    def auth_for(url: str):
        return auth if auth is not None and is_physionet_host(urls.host_of(url)) else None

    return Transport(retry, auth_for=auth_for, access_help=access_help(entry, source.kind), limits=limits,
                     started=started)


def _run_files(entry: DatasetEntry, source: Source, dest: Path, mirror: Mirror | None, include: list[str],
               workers: int, quiet: bool, retry: RetryPolicy | None, trust_mirror: bool = False,
               limits: TransferLimits | None = None, started: float | None = None) -> DownloadReport:
    transport = _transport(entry, source, mirror, retry, limits, started)
    state = VerifiedState(dest)
    report = DownloadReport(entry.id, dest, source.kind.value, mirror.describe() if mirror else None,
                            trusted_mirror=trust_mirror)
    try:
        plan = Planner(entry, source, mirror, transport, dest, trust_mirror=trust_mirror).build(include)
        if plan.full_selection:
            (dest / MARKER).unlink(missing_ok=True)
        if plan.trusted:
            _announce_trusted(plan)
        _save_manifest(plan, dest)
        _fetch_all(plan, dest, transport, state, report, workers, quiet)
    finally:
        transport.close()
        state.flush()
    report.files = ([plan.manifest_path] if plan.manifest_path else []) + [t.path for t in plan.files]
    if plan.manifest_path and not plan.manifest_pinned and not plan.trusted:
        report.unpinned_manifest = plan.manifest_path
    if plan.trusted:
        _record_differences(plan, report)
    if plan.full_selection:
        _write_marker(plan, dest, state, report)
        report.complete = True
    return report


def _save_manifest(plan: Plan, dest: Path) -> None:
    if plan.manifest_path is None or plan.manifest_bytes is None:
        return
    target = dest / plan.manifest_path
    if target.is_file() and not target.is_symlink() and target.stat().st_size == len(plan.manifest_bytes) \
            and target.read_bytes() == plan.manifest_bytes:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, plan.manifest_bytes)


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
            fetched, actual = f.result()
            with lock:
                (report.downloaded if fetched is not None else report.skipped).append(task.path)
                report.bytes_downloaded += fetched or 0
                if task.official and mismatches(actual, task.official):
                    report.differs_from_official.append(task.path)


def _ensure_file(plan: Plan, task: FileTask, dest: Path, transport: Transport, state: VerifiedState,
                 progress: DownloadProgress) -> tuple[int | None, dict[str, str]]:
    """Make `dest/task.path` present and verified.

    Returns (bytes fetched, or None if it was already there; its digests for `task.algos()`).
    """
    final = dest / task.path
    if not final.resolve().is_relative_to(dest.resolve()):
        raise AcquireError(f"{plan.entry.id}: refusing path outside the destination: {task.path!r}")
    existing = _existing_digests(plan, task, final, state)
    if existing is not None:
        progress.file_skipped(final.stat().st_size)
        return None, existing
    part = final.with_name(final.name + ".part")
    what = f"{plan.entry.id}: {task.path}"
    bar = progress.file(task.path)
    try:
        if task.local is not None:
            transport.copy_local(task.local, part, what, bar, size=task.size)
        else:
            assert task.url is not None
            transport.fetch(task.url, part, what, bar, size=task.size)
    finally:
        bar.close()
    digests = _verify(plan, task, part)
    size = part.stat().st_size
    os.replace(part, final)
    state.record(task.path, final, digests)
    progress.file_finished()
    return size, digests


def _existing_digests(plan: Plan, task: FileTask, final: Path, state: VerifiedState) -> dict[str, str] | None:
    """Digests of an already present, verified `final`; None (and the file removed) if it fails."""
    if not final.is_file():
        return None
    algos = task.algos()
    recorded = state.verified_digests(task.path, final, task.digests)
    if recorded is not None and all(a in recorded for a in algos):
        return recorded
    actual = hash_file(final, algos)
    if not mismatches(actual, task.digests):
        state.record(task.path, final, actual)
        return actual
    log.warning("%s: %s exists but fails its checksum; downloading it again", plan.entry.id, task.path)
    state.forget(task.path)
    final.unlink()
    return None


def _verify(plan: Plan, task: FileTask, part: Path) -> dict[str, str]:
    """Digests of the downloaded `part`; on any mismatch the file is deleted and we raise."""
    actual = hash_file(part, task.algos())
    problems = [f"expected {a} {e}, got {g}" for a, e, g in mismatches(actual, task.digests)]
    size = part.stat().st_size
    if task.size is not None and size != task.size:
        problems.append(f"expected {task.size} bytes, got {size}")
    if problems:
        part.unlink(missing_ok=True)
        where = urls.redact(task.url) if task.url else str(task.local)
        hint = ""
        if plan.mirror is not None and not plan.trusted:
            hint = (f"; if the mirror deliberately holds a modified copy, --trust-mirror (trust_mirror=True) "
                    f"verifies against the mirror's {MIRROR_MANIFEST} instead")
        raise ChecksumError(f"{plan.entry.id}: {task.path}: checksum mismatch ({'; '.join(problems)}; "
                            f"checksum from {task.origin}, file from {where}); the corrupt file was "
                            f"deleted{hint}")
    return actual


def _announce_trusted(plan: Plan) -> None:
    assert plan.mirror is not None
    log.warning("%s: TRUSTED MIRROR: verifying %d file(s) against %s/%s, not against the publisher's "
                "checksums", plan.entry.id, len(plan.files), plan.mirror.describe().rstrip("/"), MIRROR_MANIFEST)


def _shown(paths: list[str], limit: int = 20) -> str:
    return ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _record_differences(plan: Plan, report: DownloadReport) -> None:
    """Fill the trusted-mode fields of `report` and log loudly how the data departs from official."""
    differs = sorted(report.differs_from_official)
    if plan.manifest_differs and plan.manifest_path:
        differs.insert(0, plan.manifest_path)
    report.differs_from_official = differs
    report.without_official_checksum = plan.without_official_checksum()
    report.official_not_in_mirror = plan.official_not_in_mirror
    name = plan.entry.id
    if plan.manifest_path and plan.manifest_bytes is not None and not plan.manifest_pinned:
        log.warning("%s: TRUSTED MIRROR: the 'official' checksums compared with come from the mirror's own copy "
                    "of %s, which the catalog does not pin (the mirror's word, not the publisher's)",
                    name, plan.manifest_path)
    if differs:
        log.warning("%s: TRUSTED MIRROR: %d file(s) DIFFER from the official checksums: %s",
                    name, len(differs), _shown(differs))
    if report.without_official_checksum:
        log.warning("%s: TRUSTED MIRROR: %d file(s) have no official checksum to compare with: %s", name,
                    len(report.without_official_checksum), _shown(report.without_official_checksum))
    if report.official_not_in_mirror:
        log.warning("%s: TRUSTED MIRROR: %d official file(s) are not in the mirror: %s", name,
                    len(report.official_not_in_mirror), _shown(report.official_not_in_mirror))


def _write_marker(plan: Plan, dest: Path, state: VerifiedState, report: DownloadReport) -> None:
    files = [{"path": t.path, **t.digests} for t in plan.files]
    manifest = [{"path": plan.manifest_path, **({"sha256": plan.manifest_sha256} if plan.manifest_sha256 else {}),
                 "pinned": plan.manifest_pinned}]
    payload = {
        "dataset": plan.entry.id,
        "source": {"kind": plan.source.kind.value, "base_url": plan.source.base_url,
                   "manifest": plan.manifest_path, "mirror": plan.mirror.describe() if plan.mirror else None},
        "verification": report.verification,
        "files": (manifest if plan.manifest_path else []) + files,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "climb_version": __version__,
    }
    if plan.trusted:
        payload["trusted_mirror"] = {
            "checksums_from": f"{plan.mirror.describe().rstrip('/')}/{MIRROR_MANIFEST}" if plan.mirror else None,
            "official_checksums_from": _official_reference(plan),
            "differs_from_official": report.differs_from_official,
            "without_official_checksum": report.without_official_checksum,
            "official_not_in_mirror": report.official_not_in_mirror,
        }
    atomic_write_json(dest / MARKER, payload, indent=1)


def _official_reference(plan: Plan) -> str:
    """Trusted mode: what the "differs from official" comparison was made against, exactly."""
    parts = []
    if plan.manifest_path and plan.manifest_bytes is not None:
        parts.append(f"{plan.manifest_path} pinned by the catalog" if plan.manifest_pinned else
                     f"{plan.manifest_path} as served by the mirror (not pinned by the catalog: the mirror's word)")
    if plan.source.files:
        parts.append("the catalog entry's checksums")
    return "; ".join(parts) or "none (no official checksums to compare with)"


def _kaggle_already_complete(dest: Path) -> dict | None:
    """The marker of a previous complete Kaggle download if all its files are still verified, else None."""
    try:
        marker = json.loads((dest / MARKER).read_text())
    except (OSError, ValueError):
        return None
    state = VerifiedState(dest)
    for f in marker.get("files", []):
        expected = {a: f[a] for a in ("sha256", "md5") if a in f}
        path = dest / f["path"]
        if not expected:
            return None
        if not state.is_verified(f["path"], path, expected) and not (
                path.is_file() and not mismatches(hash_file(path, list(expected)), expected)):
            return None
    return marker


def _run_kaggle(entry: DatasetEntry, source: Source, dest: Path, quiet: bool) -> DownloadReport:
    marker = _kaggle_already_complete(dest)
    if marker is not None:
        done = [f["path"] for f in marker.get("files", [])]
        return DownloadReport(entry.id, dest, "kaggle", None, files=done, skipped=done, complete=True,
                              unverified=list(marker.get("unverified", [])))
    (dest / MARKER).unlink(missing_ok=True)
    digests = download_kaggle(entry, source, dest, quiet)
    state = VerifiedState(dest)
    for path, d in digests.items():
        state.record(path, dest / path, d)
    state.flush()
    pinned = {f.path for f in source.files if f.sha256 or f.md5}
    report = DownloadReport(entry.id, dest, source.kind.value, None, files=sorted(digests),
                            downloaded=sorted(digests), complete=True,
                            unverified=sorted(set(digests) - pinned))
    report.bytes_downloaded = sum((dest / p).stat().st_size for p in digests)
    atomic_write_json(dest / MARKER, {
        "dataset": entry.id, "source": {"kind": "kaggle", "kaggle": source.kaggle},
        "verification": report.verification, "unverified": report.unverified,
        "files": [{"path": p, **d} for p, d in digests.items()],
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "climb_version": __version__,
    }, indent=1)
    return report
