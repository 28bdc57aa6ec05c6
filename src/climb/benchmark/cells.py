"""What makes a benchmark cell done: its record, the hashes of its outputs and the fingerprint of its spec.

A cell's `cell.json` records, besides status and timing, the sha256 of every output file it
produced (`results.csv`, `predictions.npz`, encoders, configs: `output_files`) and the
fingerprint of its full spec (`spec_fingerprint`: protocol, datasets, encoder and kwargs,
seed, merged budget, protocol parameters, precision, the prepared datasets' fingerprints and
the result format). A cell counts as done only when its status is done, its fingerprint is
the one the suite asks for now, and every listed file is present with its recorded hash
(`cell_problems`). Anything else is redone, and the plan says why. `verify_run` re-hashes a
whole benchmark run directory, or a single training run directory (its `run.json`).

The run directory has one writer: `RunLock` (a file lock; a second `climb benchmark` on the
same directory stops with an error naming the holder).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from climb.errors import ClimbError

# bump when what a cell writes changes shape: cells of an older format are redone
RESULT_FORMAT = 2
OUTPUT_PATTERNS = ("results.csv", "predictions.npz", "*.safetensors", "config.yaml")
SKIPPED_DIRS = {"checkpoints", "logs", "tb"}  # resume state and logs, not results
RUN_RECORD = "run.json"
DONE, FAILED, MISSING = "done", "failed", "missing-data"  # a cell's status in its cell.json
MISSING_WEIGHTS = "missing-weights"  # pretrained weights neither cached nor downloadable (how to get them)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a run directory: the path and what is wrong with it."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def output_files(root: Path) -> dict[str, dict[str, Any]]:
    """relative path -> {sha256, bytes} of every output file under `root` (not checkpoints or logs)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or path.is_symlink() or SKIPPED_DIRS & set(rel.parts[:-1]):
            continue
        if any(path.match(p) for p in OUTPUT_PATTERNS):
            out[rel.as_posix()] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return out


def file_problems(root: Path, files: dict[str, dict[str, Any]]) -> list[Problem]:
    """Listed files that are missing, resized or changed since they were recorded."""
    problems = []
    for rel, meta in files.items():
        path = root / rel
        if not path.is_file():
            problems.append(Problem(str(path), "missing"))
        elif path.stat().st_size != meta.get("bytes"):
            problems.append(Problem(str(path), f"{path.stat().st_size} bytes, recorded {meta.get('bytes')}"))
        elif sha256_file(path) != meta.get("sha256"):
            problems.append(Problem(str(path), "content changed since it was recorded (sha256 differs)"))
    return problems


def spec_fingerprint(spec: dict[str, Any], data: dict[str, str | None], precision: str) -> str:
    """sha256 of everything that decides a cell's results (see the module docstring)."""
    payload = {"format": RESULT_FORMAT, "cell": spec, "data": dict(sorted(data.items())), "precision": precision}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_cell(out_dir: Path, cell_id: str) -> dict[str, Any] | None:
    """The `cell.json` of cell `cell_id` of the benchmark run `out_dir` (None: absent or unreadable)."""
    return read_record(out_dir / "cells" / cell_id / "cell.json")


def cell_problems(record: dict[str, Any] | None, cell_dir: Path, fingerprint: str | None = None) -> list[str]:
    """Why a cell is not done (empty when it is): status, spec fingerprint, listed files."""
    if not record:
        return ["not run"]
    if record.get("status") != "done":
        return [f"status {record.get('status')}"]
    if fingerprint is not None and record.get("fingerprint") != fingerprint:
        return ["its spec changed (budget, encoder, data or result format) since it ran"]
    files = record.get("files")
    if not files or "results.csv" not in files:
        return ["its record lists no results.csv"]
    return [str(p) for p in file_problems(cell_dir, files)]


def verify_run(run_dir: str | Path) -> list[Problem]:
    """Re-hash a benchmark run directory (every cell) or one training run directory; the problems found."""
    root = Path(run_dir)
    if not root.is_dir():
        return [Problem(str(root), "not a directory")]
    if (root / "cells").is_dir() or (root / "manifest.json").is_file():
        return _verify_benchmark(root)
    record = read_record(root / RUN_RECORD)
    if record is None:
        return [Problem(str(root / RUN_RECORD), "missing or unreadable: not a finished climb run")]
    return file_problems(root, record.get("files") or {})


def _verify_benchmark(root: Path) -> list[Problem]:
    problems = []
    manifest = read_record(root / "manifest.json")
    if manifest is None:
        problems.append(Problem(str(root / "manifest.json"), "missing or unreadable"))
    for cell_dir in sorted(p for p in (root / "cells").glob("*") if p.is_dir()):
        record = read_record(cell_dir / "cell.json")
        if record is None:
            problems.append(Problem(str(cell_dir / "cell.json"), "missing or unreadable"))
        elif record.get("status") == "done":
            if not record.get("files"):
                problems.append(Problem(str(cell_dir / "cell.json"), "done, but lists no output files"))
            problems += file_problems(cell_dir, record.get("files") or {})
    return problems


# ---------------------------------------------------------------- one writer per run directory


class RunLockedError(ClimbError):
    """Another climb process is writing the same run directory."""


class RunLock:
    """An exclusive lock on a run directory for the lifetime of a `with` block (rank zero only).

    A file lock (`filelock`, an OS-level lock released when the process dies) plus a holder
    record (pid, host, command, start time) so that the refusal names who holds it.
    """

    def __init__(self, run_dir: Path):
        from filelock import FileLock

        self.run_dir = run_dir
        self.holder = run_dir / ".climb-lock.json"
        self.lock = FileLock(str(run_dir / ".climb.lock"), timeout=0)

    def __enter__(self) -> RunLock:
        from filelock import Timeout

        from climb.safeio import atomic_write_json, refuse_symlink

        self.run_dir.mkdir(parents=True, exist_ok=True)
        refuse_symlink(self.run_dir / ".climb.lock")
        try:
            self.lock.acquire()
        except Timeout:
            held = read_record(self.holder) or {}
            who = (f"pid {held.get('pid')} on {held.get('host')} since {held.get('since')} "
                   f"({held.get('command')})") if held else "another process"
            raise RunLockedError(f"{self.run_dir} is being written by {who}; wait for it to finish or "
                                 "use another --out") from None
        atomic_write_json(self.holder, {"pid": os.getpid(), "host": socket.gethostname(),
                                        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                        "command": " ".join(sys.argv[:4])})
        return self

    def __exit__(self, *exc: object) -> None:
        self.holder.unlink(missing_ok=True)
        self.lock.release()


__all__ = ["Problem", "RESULT_FORMAT", "RunLock", "RunLockedError", "cell_problems", "output_files",
           "sha256_file", "spec_fingerprint", "verify_run"]
