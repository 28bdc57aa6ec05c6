"""The CLIMB protocols on PyTorch Lightning: single-task, multitask and few-shot transfer.

    from climb.train import TrainConfig, train
    result = train(TrainConfig(datasets=["pneumoniamnist"], encoder="resnet18_small", epochs=3))
    result.frame()          # tidy rows with bootstrap CIs on the test split

Every run writes to `cfg.run_dir`: `config.yaml`, CSV + TensorBoard logs, checkpoints
(`last.ckpt` for resume; `best.ckpt`, the epoch with the best validation score, when the
run selects on validation, else `latest.ckpt`, e.g. few-shot runs: `run_checkpoint`,
`TrainConfig.model_selection`, `RunResult.tested_checkpoint`), `encoder.safetensors` (a
reusable encoder for `create_encoder(..., pretrained_path=...)`), `results.csv` and
`predictions.npz`. Re-running a finished or interrupted run resumes from `last.ckpt`; a
run directory that holds another configuration is refused (`claim_run_dir`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from climb.evaluate.bootstrap import bootstrap_metrics
from climb.evaluate.metrics import ResultRow, result_rows, to_frame
from climb.models import save_encoder
from climb.train.config import TrainConfig, claim_run_dir
from climb.train.data import TaskData, build_task, eval_loader, set_loader_epoch, train_loader
from climb.train.module import ClimbModule, encoder_modality


@dataclass
class RunResult:
    """What one training run produced."""

    config: TrainConfig
    rows: list[ResultRow]
    predictions: dict[str, dict[str, np.ndarray]]
    run_dir: Path
    encoder_path: Path | None
    train_seconds: float
    samples_per_second: float
    extra: dict[str, Any] = field(default_factory=dict)
    tested_checkpoint: Path | None = None  # best.ckpt (validation selection) or latest.ckpt

    def frame(self):
        return to_frame(self.rows)


class ClimbDataModule(L.LightningDataModule):
    """Loaders built once the trainer knows this process's rank and the world size."""

    def __init__(self, cfg: TrainConfig, tasks: dict[str, TaskData]):
        super().__init__()
        self.cfg, self.tasks = cfg, tasks

    def train_dataloader(self):
        loader = train_loader(list(self.tasks.values()), self.cfg.batch_size, self.cfg.seed,
                              sampling=self.cfg.sampling, temperature=self.cfg.temperature,
                              num_workers=self.cfg.num_workers, rank=self.trainer.global_rank,
                              world=self.trainer.world_size)
        set_loader_epoch(loader, self.trainer.current_epoch)
        return loader

    def val_dataloader(self):
        # every rank validates on the full split: metrics like AUROC need all samples
        return [eval_loader(t.val, self.cfg.batch_size) for t in self.tasks.values() if t.val is not None]


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


def train(cfg: TrainConfig, protocol: str | None = None, callbacks: Sequence[Callback] = (),
          quiet: bool = True) -> RunResult:
    """Train `cfg.encoder` on `cfg.datasets` (one = single-task, several = multitask) and test it."""
    protocol = protocol or ("multitask" if len(cfg.datasets) > 1 else "single")
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    modality = encoder_modality(cfg.encoder)
    tasks = {n: build_task(n, modality, input_field=cfg.input_field, transform=cfg.transform,
                           shots=cfg.shots, seed=cfg.seed, transform_options=cfg.transform_options)
             for n in cfg.datasets}
    kinds = {t.kind for t in tasks.values()}
    if len(kinds) > 1:
        raise ValueError(f"one shared encoder needs one input kind; datasets give {sorted(kinds)}")
    if cfg.model_selection != "last" and any(t.val is None for t in tasks.values()):
        cfg = cfg.model_copy(update={"model_selection": "last"})  # nothing to select on
    run_dir = cfg.run_dir
    claim_run_dir(run_dir, cfg)
    module = ClimbModule(cfg.model_dump(mode="json"), ClimbModule.task_info_from(tasks))
    ckpt = run_checkpoint(run_dir, select=cfg.selects_on_val)
    speed = Throughput()
    averaging = [EMAWeightAveraging(decay=cfg.ema_decay)] if cfg.ema_decay else []
    # multitask batches touch one head each: DDP must expect parameters without gradients
    strategy = "ddp_find_unused_parameters_true" if len(tasks) > 1 and cfg.strategy == "ddp" else cfg.strategy
    trainer = L.Trainer(
        max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices, strategy=strategy,
        num_nodes=cfg.num_nodes, precision=cfg.precision, limit_train_batches=cfg.limit_train_batches,
        limit_val_batches=cfg.limit_val_batches,
        # one log version per attempt: a resumed run keeps the logs of the attempts before it
        logger=[CSVLogger(run_dir, name="logs"), TensorBoardLogger(run_dir, name="tb")],
        callbacks=[ckpt, speed, *averaging, *callbacks], use_distributed_sampler=False,
        enable_progress_bar=not quiet, enable_model_summary=not quiet, log_every_n_steps=1,
        deterministic="warn" if cfg.accelerator != "cpu" else True,
        num_sanity_val_steps=0, reload_dataloaders_every_n_epochs=1,  # see set_loader_epoch
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    started = time.perf_counter()
    trainer.fit(module, datamodule=ClimbDataModule(cfg, tasks), ckpt_path=str(last) if last.is_file() else None)
    seconds = time.perf_counter() - started
    if not trainer.is_global_zero:
        return RunResult(cfg, [], {}, run_dir, None, seconds, speed.rate)
    best = Path(ckpt.best_model_path) if ckpt.best_model_path else last
    model = ClimbModule.load_from_checkpoint(best, map_location="cpu", weights_only=False) if best.is_file() else module
    encoder_path = save_encoder(model.encoder, run_dir / "encoder.safetensors")
    rows, preds = evaluate_module(model, tasks, cfg, protocol)
    _write_outputs(run_dir, rows, preds, seconds, speed.rate)
    return RunResult(cfg, rows, preds, run_dir, encoder_path, seconds, speed.rate,
                     tested_checkpoint=best if best.is_file() else None)


@torch.no_grad()
def predict(model: ClimbModule, task: TaskData, split: str = "test",
            batch_size: int = 128) -> dict[str, np.ndarray]:
    """Labels, scores (probabilities / predictions) and patient ids of one split."""
    ds = getattr(task, split)
    model.eval()
    ys, ss, pids = [], [], []
    for batch in eval_loader(ds, batch_size):
        ss.append(model.losses[task.name].scores(model(batch, task.name).float()).cpu().numpy())
        ys.append(batch["label"].cpu().numpy())
        pids.extend(batch["patient_id"])
    return {"y": np.concatenate(ys), "score": np.concatenate(ss), "patient_id": np.asarray(pids)}


def evaluate_module(model: ClimbModule, tasks: dict[str, TaskData], cfg: TrainConfig,
                    protocol: str) -> tuple[list[ResultRow], dict[str, dict[str, np.ndarray]]]:
    """Test-split metrics with patient-level bootstrap CIs for every task."""
    rows: list[ResultRow] = []
    preds = {}
    for name, task in tasks.items():
        if task.test is None:
            continue
        p = predict(model, task)
        preds[name] = p
        cis = bootstrap_metrics(task.task.value, p["y"], p["score"], groups=p["patient_id"],
                                n_boot=cfg.n_boot, seed=cfg.seed)
        rows += result_rows(cis, dataset=name, split="test", protocol=protocol, encoder=cfg.encoder,
                            seed=cfg.seed)
    return rows, preds


def _write_outputs(run_dir: Path, rows: list[ResultRow], preds: dict[str, dict[str, np.ndarray]],
                   seconds: float, rate: float) -> None:
    frame = to_frame(rows)
    frame["train_seconds"] = round(seconds, 2)
    frame["train_samples_per_second"] = round(rate, 1)
    frame.to_csv(run_dir / "results.csv", index=False)
    flat = {f"{task}/{key}": value for task, p in preds.items() for key, value in p.items()}
    np.savez_compressed(run_dir / "predictions.npz", **flat)


def few_shot(base: TrainConfig, shots: Sequence[int] = (1, 8, 32), seeds: Sequence[int] = (0, 1, 2),
             inits: dict[str, Path | None] | None = None,
             modes: Sequence[str] = ("linear_probe", "finetune")) -> list[ResultRow]:
    """Few-shot transfer to `base.datasets[0]`: k per class x seeds x initialisations x modes.

    `inits` maps a label to a local encoder checkpoint (None = from scratch), e.g.
    {"scratch": None, "multitask": run.encoder_path}: the CLIMB comparison.
    """
    inits = inits if inits is not None else {"scratch": None}
    rows: list[ResultRow] = []
    for k in shots:
        for seed in seeds:
            for init, path in inits.items():
                for mode in modes:
                    if mode == "linear_probe" and path is None:
                        continue  # a frozen random encoder says nothing
                    cfg = base.model_copy(update={
                        "shots": k, "seed": seed, "pretrained": path, "freeze_encoder": mode == "linear_probe",
                        "run_name": f"{base.datasets[0]}__{base.encoder}__k{k}__{init}__{mode}__seed{seed}",
                    })
                    rows += train(cfg, protocol=f"fewshot-k{k}-{init}-{mode}").rows
    return rows
