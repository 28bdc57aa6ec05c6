"""Plan: from a catalog source (+ mirror, + include) to the exact list of files to fetch.

resolve the manifest location -> fetch it, check `manifest_sha256` when pinned (a
mismatch is a hard error; an unpinned manifest is only taken from the publisher itself,
never from a mirror, which could forge it), parse -> merge checksums from the entry's `files`, the
manifest and publisher APIs (Zenodo, GitHub) -> the universe of files: exactly the
entry's `files` when it lists any, else everything the manifest (or API) lists ->
select by the include globs (or the user's include) -> refuse any selected file
without a checksum.

Trusted-mirror mode (opt-in): the mirror's MANIFEST.sha256 (local or over HTTP) is the
checksum authority. Without `files` the universe is what that manifest lists (a subset
mirror); every selected file is verified against the mirror's sha256, falling back to
the publisher's checksum for files it does not list; the publisher's checksums are
kept in `FileTask.official` so the downloader can report which files differ.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from climb.acquire import urls
from climb.acquire.checksums import hash_bytes, parse_manifest
from climb.acquire.errors import (AcquireError, ChecksumError, MissingChecksumError, OversizeError,
                                  SelectionError)
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
    official: dict[str, str] = field(default_factory=dict)  # publisher digests (trusted mode only)

    def algos(self) -> list[str]:
        """Every algorithm to hash with: the expected ones plus the official ones."""
        return list(dict.fromkeys([*self.digests, *self.official]))


@dataclass
class Plan:
    entry: DatasetEntry
    source: Source
    mirror: Mirror | None
    files: list[FileTask]
    manifest_path: str | None = None
    manifest_bytes: bytes | None = None
    full_selection: bool = True  # the entry's default selection (no user include)
    trusted: bool = False  # verified against the mirror's MANIFEST.sha256
    manifest_sha256: str | None = None  # digest of manifest_bytes
    manifest_differs: bool = False  # the manifest is not the pinned official one (trusted mode)
    manifest_pinned: bool = False  # the catalog pins the manifest's sha256
    official_not_in_mirror: list[str] = field(default_factory=list)  # trusted: official, not mirrored

    def without_official_checksum(self) -> list[str]:
        """Trusted mode: files whose official checksum is unknown, so no comparison was possible."""
        if not self.trusted:
            return []
        manifest = ([self.manifest_path] if self.manifest_path and self.manifest_bytes is not None
                    and self.source.manifest_sha256 is None else [])
        return manifest + [t.path for t in self.files if not t.official]


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
    """User include items; commas and whitespace separate record lists like `100,101`.

    `@FILE` reads items from FILE, one per line (blank lines and `#` comments skipped).
    """
    if include is None:
        return []
    items = [include] if isinstance(include, str) else list(include)
    out: list[str] = []
    for item in items:
        if item.strip().startswith("@"):
            out += read_include_file(Path(item.strip()[1:]).expanduser())
        else:
            out += [part for part in item.replace(",", " ").split() if part]
    return out


def read_include_file(path: Path) -> list[str]:
    """The records/globs listed in `path`, one per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise SelectionError(f"--include @{path}: cannot read the include list ({reason})") from None
    items = [line.strip() for line in text.splitlines()]
    items = [line for line in items if line and not line.startswith("#")]
    if not items:
        raise SelectionError(f"--include @{path}: the include list is empty")
    return items


def in_default(paths: list[str], default: list[str]) -> list[str]:
    """`paths` matched by the default include globs (all of them when there are none)."""
    return [p for p in paths if not default or any(glob_match(p, g) for g in default)]


def select(paths: list[str], default: list[str], include: list[str], dataset: str) -> list[str]:
    """Paths chosen by `include` (or by the `default` globs when `include` is empty).

    An include item is a glob (`*` within a directory, `**` across; matched within the
    default selection, or over every file if it matches nothing there), an exact file
    path, or a record name: `100` selects the default selection's `100.*` files (and
    `dir` selects `dir/...`).
    """
    defaults = in_default(paths, default)
    if not include:
        return defaults
    chosen: set[str] = set()
    for item in include:
        if _is_glob(item):  # within the default selection first, else over every file
            hits = ([p for p in defaults if glob_match(p, item)]
                    or [p for p in paths if glob_match(p, item)])
        elif item in paths:
            hits = [item]
        else:
            stem = item.rstrip("/")
            hits = [p for p in defaults if p.startswith(stem + ".") or p.startswith(stem + "/")]
        if not hits:
            raise SelectionError(f"include {item!r} matches no file of {dataset} "
                                 f"(known files: {len(paths)}, e.g. {', '.join(paths[:3])})")
        chosen.update(hits)
    return [p for p in paths if p in chosen]


class Planner:
    """Builds a `Plan` for one source; network access goes through `transport`."""

    def __init__(self, entry: DatasetEntry, source: Source, mirror: Mirror | None,
                 transport: Transport, dest: Path | None = None, trust_mirror: bool = False) -> None:
        if trust_mirror and mirror is None:
            raise AcquireError(f"{entry.id}: trusted-mirror mode needs a mirror")
        self.entry, self.source, self.mirror, self.transport = entry, source, mirror, transport
        self.dest = dest
        self.trusted = trust_mirror
        self.tasks: dict[str, FileTask] = {}
        self.manifest_sha256: str | None = None
        self.manifest_differs = False

    def build(self, include: list[str]) -> Plan:
        self._refuse_unpinned_mirror_manifest()
        mirror_sums = self.mirror.checksums(self.transport, self.entry.id) if self.trusted else {}
        manifest_bytes = self._load_manifest(mirror_sums)
        self._add_entry_files()
        if not self.tasks and not self.trusted and self.source.kind in (SourceKind.zenodo, SourceKind.github):
            self._fill_from_api(list_all=True)
        universe = self._universe(mirror_sums)
        selected = select(universe, self.source.include, include, self.entry.id)
        tasks = [self.tasks[p] for p in selected]
        if any(not t.digests and t.path not in mirror_sums for t in tasks):
            self._fill_from_api(list_all=False)
        if self.trusted:
            self._use_mirror_sums(tasks, mirror_sums)
        self._require_checksums(tasks)
        for t in tasks:
            self._locate(t)
        if not tasks:
            raise SelectionError(self._nothing_to_download())
        return Plan(self.entry, self.source, self.mirror, tasks,
                    self.source.manifest if manifest_bytes is not None else None, manifest_bytes,
                    full_selection=not include, trusted=self.trusted, manifest_sha256=self.manifest_sha256,
                    manifest_differs=self.manifest_differs,
                    manifest_pinned=self.source.manifest_sha256 is not None,
                    official_not_in_mirror=self._official_not_in_mirror(mirror_sums))

    # -- steps --------------------------------------------------------------------------
    def _where(self, path: str, url: str | None = None) -> tuple[str | None, Path | None]:
        if self.mirror is not None:
            return self.mirror.locate(path)
        if url:
            return url, None
        if self.source.base_url:
            return urls.join(self.source.base_url, path), None
        return None, None

    def _refuse_unpinned_mirror_manifest(self) -> None:
        """Strict mode: a manifest the catalog does not pin may come from the publisher, not a mirror.

        A mirror serving its own `SHA256SUMS.txt` could list any bytes it likes; believing it
        would label forged files "official checksums". Refusing (rather than labelling and
        going on) keeps a forged download from ever being marked complete, so nothing
        downstream (`climb prepare`, a benchmark) can take it for verified data; the user
        who does trust the mirror says so with `--trust-mirror`, and the dataset is then
        recorded as mirror-verified.
        """
        name = self.source.manifest
        if self.trusted or self.mirror is None or not name or self.source.manifest_sha256 is not None:
            return
        raise MissingChecksumError(
            f"{self.entry.id}: the catalog does not pin the publisher's {name} (no manifest_sha256), so the copy "
            f"served by the mirror {self.mirror.describe()} could be forged and cannot count as official "
            f"checksums; download from the official source, or, if you trust this mirror, re-run with "
            f"--trust-mirror (trust_mirror=True) to verify against its {MIRROR_MANIFEST} (recorded as "
            "mirror-verified)")

    def _load_manifest(self, mirror_sums: dict[str, str]) -> bytes | None:
        name = self.source.manifest
        if not name:
            return None
        expected = mirror_sums.get(name)  # trusted mode: the mirror's checksum of the manifest
        if self.trusted and expected is None and self.source.manifest_sha256 is None:
            log.warning("%s: the trusted mirror's %s does not list the publisher's %s; official "
                        "checksums are not compared", self.entry.id, MIRROR_MANIFEST, name)
            return None
        data = self._cached_manifest(name, expected) or self._fetch_manifest(name)
        self._check_manifest(name, data, expected)
        for path, digest in parse_manifest(data.decode("utf-8", "replace"),
                                           self.source.manifest_algo, name).items():
            if path != name:
                self.tasks[path] = FileTask(path, digests={self.source.manifest_algo: digest},
                                            origin=name)
        return data

    def _fetch_manifest(self, name: str) -> bytes:
        url, local = self._where(name)
        what = f"{self.entry.id}: checksum manifest {name}"
        if local is not None:
            if not local.is_file():
                raise AcquireError(f"{what}: not found in the mirror directory: {local}")
            return self.transport.read_local(local, what)
        if url is None:
            raise AcquireError(f"{what}: the source has no base_url to fetch it from")
        return self.transport.get_bytes(url, what)

    def _cached_manifest(self, name: str, expected: str | None) -> bytes | None:
        """A previous run's copy of a pinned (or mirror-listed) manifest: saves a request."""
        want = expected or self.source.manifest_sha256
        if self.dest is None or want is None:
            return None
        try:
            data = self.transport.read_local(self.dest / name, f"{self.entry.id}: cached {name}")
        except (OSError, OversizeError):
            return None
        return data if hash_bytes(data, "sha256") == want else None

    def _check_manifest(self, name: str, data: bytes, expected: str | None) -> None:
        """Pinned hash (strict) or the mirror's hash (trusted) must match the manifest bytes."""
        actual = self.manifest_sha256 = hash_bytes(data, "sha256")
        pinned = self.source.manifest_sha256
        where = self.mirror.describe() if self.mirror else self.source.base_url
        if expected is not None:
            if actual != expected:
                raise ChecksumError(f"{self.entry.id}: checksum manifest {name} from {where} does not match "
                                    f"the mirror's {MIRROR_MANIFEST}: expected sha256 {expected}, got {actual}")
            self.manifest_differs = pinned is not None and pinned != actual
            return
        if pinned is None:
            log.info("%s: %s is not pinned by manifest_sha256; trusting its transport", self.entry.id, name)
            return
        if actual != pinned:
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

    def _universe(self, mirror_sums: dict[str, str]) -> list[str]:
        """Every path the selection may choose from (in a stable order)."""
        if self.source.files:  # the entry names its files: exactly those
            return list(dict.fromkeys(f.path for f in self.source.files))
        if not self.trusted:
            return list(self.tasks)
        mirrored = [p for p in mirror_sums if p not in (MIRROR_MANIFEST, self.source.manifest)]
        for p in mirrored:
            self.tasks.setdefault(p, FileTask(p))
        return mirrored

    def _official_not_in_mirror(self, mirror_sums: dict[str, str]) -> list[str]:
        if not self.trusted or self.source.files:
            return []
        official = [p for p, t in self.tasks.items() if t.origin and p not in mirror_sums]
        return in_default(official, self.source.include)

    def _use_mirror_sums(self, tasks: list[FileTask], mirror_sums: dict[str, str]) -> None:
        """Trusted mode: the mirror's sha256 becomes the expected digest; official ones are kept."""
        for t in tasks:
            t.official = dict(t.digests)
            mirrored = mirror_sums.get(t.path)
            if mirrored is None:
                continue
            if t.official.get("sha256", mirrored) != mirrored:
                t.size = None  # the official size describes the official file
            t.digests, t.origin = {"sha256": mirrored}, f"the mirror's {MIRROR_MANIFEST}"

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

    def _require_checksums(self, tasks: list[FileTask]) -> None:
        missing = [t.path for t in tasks if not t.digests]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise MissingChecksumError(
                f"{self.entry.id}: no checksum from any source for {shown}; pin sha256/md5 in the "
                "catalog entry's `files` (or a `manifest`) so downloads can be verified")

    def _nothing_to_download(self) -> str:
        text = f"{self.entry.id}: nothing to download (the source lists no files"
        if self.mirror is not None and not self.trusted:
            text += f"; a mirror whose {MIRROR_MANIFEST} lists them can be used with --trust-mirror"
        return text + ")"

    def _locate(self, task: FileTask) -> None:
        task.url, task.local = self._where(task.path, task.url)
        if task.url is None and task.local is None:
            raise AcquireError(f"{self.entry.id}: {task.path}: no URL (the source has no base_url "
                               "and the file no url)")
