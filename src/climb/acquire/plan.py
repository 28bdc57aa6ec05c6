"""Plan: from a catalog source (+ mirror, + include) to the exact list of files to fetch.

resolve the manifest location -> fetch it, check `manifest_sha256` when pinned (a
mismatch is a hard error), parse -> merge checksums from the entry's `files`, the
manifest, a local mirror's MANIFEST.sha256 (only for files the publisher does not
cover; logged) and publisher APIs (Zenodo, GitHub) -> select by the include globs (or
the user's include) -> refuse any selected file without a checksum.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from climb.acquire import urls
from climb.acquire.checksums import hash_bytes, parse_manifest
from climb.acquire.errors import AcquireError, ChecksumError, MissingChecksumError, SelectionError
from climb.acquire.metadata import RemoteFile, github_release_files, zenodo_files
from climb.acquire.mirror import MIRROR_MANIFEST, Mirror
from climb.acquire.transport import Transport
from climb.catalog.schema import DatasetEntry, Source, SourceKind

log = logging.getLogger("climb.acquire")


@dataclass
class FileTask:
    """One file to make present and verified at `dest / path`."""

    path: str
    url: str | None = None  # remote location (official or URL mirror)
    local: Path | None = None  # location in a local-directory mirror
    digests: dict[str, str] = field(default_factory=dict)  # algo -> expected hex digest
    size: int | None = None
    origin: str = ""  # where the checksum came from, for messages


@dataclass
class Plan:
    entry: DatasetEntry
    source: Source
    mirror: Mirror | None
    files: list[FileTask]
    manifest_path: str | None = None
    manifest_bytes: bytes | None = None
    full_selection: bool = True  # the entry's default selection (no user include)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Path-aware glob: `*` and `?` stay within one directory, `**` crosses directories."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            body = pattern[i + 1:j].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    return _glob_regex(pattern).match(path) is not None


def split_include(include: list[str] | tuple[str, ...] | str | None) -> list[str]:
    """User include items; commas and whitespace separate record lists like `100,101`."""
    if include is None:
        return []
    items = [include] if isinstance(include, str) else list(include)
    return [part for item in items for part in item.replace(",", " ").split() if part]


def select(paths: list[str], default: list[str], include: list[str], dataset: str) -> list[str]:
    """Paths chosen by `include` (or by the `default` globs when `include` is empty).

    An include item is a glob (`*` within a directory, `**` across; matched within the
    default selection, or over every file if it matches nothing there), an exact file
    path, or a record name: `100` selects the default selection's `100.*` files (and
    `dir` selects `dir/...`).
    """
    in_default = [p for p in paths if not default or any(glob_match(p, g) for g in default)]
    if not include:
        return in_default
    chosen: set[str] = set()
    for item in include:
        if _is_glob(item):  # within the default selection first, else over every file
            hits = ([p for p in in_default if glob_match(p, item)]
                    or [p for p in paths if glob_match(p, item)])
        elif item in paths:
            hits = [item]
        else:
            stem = item.rstrip("/")
            hits = [p for p in in_default if p.startswith(stem + ".") or p.startswith(stem + "/")]
        if not hits:
            raise SelectionError(f"include {item!r} matches no file of {dataset} "
                                 f"(known files: {len(paths)}, e.g. {', '.join(paths[:3])})")
        chosen.update(hits)
    return [p for p in paths if p in chosen]


class Planner:
    """Builds a `Plan` for one source; network access goes through `transport`."""

    def __init__(self, entry: DatasetEntry, source: Source, mirror: Mirror | None,
                 transport: Transport, dest: Path | None = None) -> None:
        self.entry, self.source, self.mirror, self.transport = entry, source, mirror, transport
        self.dest = dest
        self.tasks: dict[str, FileTask] = {}

    def build(self, include: list[str]) -> Plan:
        manifest_bytes = self._load_manifest()
        self._add_entry_files()
        if not self.tasks and self.source.kind in (SourceKind.zenodo, SourceKind.github):
            self._fill_from_api(list_all=True)
        mirror_sums = self._add_mirror_extras()
        selected = select(list(self.tasks), self.source.include, include, self.entry.id)
        tasks = [self.tasks[p] for p in selected]
        if any(not t.digests for t in tasks):
            self._fill_from_api(list_all=False)
        self._check_mirror_agrees(tasks, mirror_sums)
        self._require_checksums(tasks)
        for t in tasks:
            self._locate(t)
        if not tasks:
            raise SelectionError(f"{self.entry.id}: nothing to download (the source lists no files)")
        return Plan(self.entry, self.source, self.mirror, tasks, self.source.manifest,
                    manifest_bytes, full_selection=not include)

    # -- steps --------------------------------------------------------------------------
    def _where(self, path: str, url: str | None = None) -> tuple[str | None, Path | None]:
        if self.mirror is not None:
            return self.mirror.locate(path)
        if url:
            return url, None
        if self.source.base_url:
            return urls.join(self.source.base_url, path), None
        return None, None

    def _load_manifest(self) -> bytes | None:
        name = self.source.manifest
        if not name:
            return None
        url, local = self._where(name)
        what = f"{self.entry.id}: checksum manifest {name}"
        cached = self._cached_manifest(name)
        if cached is not None:
            data = cached
        elif local is not None:
            if not local.is_file():
                raise AcquireError(f"{what}: not found in the mirror directory: {local}")
            data = local.read_bytes()
        elif url is not None:
            data = self.transport.get_bytes(url, what)
        else:
            raise AcquireError(f"{what}: the source has no base_url to fetch it from")
        self._check_pinned_manifest(name, data)
        for path, digest in parse_manifest(data.decode("utf-8", "replace"),
                                           self.source.manifest_algo, name).items():
            if path != name:
                self.tasks[path] = FileTask(path, digests={self.source.manifest_algo: digest},
                                            origin=name)
        return data

    def _cached_manifest(self, name: str) -> bytes | None:
        """A previous run's copy of a pinned manifest (saves a request on re-runs)."""
        if self.dest is None or self.source.manifest_sha256 is None:
            return None
        try:
            data = (self.dest / name).read_bytes()
        except OSError:
            return None
        return data if hash_bytes(data, "sha256") == self.source.manifest_sha256 else None

    def _check_pinned_manifest(self, name: str, data: bytes) -> None:
        pinned = self.source.manifest_sha256
        if pinned is None:
            log.info("%s: %s is not pinned by manifest_sha256; trusting its transport", self.entry.id, name)
            return
        actual = hash_bytes(data, "sha256")
        if actual != pinned:
            where = self.mirror.describe() if self.mirror else self.source.base_url
            raise ChecksumError(f"{self.entry.id}: checksum manifest {name} from {where} does not match "
                                f"the catalog: expected sha256 {pinned}, got {actual}")

    def _add_entry_files(self) -> None:
        for f in self.source.files:
            task = self.tasks.setdefault(f.path, FileTask(f.path))
            for algo in ("sha256", "md5"):
                value = getattr(f, algo)
                if value is None:
                    continue
                if task.digests.get(algo, value) != value:
                    raise ChecksumError(f"{self.entry.id}: {f.path}: the catalog entry says {algo} "
                                        f"{value} but {task.origin} says {task.digests[algo]}")
                task.digests[algo] = value
            task.size = f.size if f.size is not None else task.size
            task.url = f.url or task.url
            task.origin = task.origin or "catalog entry"

    def _add_mirror_extras(self) -> dict[str, str]:
        sums = self.mirror.local_checksums() if self.mirror else {}
        extras = 0
        for path, digest in sums.items():
            if path in (MIRROR_MANIFEST, self.source.manifest):
                continue
            task = self.tasks.get(path)
            if task is None:
                origin = "mirror " + MIRROR_MANIFEST
                self.tasks[path] = FileTask(path, digests={"sha256": digest}, origin=origin)
                extras += 1
            elif not task.digests:
                task.digests["sha256"], task.origin = digest, "mirror " + MIRROR_MANIFEST
                extras += 1
        if extras:
            log.warning("%s: %d file(s) are not covered by the publisher's checksums; verifying them "
                        "with the mirror's %s instead (%s)", self.entry.id, extras, MIRROR_MANIFEST,
                        self.mirror.describe() if self.mirror else "")
        return sums

    def _fill_from_api(self, list_all: bool) -> None:
        remote: dict[str, RemoteFile] = {}
        if self.source.kind == SourceKind.zenodo and self.source.zenodo_record:
            remote = zenodo_files(self.transport, self.source.zenodo_record)
        elif self.source.kind == SourceKind.github:
            remote = github_release_files(self.transport, self.source.base_url)
        for path, info in remote.items():
            task = self.tasks.get(path)
            if task is None:
                if not list_all:
                    continue
                task = self.tasks[path] = FileTask(path)
            if not task.digests and info.digests:
                task.digests, task.origin = dict(info.digests), f"{self.source.kind.value} API"
            task.size = task.size if task.size is not None else info.size
            task.url = task.url or (None if self.source.base_url else info.url)

    def _check_mirror_agrees(self, tasks: list[FileTask], mirror_sums: dict[str, str]) -> None:
        for t in tasks:
            official = t.digests.get("sha256")
            mirrored = mirror_sums.get(t.path)
            if official and mirrored and official != mirrored and not t.origin.startswith("mirror"):
                raise ChecksumError(
                    f"{self.entry.id}: {t.path}: the mirror holds a different file than the official "
                    f"one (official sha256 {official} from {t.origin}, mirror {MIRROR_MANIFEST} says "
                    f"{mirrored}); exclude it with --include or use the official source")

    def _require_checksums(self, tasks: list[FileTask]) -> None:
        missing = [t.path for t in tasks if not t.digests]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise MissingChecksumError(
                f"{self.entry.id}: no checksum from any source for {shown}; pin sha256/md5 in the "
                "catalog entry's `files` (or a `manifest`) so downloads can be verified")

    def _locate(self, task: FileTask) -> None:
        task.url, task.local = self._where(task.path, task.url)
        if task.url is None and task.local is None:
            raise AcquireError(f"{self.entry.id}: {task.path}: no URL (the source has no base_url "
                               "and the file no url)")
