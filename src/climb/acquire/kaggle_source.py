"""Kaggle adapter: datasets and competitions through the official `kaggle` package.

check a token exists (never read or shown by climb) -> import `kaggle` lazily ->
authenticate -> download the archive into `<dest>/.kaggle_download/` (the client
resumes it) -> extract safely into `<dest>` (never outside it, never through a symbolic
link) -> verify the files the catalog entry pins.
Kaggle publishes no checksums, so unpinned files are hashed and recorded (logged).
HTTP 401/403/404 become actionable errors (token, competition rules, name).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import zipfile
from pathlib import Path

from climb.acquire.checksums import hash_file, mismatches
from climb.acquire.credentials import kaggle_help, kaggle_token_available
from climb.acquire.errors import AccessDeniedError, AcquireError, ChecksumError, NotFoundError
from climb.catalog.schema import DatasetEntry, Source
from climb.extras import OPTIONAL, missing_extra
from climb.safeio import open_for_write, refuse_symlink

log = logging.getLogger("climb.acquire")
STAGING = ".kaggle_download"


def parse_ref(ref: str) -> tuple[str, str]:
    """`("competition", name)` or `("dataset", "owner/name")` from a source's `kaggle` field."""
    if ref.startswith("competition/"):
        return "competition", ref.split("/", 1)[1]
    if ref.count("/") != 1:
        raise AcquireError(f"kaggle reference {ref!r} must be 'owner/dataset' or 'competition/<name>'")
    return "dataset", ref


def _api():
    """An authenticated `KaggleApi`; its own prints (which may name config paths) are swallowed."""
    if not kaggle_token_available():
        raise AccessDeniedError(f"no Kaggle API token found: {kaggle_help()}")
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
    except ImportError as e:
        missing = (e.name or "kaggle").partition(".")[0]
        if missing in OPTIONAL:
            raise missing_extra(missing, "Kaggle downloads (the official kaggle client)") from None
        raise AcquireError(f"cannot import the official `kaggle` client (module {missing!r} is missing): "
                           f"pip install kaggle {missing}") from None
    except (SystemExit, Exception):
        raise AccessDeniedError(f"Kaggle authentication failed: {kaggle_help()}") from None
    return api


def _status(exc: BaseException) -> int | None:
    for obj in (exc, getattr(exc, "response", None)):
        for attr in ("status_code", "status", "code"):
            value = getattr(obj, attr, None)
            if isinstance(value, int):
                return value
    return None


def _fetch_archive(kind: str, name: str, staging: Path, quiet: bool) -> None:
    api = _api()
    try:
        if kind == "competition":
            api.competition_download_files(name, path=str(staging), quiet=quiet)
        else:
            api.dataset_download_files(name, path=str(staging), quiet=quiet, unzip=False)
    except Exception as e:  # the client raises requests/kagglesdk errors; map by status only
        raise _map_error(kind, name, _status(e)) from None


def _map_error(kind: str, name: str, status: int | None) -> AcquireError:
    page = (f"https://www.kaggle.com/competitions/{name}" if kind == "competition"
            else f"https://www.kaggle.com/datasets/{name}")
    if status == 401:
        return AccessDeniedError(f"Kaggle rejected the API token (HTTP 401): {kaggle_help()}")
    if status == 403 and kind == "competition":
        return AccessDeniedError(f"Kaggle refused the download (HTTP 403): accept the competition "
                                 f"rules at {page}/rules while signed in as the token's user, then retry")
    if status == 403:
        return AccessDeniedError(f"Kaggle refused the download (HTTP 403): open {page} and accept "
                                 "its terms while signed in as the token's user, then retry")
    if status == 404:
        return NotFoundError(f"Kaggle {kind} {name!r} not found (HTTP 404): check {page}")
    return AcquireError(f"Kaggle download of {kind} {name!r} failed"
                        + (f" (HTTP {status})" if status else "") + "; re-run to resume")


def _refuse_links_below(dest: Path, target: Path) -> None:
    """`UnsafePathError` when `target` or a directory between `dest` and it is a symbolic link."""
    for path in [*reversed(target.relative_to(dest).parents[:-1]), target.relative_to(dest)]:
        refuse_symlink(dest / path)


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract `archive` into `dest`, refusing members outside it and symbolic links in the way.

    Written member by member because `ZipFile.extractall` opens each target with a plain
    `open(..., "wb")`, which follows a link planted at the member's path and overwrites
    whatever it points to; here every file is opened with `climb.safeio.open_for_write`.
    """
    root = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for member in members:
            target = (dest / member.filename).resolve()
            if not target.is_relative_to(root):
                raise AcquireError(f"{archive.name}: refusing to extract {member.filename!r} outside {dest}")
        for member in members:
            target = dest / member.filename
            _refuse_links_below(dest, target)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open_for_write(target) as out:
                shutil.copyfileobj(src, out, 1 << 20)


def download_kaggle(entry: DatasetEntry, source: Source, dest: Path,
                    quiet: bool) -> dict[str, dict[str, str]]:
    """Fetch and extract the Kaggle source of `entry`; `{path: digests}` of every file."""
    kind, name = parse_ref(source.kaggle or "")
    staging = dest / STAGING
    refuse_symlink(staging)
    staging.mkdir(parents=True, exist_ok=True)
    for planted in (p for p in staging.iterdir() if p.is_symlink()):  # the client writes its archive here
        refuse_symlink(planted)
    _fetch_archive(kind, name, staging, quiet)
    archives = sorted(staging.glob("*.zip"))
    if not archives:
        raise AcquireError(f"{entry.id}: the Kaggle download produced no archive in {staging}")
    for archive in archives:
        _safe_extract(archive, dest)
    shutil.rmtree(staging)
    return _verify_extracted(entry, source, dest)


def _verify_extracted(entry: DatasetEntry, source: Source, dest: Path) -> dict[str, dict[str, str]]:
    pinned = {f.path: {a: getattr(f, a) for a in ("sha256", "md5") if getattr(f, a)} for f in source.files}
    out: dict[str, dict[str, str]] = {}
    for path in sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".climb")):
        rel = path.relative_to(dest).as_posix()
        if rel.startswith(STAGING):
            continue
        out[rel] = hash_file(path)
        bad = mismatches(out[rel], pinned.get(rel, {}))
        if bad:
            algo, expected, actual = bad[0]
            path.unlink()
            raise ChecksumError(f"{entry.id}: {rel}: checksum mismatch: expected {algo} {expected}, "
                                f"got {actual}; the file was deleted")
    absent = sorted(set(pinned) - set(out))
    if absent:
        raise NotFoundError(f"{entry.id}: the Kaggle archive lacks pinned file(s): {', '.join(absent[:5])}")
    unpinned = len(set(out) - set(pinned))
    if unpinned:
        log.warning("%s: Kaggle publishes no checksums; %d file(s) are not pinned in the catalog entry "
                    "and were recorded (sha256) without verification", entry.id, unpinned)
    return out
