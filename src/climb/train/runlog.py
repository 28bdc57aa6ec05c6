"""Run logs and plain progress for every trainer (`climb.train.engine.make_trainer` adds them).

* `RunLog(run_dir)`: while the trainer runs (fit, validate, test, predict) every log record
  (Lightning's INFO lines and tips, the model summary) and every warning routed by
  `climb.console` goes to `<run_dir>/logs/run.log`, appended across attempts, never through a link;
* `PlainProgress`: the progress bar for output that is not a terminal: one plain line at most
  every `every_s` seconds and at the end of each pass, with the pass, epoch, step / total, rate
  and ETA, for training, validation, test and predict passes alike.

Hand-written on purpose: Lightning's bars redraw in place (TQDM writes carriage returns, Rich
stays silent without a terminal), which a log file or a CI console cannot show.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from lightning.pytorch.callbacks import Callback

RUN_LOG = Path("logs") / "run.log"


class RunLog(Callback):
    """Every log record and warning of a trainer's passes, appended to `<run_dir>/logs/run.log`."""

    def __init__(self, run_dir: Path):
        from climb.train.engine import is_rank_zero

        self.path = Path(run_dir) / RUN_LOG
        self.handler: logging.Handler | None = None
        if is_rank_zero():  # from now on: the Trainer's own start-up lines (devices, tips) are the run's too
            self._attach()

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.handler is None and trainer.is_global_zero:
            self._attach()

    def _attach(self) -> None:
        from climb.safeio import open_for_write

        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = open_for_write(self.path, append=True)
        self.handler = logging.StreamHandler(_TextStream(stream))
        self.handler.setLevel(logging.INFO)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for logger in _loggers():
            logger.addHandler(self.handler)

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.handler is not None:
            for logger in _loggers():
                logger.removeHandler(self.handler)
            self.handler.close()
            self.handler.stream.close()
            self.handler = None


def _loggers() -> list[logging.Logger]:
    """The root logger, and Lightning's when they do not propagate (outside the CLI they keep their own handler)."""
    lightning = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    return [logging.getLogger(), *(lg for lg in lightning if not lg.propagate)]


class _TextStream:
    """A text view of a binary file opened by `climb.safeio` (flushed line by line)."""

    def __init__(self, raw: Any):
        self.raw = raw

    def write(self, text: str) -> None:
        self.raw.write(text.encode("utf-8", "replace"))
        self.raw.flush()

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        self.raw.close()


class PlainProgress(Callback):
    """Periodic plain progress lines (pass, epoch, step / total, rate, ETA) for a non-terminal stream.

    A plain callback, not Lightning's `ProgressBar`: it also runs where the Trainer shows no bar
    (the benchmark's cells), and `make_trainer` turns Lightning's bar off when it is added.
    """

    def __init__(self, every_s: float = 30.0, stream: TextIO | None = None):
        super().__init__()
        self.every_s, self.stream = every_s, stream
        self.trainer: Any = None
        self._start = self._last = 0.0

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self.trainer = trainer

    def _begin(self) -> None:
        self._start = self._last = time.monotonic()

    def _step(self, name: str, done: int, total: float | int | None, force: bool = False) -> None:
        now = time.monotonic()
        if not self.trainer.is_global_zero or (not force and now - self._last < self.every_s):
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        known = isinstance(total, int) or (isinstance(total, float) and total != float("inf"))
        eta = f", ETA {_clock((total - done) / rate)}" if known and rate > 0 else ""
        epoch = f"epoch {self.trainer.current_epoch + 1}/{self.trainer.max_epochs} " if name in ("train", "val") else ""
        steps = f"{done}/{int(total)}" if known else str(done)
        print(f"{name}: {epoch}step {steps}, {rate:.2f} it/s{eta}", file=self.stream or sys.stderr, flush=True)

    def _batch_end(self, name: str, batches: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        total = batches[dataloader_idx] if isinstance(batches, list) else batches
        self._step(name, batch_idx + 1, total, batch_idx + 1 == total)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._begin()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._batch_end("train", trainer.num_training_batches, batch_idx)

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self._begin()

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        self._batch_end("val", trainer.num_val_batches, batch_idx, dataloader_idx)

    on_test_epoch_start = on_predict_epoch_start = on_train_epoch_start

    def on_test_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int,
                          dataloader_idx: int = 0) -> None:
        self._batch_end("test", trainer.num_test_batches, batch_idx, dataloader_idx)

    def on_predict_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int,
                             dataloader_idx: int = 0) -> None:
        self._batch_end("predict", trainer.num_predict_batches, batch_idx, dataloader_idx)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_callbacks(run_dir: Path, quiet: bool, stream: TextIO | None = None) -> list[Callback]:
    """The run log, and unless `quiet` the model summary (into the run log: Lightning logs it at
    INFO) and, when `stream` (stderr) is not a terminal, `PlainProgress` (on a terminal, Lightning's own bar)."""
    from lightning.pytorch.callbacks import ModelSummary

    from climb.console import tame_lightning

    tame_lightning()
    if quiet:
        return [RunLog(run_dir)]
    plain = [] if (stream or sys.stderr).isatty() else [PlainProgress(stream=stream)]
    return [RunLog(run_dir), ModelSummary(max_depth=1), *plain]


__all__ = ["PlainProgress", "RUN_LOG", "RunLog", "run_callbacks"]
