"""The run machinery every protocol shares: one Trainer, resume, checkpoints, seeding, LR schedule.

Single-task / multitask / few-shot (`protocols.py`), fusion (`fusion.py`) and self-supervised
pretraining (`ssl.py`) each bring a LightningModule and its data; everything about *running*
them lives here, once:

* `make_trainer`: the one `L.Trainer(...)` call (CSV logs plus the configured tracker, `settings.logger`:
  TensorBoard by default, W&B or MLflow, see `climb.trackers`; one log version per
  attempt so a resumed run keeps the earlier attempts' logs; checkpoints every epoch;
  throughput; the step seed and the learning-rate schedule; EMA when asked; the run log
  `logs/run.log` and plain progress lines when stderr is not a terminal (`climb.train.runlog`);
  the caller's callbacks, e.g. the benchmark's progress bars);
* `fit`: resume from `checkpoints/last.ckpt` (or start over when `fresh`), never unpickling:
  a checkpoint is read with `torch.load(weights_only=True)` and one that needs more is
  refused with an error naming it;
* `load_tested`: the tested weights (best on validation, else the latest epoch) loaded in place;
* one seeding policy (`StepSeed`: torch's RNG is re-seeded from (seed, optimizer step) before
  every step, so dropout / modality dropout are the same in a resumed run), one LR schedule
  family (`lr_factor`, a pure function of the epoch or step: nothing to lose on resume);
* `global_rank` / `is_rank_zero`: the process's rank from the launcher's environment, for
  what is written before Lightning knows the rank (config.yaml).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging, ModelCheckpoint

from climb.errors import ClimbError
from climb.trackers import DEFAULT_LOGGER, make_loggers
from climb.train.runlog import PlainProgress, run_callbacks

PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "bf16-true", "64-true")
LR_SCHEDULES = ("cosine", "multistep", "constant")


class CheckpointError(ClimbError):
    """A checkpoint cannot be loaded safely (not a plain state dict, corrupt, or foreign)."""


def check_precision(value: str) -> str:
    """The pydantic validator of every config's `precision` (one list of what Lightning accepts)."""
    if value not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}")
    return value


def global_rank() -> int:
    """This process's global rank from the launcher's environment (torchrun, SLURM, Lightning)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def is_rank_zero() -> bool:
    return global_rank() == 0


# ---------------------------------------------------------------- checkpoints, never unpickled


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A Lightning checkpoint read with `weights_only=True` (tensors and plain data only)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - anything weights_only refuses or cannot parse
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a checkpoint climb loads safely ({first[:200]}); climb never "
                              "unpickles: delete it (or the run directory) and run again") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return checkpoint


def resume_path(run_dir: Path, fresh: bool = False) -> Path | None:
    """`checkpoints/last.ckpt` to resume from (checked loadable before any work), or None."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if fresh or not last.is_file():
        return None
    load_checkpoint(last)
    return last


def run_checkpoint(run_dir: Path, select: bool) -> ModelCheckpoint:
    """Checkpoints written every epoch: `last.ckpt` (resume) and the weights that will be tested.

    Selecting on validation: `best.ckpt` (highest `val/score`) beside a full `last.ckpt`.
    Otherwise the tested weights are the latest epoch's: `latest.ckpt`, with `last.ckpt` a
    link to it (one file on disk, not two copies).
    """
    if select:
        return ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", save_last=True,
                               monitor="val/score", mode="max")
    return ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="latest", save_last="link", save_top_k=1)


def tested_checkpoint(ckpt: ModelCheckpoint, run_dir: Path) -> Path | None:
    best = Path(ckpt.best_model_path) if ckpt.best_model_path else run_dir / "checkpoints" / "last.ckpt"
    return best if best.is_file() else None


def load_tested(module: L.LightningModule, ckpt: ModelCheckpoint, run_dir: Path) -> Path | None:
    """Load the tested weights into `module` in place (no second construction); their file, or None."""
    path = tested_checkpoint(ckpt, run_dir)
    if path is not None:
        module.load_state_dict(load_checkpoint(path)["state_dict"])
    return path


# ---------------------------------------------------------------- seeding and learning rate


def step_seed(seed: int, step: int) -> int:
    """The torch seed of optimizer step `step` of a run seeded `seed`."""
    return seed * 1_000_003 + step


def lr_factor(schedule: str, position: int, total: int, warmup: int = 0) -> float:
    """Learning-rate multiplier at `position` (0-based epoch or step) of `total`.

    Linear warmup over the first `warmup` positions, then `schedule` over the rest: cosine to
    0, "multistep" = x0.1 at 50 % and 75 % (the MedMNIST recipe), or constant. A pure function
    of the position, so a resumed run gets the same rate as an uninterrupted one.
    """
    if position < warmup:
        return (position + 1) / warmup
    span = max(total - warmup, 1)
    done = position - warmup
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(done, span) / span))
    if schedule == "multistep":
        return 0.1 ** sum(done >= int(f * span) for f in (0.5, 0.75))
    return 1.0


class StepSeed(Callback):
    """Before every optimizer step: torch's RNG re-seeded from (seed, step) (dropout, modality dropout)."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        torch.manual_seed(step_seed(self.seed, trainer.global_step))


class LRSchedule(Callback):
    """Sets every parameter group's learning rate to `lr * lr_factor(...)` per epoch or per step."""

    def __init__(self, lr: float, schedule: str, interval: str = "epoch", warmup_fraction: float = 0.0):
        self.lr, self.schedule, self.interval, self.warmup_fraction = lr, schedule, interval, warmup_fraction

    def _set(self, trainer, position: int, total: int) -> None:
        factor = lr_factor(self.schedule, position, total, int(self.warmup_fraction * total))
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.lr * factor

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.interval == "epoch":
            self._set(trainer, trainer.current_epoch, trainer.max_epochs)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.interval == "step":
            self._set(trainer, trainer.global_step, max(int(trainer.estimated_stepping_batches), 1))


class Throughput(Callback):
    """Steady-state training samples per second (excluding validation and data loading).

    The first `warmup` steps of a fit (kernel selection, allocator growth: often seconds on
    CPU) are left out when the fit has more steps than that; a shorter fit counts them all.
    """

    def __init__(self, warmup: int = 2) -> None:
        self.warmup = warmup
        self.steps = 0
        self.samples, self.seconds, self._t = 0, 0.0, 0.0
        self.all_samples, self.all_seconds = 0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        seconds = time.perf_counter() - self._t
        size = (len(batch["label"]) if isinstance(batch, dict) else len(batch)) * trainer.world_size
        self.steps += 1
        self.all_samples += size
        self.all_seconds += seconds
        if self.steps > self.warmup:
            self.samples += size
            self.seconds += seconds

    @property
    def rate(self) -> float:
        if self.seconds:
            return self.samples / self.seconds
        return self.all_samples / self.all_seconds if self.all_seconds else 0.0


def record_outputs(run_dir: Path, **facts: Any) -> None:
    """Write `run.json`: the run is finished, and the sha256 of each output file (`climb.benchmark.verify_run`)."""
    from climb.benchmark.cells import RUN_RECORD, output_files
    from climb.safeio import atomic_write_json

    files = output_files(run_dir)
    files.pop(RUN_RECORD, None)
    atomic_write_json(run_dir / RUN_RECORD, {"finished": True, **facts, "files": files})


# ---------------------------------------------------------------- the trainer


class Run:
    """One training run's trainer, checkpoint callback and throughput meter (see `make_trainer`)."""

    def __init__(self, trainer: L.Trainer, checkpoint: ModelCheckpoint, speed: Throughput, run_dir: Path):
        self.trainer, self.checkpoint, self.speed, self.run_dir = trainer, checkpoint, speed, run_dir
        self.seconds = 0.0

    def fit(self, module: L.LightningModule, datamodule: L.LightningDataModule, fresh: bool = False) -> None:
        """Train, resuming from `last.ckpt` unless `fresh`; checkpoints are loaded with weights_only=True."""
        ckpt_path = resume_path(self.run_dir, fresh)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")  # frozen encoders, on purpose
            self.trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None,
                             weights_only=True)
        self.seconds = time.perf_counter() - started

    def load_tested(self, module: L.LightningModule) -> Path | None:
        return load_tested(module, self.checkpoint, self.run_dir)


def make_trainer(settings: Any, run_dir: Path, *, select: bool, callbacks: Sequence[Callback] = (),
                 quiet: bool = True, lr_interval: str = "epoch", warmup_fraction: float = 0.0,
                 find_unused_parameters: bool = False, log_every_n_steps: int = 1,
                 validate: bool = True, strategy: str | None = None) -> Run:
    """The one Trainer of every protocol, built from a config's shared settings.

    `settings` carries seed, epochs, lr, lr_schedule, limit_train_batches, limit_val_batches
    (optional), ema_decay (optional) and the compute settings (accelerator, devices, strategy,
    precision, num_nodes; `strategy` overrides the settings' one, e.g. fusion's `strategy_name`).
    """
    ckpt = run_checkpoint(run_dir, select=select)
    speed = Throughput()
    ema = getattr(settings, "ema_decay", None)
    strategy = strategy or settings.strategy
    if find_unused_parameters and strategy == "ddp":
        strategy = "ddp_find_unused_parameters_true"  # e.g. multitask: each batch trains one head
    extra = run_callbacks(run_dir, quiet)  # run log, summary, plain progress without a terminal
    trainer = L.Trainer(
        max_epochs=settings.epochs, accelerator=settings.accelerator, devices=settings.devices, strategy=strategy,
        num_nodes=settings.num_nodes, precision=settings.precision,
        limit_train_batches=settings.limit_train_batches,
        limit_val_batches=getattr(settings, "limit_val_batches", 1.0) if validate else 0,
        # one log version per attempt: a resumed run keeps the logs of the attempts before it
        logger=make_loggers(getattr(settings, "logger", DEFAULT_LOGGER), run_dir),
        callbacks=[ckpt, speed, StepSeed(settings.seed),
                   LRSchedule(settings.lr, settings.lr_schedule, lr_interval, warmup_fraction),
                   *([EMAWeightAveraging(decay=ema)] if ema else []), *extra, *callbacks],
        use_distributed_sampler=False, enable_model_summary=not quiet,
        enable_progress_bar=not quiet and not any(isinstance(c, PlainProgress) for c in [*extra, *callbacks]),
        log_every_n_steps=log_every_n_steps, deterministic="warn" if settings.accelerator != "cpu" else True,
        num_sanity_val_steps=0, reload_dataloaders_every_n_epochs=1,  # see climb.train.data.set_loader_epoch
    )
    return Run(trainer, ckpt, speed, run_dir)


def predict_loaders(module: L.LightningModule, loaders: Sequence[Any], settings: Any) -> list[list[Any]]:
    """Lightning's predict loop (`module.predict_step`) over each loader, on one device of `settings.accelerator`
    in full precision (rank zero, after fit; as the hand-written loops it replaces): the outputs per loader."""
    import logging

    chatter = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # "GPU available: ..." once per fit is enough
    level = chatter.level
    chatter.setLevel(logging.WARNING)
    try:
        trainer = L.Trainer(accelerator=settings.accelerator, devices=1, num_nodes=1, precision="32-true",
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False)
        out = trainer.predict(module, dataloaders=list(loaders))
    finally:
        chatter.setLevel(level)
    return out if len(loaders) > 1 else [out]


def stack_predictions(outputs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The per-batch {"y", "score", "patient_id"} outputs of a predict step, joined in batch order."""
    import numpy as np

    return {"y": np.concatenate([o["y"] for o in outputs]), "score": np.concatenate([o["score"] for o in outputs]),
            "patient_id": np.asarray([p for o in outputs for p in o["patient_id"]])}


__all__ = [
    "CheckpointError", "LR_SCHEDULES", "LRSchedule", "PRECISIONS", "Run", "StepSeed", "Throughput",
    "check_precision", "global_rank", "is_rank_zero", "load_checkpoint", "load_tested", "lr_factor",
    "make_trainer", "predict_loaders", "record_outputs", "stack_predictions", "resume_path", "run_checkpoint", "step_seed",
]
