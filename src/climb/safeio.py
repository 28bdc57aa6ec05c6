"""Writing files without following symbolic links: every file climb creates goes through here.

A link planted where climb writes (a download's `.part`, a state file, a store shard, a run's
config) would otherwise make climb overwrite or append to whatever the link points to. The
final path component is opened with `O_NOFOLLOW` (and `O_EXCL` for new temporary files);
a link there is refused with an error that names it. Directories above it may be links (a
`$CLIMB_HOME` on another disk is a legitimate choice of the user).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any


class UnsafePathError(OSError):
    """climb refused to write through a symbolic link."""

    def __init__(self, path: Path | str):
        super().__init__(errno.ELOOP, f"{path} is a symbolic link; climb never writes through links "
                                      "(remove it and run again)")
        self.path = str(path)


def refuse_symlink(path: Path | str) -> None:
    """Raise `UnsafePathError` when `path` itself is a symbolic link (dangling or not)."""
    if os.path.islink(path):
        raise UnsafePathError(path)


def open_for_write(path: Path | str, append: bool = False, exclusive: bool = False) -> IO[bytes]:
    """Open `path` for binary writing (truncate, append, or create-new) without following a link."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_APPEND if append else os.O_TRUNC
    if exclusive:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise UnsafePathError(path) from None
        raise
    return os.fdopen(fd, "ab" if append else "wb")


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to a new temporary file beside `path`, fsync it, then rename it over `path`.

    Readers see the old content or the new, never a half-written file. The rename replaces a
    link at `path` (the link itself, not its target), but a link there is refused anyway: it
    means something other than climb put it there.
    """
    path = Path(path)
    refuse_symlink(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")
