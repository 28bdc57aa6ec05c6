"""Progress of a suite run: a silent interface and the rich one (cells done/total, per-cell training)."""

from __future__ import annotations

from typing import Any

from climb.benchmark.cells import DONE, FAILED
from climb.benchmark.data import DataStatus
from climb.benchmark.plan import PlannedCell
from climb.benchmark.suite import Cell


class NoProgress:
    """The progress interface, silent (see climb.cli.cmd_benchmark for the rich one)."""

    def start_data(self, n: int) -> None: ...
    def data_done(self, status: DataStatus) -> None: ...
    def start_cells(self, planned: list[PlannedCell]) -> None: ...
    def cell_started(self, cell: Cell, message: str | None = None) -> None: ...
    def problem(self, text: str) -> None: ...
    def cell_finished(self, cell: Cell, record: dict[str, Any]) -> None: ...
    def stop(self) -> None: ...

    def callbacks(self, label: str) -> list:
        return []


class RichProgress(NoProgress):
    """Overall progress (cells done/total, current cell, elapsed) and per-cell training progress."""

    def __init__(self, console: Any = None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        self.console = console or Console(stderr=True)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=False)
        self.overall: Any = None
        self.current: Any = None

    def start_data(self, n: int) -> None:
        self.progress.start()
        self.overall = self.progress.add_task("checking / preparing data", total=n)

    def data_done(self, status: DataStatus) -> None:
        self.progress.advance(self.overall)
        if not status.ready:
            self.console.print(f"[yellow]data:[/yellow] {status.message}")

    def start_cells(self, planned: list[PlannedCell]) -> None:
        active = [p for p in planned if p.action != "skipped"]
        kept = sum(p.action == "done" for p in active)
        self.progress.reset(self.overall, total=len(active), completed=kept, description="cells")
        if kept:
            self.console.print(f"resuming: {kept} finished cell(s) kept")

    def cell_started(self, cell: Cell, message: str | None = None) -> None:
        self.progress.update(self.overall, description=f"cells: [bold]{cell.id}[/bold]")
        if message:
            self.console.print(f"{cell.id}: {message}", markup=False, highlight=False)

    def problem(self, text: str) -> None:
        self.console.print(f"problem: {text}", markup=False, highlight=False)

    def cell_finished(self, cell: Cell, record: dict[str, Any]) -> None:
        self.progress.advance(self.overall)
        colour = {DONE: "green", FAILED: "red"}.get(record["status"], "yellow")
        line = f"[{colour}]{record['status']:>12}[/{colour}] {cell.id} ({record['wall_seconds']:.1f} s)"
        if record.get("error"):
            line += f": {record['error']}"
        self.console.print(line)
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None

    def callbacks(self, label: str) -> list:
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(f"  {label}", total=None)
        from climb.train.runlog import PlainProgress  # without a terminal the bars stay blank: plain lines

        plain = [] if self.console.is_terminal else [PlainProgress(stream=self.console.file)]
        return [_EpochProgress(self.progress, self.current, label), *plain]

    def stop(self) -> None:
        self.progress.stop()


def _EpochProgress(progress: Any, task: Any, label: str):
    """A Lightning callback that advances `task` per training batch (built lazily: Lightning is heavy)."""
    from lightning.pytorch.callbacks import Callback

    class EpochProgress(Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            total = trainer.max_epochs * trainer.num_training_batches
            progress.update(task, total=total, description=f"  {label}: epoch {trainer.current_epoch + 1}"
                                                           f"/{trainer.max_epochs}")

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            progress.advance(task)

        def on_test_start(self, trainer, pl_module) -> None: ...

    return EpochProgress()
