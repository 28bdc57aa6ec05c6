"""Integrity of what climb reads and wrote: content hashes, the prepared store's self-check, leftovers.

* `HashCache`: sha256 of files, cached under a key `touch` cannot restore (size, mtime, ctime,
  inode, device): a byte flipped with the mtime put back still changes the ctime, so it is
  re-hashed. Used for the raw sources of a build (`source_checksums`) and for a store's shards.
* A dataset card records each shard's size, row count and sha256 (`files`) and its own sha256
  over everything else in it (`card_sha256`). `check_store` checks a store at three levels:
  `"size"` (the card's own hash, every shard present with its recorded size: cheap, done on
  every open), `"cached"` (plus the sha256 of every shard whose stat key changed since it was
  last hashed: `open_prepared`, `climb.load` by name, and `prepare` before reusing a build) and
  `"full"` (re-hash every shard: `climb verify`).
* `remove_leftovers`: the `.tmp-<name>-<hex>` / `.old-<name>-<hex>` directories of a killed build,
  removed by the next build of that dataset while it holds the dataset's lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from climb.prepare.builder import PrepareError
from climb.safeio import atomic_write_json

CARD = "card.json"
CARD_HASH = "card_sha256"
Level = Literal["size", "cached", "full"]


class StoreError(PrepareError):
    """A prepared store failed an integrity check; the message names the store, the file and the fix."""


# ---------------------------------------------------------------- hashing


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def stat_key(path: Path) -> list[int]:
    """What must be unchanged for a cached hash of `path` to stand (ctime and inode: `touch` cannot restore them)."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashCache:
    """sha256 of files, cached in a JSON file under `key -> [stat key..., sha256]`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            loaded = {}
        self.entries: dict[str, list] = {k: v for k, v in loaded.items() if isinstance(v, list)} \
            if isinstance(loaded, dict) else {}
        self.changed = False

    def sha256(self, file: Path, key: str | None = None) -> str:
        """The sha256 of `file` (re-hashed unless its cached stat key still matches)."""
        key = key or str(Path(file).resolve())
        current = stat_key(file)
        cached = self.entries.get(key)
        if cached is not None and cached[:-1] == current:
            return cached[-1]
        digest = sha256_file(file)
        self.record(file, digest, key)
        return digest

    def record(self, file: Path, digest: str, key: str | None = None) -> None:
        """Remember that `file`, as it is now on disk, has sha256 `digest`."""
        self.entries[key or str(Path(file).resolve())] = [*stat_key(file), digest]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path, self.entries, indent=None)
        except OSError:  # a read-only location: the cache only saves time
            return
        self.changed = False


def source_checksums(files: Iterable[Path], root: Path) -> dict[str, str]:
    """sha256 of each source file (relative to `root`), through climb's source hash cache."""
    from climb.config import climb_home

    cache = HashCache(climb_home() / "source_hashes.json")
    out: dict[str, str] = {}
    for f in sorted(set(Path(p) for p in files)):
        if not f.is_file():
            raise PrepareError(f, "source file is missing")
        out[os.path.relpath(f, root)] = cache.sha256(f)
    cache.save()
    return out


# ---------------------------------------------------------------- the card's own hash


def card_digest(card: dict[str, Any]) -> str:
    """sha256 of the card's content without its own `card_sha256` (canonical JSON)."""
    body = {k: v for k, v in card.items() if k != CARD_HASH}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def seal(card: dict[str, Any]) -> dict[str, Any]:
    """`card` with its `card_sha256` set (call last: any later change breaks the seal)."""
    card[CARD_HASH] = card_digest(card)
    return card


# ---------------------------------------------------------------- checking a store


@dataclass(frozen=True)
class FileCheck:
    """The outcome for one file of a store: ok, missing, size, sha256, card, extra (not part of the store)."""

    name: str
    status: str
    detail: str = ""
    size: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "extra")


def store_hash_cache(root: Path) -> HashCache:
    """The hash cache of the store at `root` (beside it: writing into a store would change it)."""
    return HashCache(root.parent / f".{root.name}.hashes.json")


def read_card(root: Path) -> dict[str, Any]:
    """The store's card, parsed; a card that is not JSON is a `StoreError`."""
    try:
        card = json.loads((root / CARD).read_text())
    except ValueError as e:
        raise StoreError(root / CARD, f"not valid JSON ({e}); {rebuild_hint(root)}") from None
    if not isinstance(card, dict):
        raise StoreError(root / CARD, f"not a dataset card; {rebuild_hint(root)}")
    return card


def rebuild_hint(root: Path) -> str:
    return f"run `climb prepare {root.name}` to rebuild it"


def check_store(root: Path, card: dict[str, Any], level: Level = "size") -> list[FileCheck]:
    """Check the store at `root` against its `card` (module docstring); one `FileCheck` per file."""
    out = [_check_card(card)]
    files: dict[str, dict[str, Any]] = card.get("files") or {}
    cache = store_hash_cache(root) if level == "cached" else None
    for name, meta in files.items():
        out.append(_check_file(root / name, name, meta, level, cache))
    if cache is not None:
        cache.save()
    listed = set(files) | {CARD}
    out += [FileCheck(p.name, "extra", "not listed in the card; never read") for p in sorted(root.iterdir())
            if p.name not in listed]
    return out


def _check_card(card: dict[str, Any]) -> FileCheck:
    if CARD_HASH not in card or "files" not in card:
        return FileCheck(CARD, "card", "no integrity record (prepared by an older climb)")
    if card[CARD_HASH] != card_digest(card):
        return FileCheck(CARD, "card", "edited after the build (its content no longer matches its card_sha256)")
    return FileCheck(CARD, "ok")


def _check_file(path: Path, name: str, meta: dict[str, Any], level: Level, cache: HashCache | None) -> FileCheck:
    if path.is_symlink() or not path.is_file():
        return FileCheck(name, "missing", "symbolic link" if path.is_symlink() else "file is missing")
    size = path.stat().st_size
    if size != meta.get("size"):
        return FileCheck(name, "size", f"{size} bytes, the card says {meta.get('size')}", size)
    if level == "size":
        return FileCheck(name, "ok", "", size)
    digest = cache.sha256(path, key=name) if cache is not None else sha256_file(path)
    if digest != meta.get("sha256"):
        return FileCheck(name, "sha256", f"content changed (sha256 {digest[:12]}..., the card says "
                                         f"{str(meta.get('sha256'))[:12]}...)", size)
    return FileCheck(name, "ok", "", size)


def ensure_intact(root: Path, card: dict[str, Any], level: Level = "size") -> None:
    """Raise `StoreError` naming the first failed file unless the store passes `check_store`."""
    bad = next((c for c in check_store(root, card, level) if not c.ok), None)
    if bad is not None:
        raise StoreError(root / bad.name, f"{bad.detail}; {rebuild_hint(root)}")


def record_hashes(root: Path, card: dict[str, Any]) -> None:
    """After a build: the store's shards, as now on disk, have the sha256 its card records."""
    cache = store_hash_cache(root)
    for name, meta in card["files"].items():
        cache.record(root / name, meta["sha256"], key=name)
    cache.save()


# ---------------------------------------------------------------- leftovers of killed builds


def leftover_pattern(name: str) -> re.Pattern[str]:
    """The names of a build's temporary (`.tmp-`) and replaced (`.old-`) directories of dataset `name`."""
    return re.compile(rf"\.(tmp|old)-{re.escape(name)}-[0-9a-f]{{8}}")


def remove_leftovers(out_root: Path, name: str) -> list[Path]:
    """Remove what killed builds of `name` left in `out_root`; call only while holding its lock.

    Only climb's own: directories (not links) whose whole name matches `leftover_pattern`.
    """
    pattern = leftover_pattern(name)
    removed = []
    for p in sorted(out_root.iterdir()):
        if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
            removed.append(p)
    return removed


__all__ = ["CARD", "CARD_HASH", "FileCheck", "HashCache", "StoreError", "card_digest", "check_store",
           "ensure_intact", "read_card", "record_hashes", "remove_leftovers", "seal", "sha256_file",
           "source_checksums", "stat_key"]
