"""Progress display: one overall bar (bytes, rate, ETA, files done) and one bar per active file.

Rich renders to stderr; `quiet=True` swaps in a no-op. Bars show only relative paths
and byte counts, never URLs, so nothing secret can reach the terminal this way.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)


class FileBar:
    """Per-file progress that keeps the overall bar consistent across resumes and restarts."""

    def __init__(self, owner: "DownloadProgress", path: str) -> None:
        self.owner, self.path = owner, path
        self.task: TaskID | None = None
        self.done = 0
        self.total: int | None = None

    def start(self, total: int | None, completed: int) -> None:
        self.owner._file_started(self, total, completed)

    def advance(self, n: int) -> None:
        if self.owner.cancelled.is_set():
            raise InterruptedError(f"{self.path}: download cancelled (partial file kept for resume)")
        self.done += n
        self.owner._advance(self, n)

    def close(self) -> None:
        self.owner._file_closed(self)


class DownloadProgress(AbstractContextManager):
    """Overall + per-file rich progress bars; a no-op when `quiet`."""

    def __init__(self, label: str, n_files: int, quiet: bool = False) -> None:
        self.quiet = quiet
        self.n_files = n_files
        self.label = label
        self.files_done = 0
        self._lock = threading.Lock()
        self.cancelled = threading.Event()  # set to stop every transfer at its next chunk
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._overall_total = 0

    def __enter__(self) -> "DownloadProgress":
        if not self.quiet:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False)
            self._progress.start()
            self._overall = self._progress.add_task(self._describe(), total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _describe(self) -> str:
        return f"{self.label} {self.files_done}/{self.n_files} files"

    def file(self, path: str) -> FileBar:
        return FileBar(self, path)

    def file_skipped(self, size: int) -> None:
        self._grow(size, size)
        self.file_finished()

    def file_finished(self) -> None:
        with self._lock:
            self.files_done += 1
        if self._progress is not None and self._overall is not None:
            self._progress.update(self._overall, description=self._describe())

    # -- FileBar callbacks --------------------------------------------------------------
    def _grow(self, total_delta: int, completed_delta: int) -> None:
        if self._progress is None or self._overall is None:
            return
        with self._lock:
            self._overall_total += total_delta
            total = self._overall_total
        self._progress.update(self._overall, total=total, advance=completed_delta)

    def _file_started(self, bar: FileBar, total: int | None, completed: int) -> None:
        total_delta = 0
        if total is not None and bar.total is None:
            bar.total, total_delta = total, total
        self._grow(total_delta, completed - bar.done)
        bar.done = completed
        if self._progress is None:
            return
        if bar.task is None:
            bar.task = self._progress.add_task(f"  {bar.path}", total=total, completed=completed)
        else:
            self._progress.update(bar.task, total=total, completed=completed)

    def _advance(self, bar: FileBar, n: int) -> None:
        self._grow(0, n)
        if self._progress is not None and bar.task is not None:
            self._progress.advance(bar.task, n)

    def _file_closed(self, bar: FileBar) -> None:
        if self._progress is not None and bar.task is not None:
            self._progress.remove_task(bar.task)
            bar.task = None
