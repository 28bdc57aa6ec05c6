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

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.callbacks import Callback

from climb.evaluate.metrics import ResultRow, to_frame
from climb.models import save_encoder
from climb.errors import ClimbError, ClimbUsageError
from climb.safeio import atomic_write_bytes, atomic_write_text
from climb.train.config import TrainConfig, claim_run_dir
from climb.train.data import TaskData, build_task, eval_loader, pretrained_contract, set_loader_epoch, train_loader
from climb.train.evaluation import check_test_on, evaluate_module, predict  # noqa: F401 (predict re-exported)
from climb.train.engine import Throughput, make_trainer, record_outputs, run_checkpoint  # noqa: F401 (re-exported)
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


def train(cfg: TrainConfig, protocol: str | None = None, callbacks: Sequence[Callback] = (),
          quiet: bool = True, fresh: bool = False, init: str | None = None) -> RunResult:
    """Train `cfg.encoder` on `cfg.datasets` (one = single-task, several = multitask) and test it.

    `protocol` and `init` (the label of `cfg.pretrained`, default "pretrained"; "scratch" without
    one) go into the result rows' typed columns, with shots and mode from `cfg`.
    `fresh`: start over instead of resuming `checkpoints/last.ckpt` (every DDP rank gets the
    same intent, so no rank resumes what another one starts from scratch).
    """
    protocol = protocol or ("multitask" if len(cfg.datasets) > 1 else "single")
    preflight(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    modality = encoder_modality(cfg.encoder)
    tasks = {n: build_task(n, modality, input_field=cfg.input_field, transform=cfg.transform,
                           shots=cfg.shots, seed=cfg.seed, transform_options=cfg.transform_options,
                           contract=pretrained_contract(cfg))
             for n in cfg.datasets}
    kinds = {t.kind for t in tasks.values()}
    if len(kinds) > 1:
        raise ValueError(f"one shared encoder needs one input kind; datasets give {sorted(kinds)}")
    if cfg.model_selection != "last" and any(t.val is None for t in tasks.values()):
        cfg = cfg.model_copy(update={"model_selection": "last"})  # nothing to select on
    run_dir = cfg.run_dir
    claim_run_dir(run_dir, cfg, fresh=fresh)
    module = ClimbModule(cfg.model_dump(mode="json"), ClimbModule.task_info_from(tasks))
    run = make_trainer(cfg, run_dir, select=cfg.selects_on_val, callbacks=callbacks, quiet=quiet,
                       find_unused_parameters=len(tasks) > 1)
    run.fit(module, ClimbDataModule(cfg, tasks), fresh=fresh)
    if not run.trainer.is_global_zero:
        return RunResult(cfg, [], {}, run_dir, None, run.seconds, run.speed.rate)
    tested = run.load_tested(module)
    encoder_path = save_encoder(module.encoder, run_dir / "encoder.safetensors")
    rows, preds = evaluate_module(module, tasks, cfg, protocol, init)
    _write_outputs(run_dir, rows, preds, run.seconds, run.speed.rate)
    record_outputs(run_dir, tested_checkpoint=tested.name if tested else None)
    return RunResult(cfg, rows, preds, run_dir, encoder_path, run.seconds, run.speed.rate, tested_checkpoint=tested)


def _write_outputs(run_dir: Path, rows: list[ResultRow], preds: dict[str, dict[str, np.ndarray]],
                   seconds: float, rate: float) -> None:
    frame = to_frame(rows)
    frame["train_seconds"] = round(seconds, 2)
    frame["train_samples_per_second"] = round(rate, 1)
    atomic_write_text(run_dir / "results.csv", frame.to_csv(index=False))
    flat = {f"{task}/{key}": value for task, p in preds.items() for key, value in p.items()}
    save_npz(run_dir / "predictions.npz", flat)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed npz written atomically, never through a link (climb.safeio)."""
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def few_shot_configs(base: TrainConfig, shots: Sequence[int], seeds: Sequence[int], inits: dict[str, str | Path | None],
                     modes: Sequence[str]) -> list[tuple[str, TrainConfig]]:
    """Every (init label, config) of a few-shot sweep, validated before any of them trains."""
    bad_modes = sorted(set(modes) - {"linear_probe", "finetune"})
    if bad_modes:
        raise ClimbUsageError(f"unknown few-shot mode(s) {bad_modes}; modes: finetune, linear_probe")
    runs = []
    for k in shots:
        for seed in seeds:
            for init, path in inits.items():
                for mode in modes:
                    if mode == "linear_probe" and path is None:
                        continue  # a frozen random encoder says nothing
                    try:
                        cfg = TrainConfig.model_validate({**base.model_dump(), **{
                            "shots": k, "seed": seed, "pretrained": path, "freeze_encoder": mode == "linear_probe",
                            "run_name": f"{base.datasets[0]}__{base.encoder}__k{k}__{init}__{mode}__seed{seed}"}})
                    except ValueError as exc:  # pydantic: e.g. shots < 1
                        raise ClimbUsageError(_one_line(exc)) from None
                    runs.append((init, cfg))
    for _, cfg in runs:
        preflight(cfg)
    return runs


def few_shot(base: TrainConfig, shots: Sequence[int] = (1, 8, 32), seeds: Sequence[int] = (0, 1, 2),
             inits: dict[str, str | Path | None] | None = None,
             modes: Sequence[str] = ("linear_probe", "finetune")) -> list[ResultRow]:
    """Few-shot transfer to `base.datasets[0]`: k per class x seeds x initialisations x modes.

    `inits` maps a label to starting weights (`TrainConfig.pretrained`: a checkpoint, a published
    folder, an `hf-hub:` id or a zoo / timm tag; None = from scratch), e.g.
    {"scratch": None, "multitask": run.encoder_path}: the CLIMB comparison. Every run's
    configuration, the dataset, the encoder and each checkpoint are checked before the first
    run trains (`preflight`).
    """
    inits = inits if inits is not None else {"scratch": None}
    rows: list[ResultRow] = []
    for init, cfg in few_shot_configs(base, shots, seeds, inits, modes):
        rows += train(cfg, protocol="fewshot", init=init).rows
    return rows


def preflight(cfg: TrainConfig) -> None:
    """Check what a run needs before any work: the encoder is registered, the datasets are prepared,
    the pretrained weights can be had, the `test_on` datasets share the labels. Errors are one line naming the input."""
    from climb.models import get_spec
    from climb.models.weights import check_pretrained
    from climb.prepare import open_prepared

    try:
        get_spec(cfg.encoder)
    except KeyError as exc:
        raise ClimbUsageError(str(exc.args[0]) if exc.args else str(exc)) from None
    for name in [*cfg.datasets, *cfg.test_on]:
        try:
            open_prepared(name)
        except FileNotFoundError as exc:
            raise DatasetNotPrepared(str(exc)) from None
    if cfg.pretrained is not None:
        check_pretrained(cfg.pretrained, cfg.encoder)
    if cfg.test_on:
        check_test_on(cfg)


class DatasetNotPrepared(ClimbError, FileNotFoundError):
    """A run names a dataset that is not prepared (the message gives the `climb prepare` command)."""


def _one_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in errors())
    return str(exc).splitlines()[0]
