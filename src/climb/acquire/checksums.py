"""Checksums: parse manifests, hash files, and remember what was already verified.

A manifest is a text file of `<hex> <path>` lines (GNU coreutils style; `  ./path`
and the binary marker `*path` are accepted). Verification hashes a file once with
every expected algorithm; the result is cached in a small JSON state file, so a re-run
skips verified files without re-reading them. The cache is keyed by path, size, mtime,
ctime, inode and device: a write to the file changes its ctime, which (unlike the mtime)
no `touch` or `os.utime` can set back, so a file edited in place is hashed again; any
doubt (an older state file, a changed inode) also means hashing again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from climb.acquire.errors import AcquireError
from climb.safeio import atomic_write_text, refuse_symlink

ALGOS = ("sha256", "md5")
HEX_LEN = {"sha256": 64, "md5": 32}
STATE_FILE = ".climb_state.json"
STATE_VERSION = 2  # 2: keyed by size, mtime, ctime, inode, device (1: size, mtime)
_STAMP = ("size", "mtime_ns", "ctime_ns", "inode", "device")
_CHUNK = 1 << 20


def normalize_path(path: str) -> str:
    """Manifest path -> the relative POSIX path used everywhere else."""
    path = path.strip().replace("\\", "/")
    if path.startswith("*"):
        path = path[1:]
    while path.startswith("./"):
        path = path[2:]
    return path


def parse_manifest(text: str, algo: str, origin: str) -> dict[str, str]:
    """`{path: hexdigest}` from manifest text; malformed lines fail naming `origin`."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, path = line.partition(" ")
        digest = digest.lower()
        path = normalize_path(path)
        if len(digest) != HEX_LEN[algo] or not path or any(c not in "0123456789abcdef" for c in digest):
            raise AcquireError(f"{origin}:{lineno}: not a '<{algo} hex> <path>' line: {line[:120]!r}")
        if path.startswith("/") or ".." in path.split("/"):
            raise AcquireError(f"{origin}:{lineno}: unsafe path {path!r}")
        out[path] = digest
    return out


def hash_file(path: Path, algos: tuple[str, ...] | list[str] = ALGOS) -> dict[str, str]:
    """Hex digests of the file at `path` for each of `algos`, in one read."""
    hashers = {a: hashlib.new(a) for a in algos}
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def hash_bytes(data: bytes, algo: str) -> str:
    return hashlib.new(algo, data).hexdigest()


def mismatches(actual: dict[str, str], expected: dict[str, str]) -> list[tuple[str, str, str]]:
    """`(algo, expected, actual)` for each expected digest that `actual` contradicts."""
    return [(a, e, actual.get(a, "<not computed>")) for a, e in expected.items() if actual.get(a) != e]


class VerifiedState:
    """Digests of files already verified under a dest dir, keyed by path and the file's stat stamp.

    Thread-safe; `flush()` writes the JSON atomically (at most every `interval` seconds
    unless forced), so an interrupted run still remembers most of its work. A symbolic link
    in place of the state file is refused up front.
    """

    def __init__(self, dest: Path, interval: float = 2.0) -> None:
        self.file = dest / STATE_FILE
        refuse_symlink(self.file)
        self.interval = interval
        self._lock = threading.Lock()
        self._dirty = False
        self._last_flush = time.monotonic()
        self._data: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return {}  # an older key cannot tell an edited file from an untouched one: hash again
        files = data.get("files", {})
        return files if isinstance(files, dict) else {}

    @staticmethod
    def _stamp(path: Path) -> dict[str, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return dict(zip(_STAMP, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)))

    def is_verified(self, rel: str, path: Path, expected: dict[str, str]) -> bool:
        """True when `path` is unchanged since it was verified against `expected`."""
        return self.verified_digests(rel, path, expected) is not None

    def verified_digests(self, rel: str, path: Path, expected: dict[str, str]) -> dict[str, str] | None:
        """Every digest recorded for `path` if it is unchanged and matched `expected`, else None."""
        stamp = self._stamp(path)
        with self._lock:
            rec = self._data.get(rel)
        if stamp is None or rec is None or any(rec.get(k) != v for k, v in stamp.items()):
            return None
        digests = dict(rec.get("digests", {}))
        return digests if all(digests.get(a) == d for a, d in expected.items()) else None

    def record(self, rel: str, path: Path, digests: dict[str, str]) -> None:
        stamp = self._stamp(path)
        if stamp is None:
            return
        with self._lock:
            self._data[rel] = {**stamp, "digests": dict(digests)}
            self._dirty = True
        self.flush(force=False)

    def forget(self, rel: str) -> None:
        with self._lock:
            self._dirty |= self._data.pop(rel, None) is not None

    def flush(self, force: bool = True) -> None:
        with self._lock:
            if not self._dirty or (not force and time.monotonic() - self._last_flush < self.interval):
                return
            payload = json.dumps({"version": STATE_VERSION, "files": self._data}, indent=0, sort_keys=True)
            atomic_write_text(self.file, payload)
            self._dirty = False
            self._last_flush = time.monotonic()
