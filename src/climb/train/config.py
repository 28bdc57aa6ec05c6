"""Training configuration: one pydantic model, loadable from YAML, shared by every protocol."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from climb.errors import ClimbUsageError
from climb.trackers import LoggerName


# which weights are tested: "best_val" = the epoch with the best validation score (mean AUROC,
# r2 for regression, over tasks), "last" = the final epoch. "auto" = best_val, but last for
# few-shot runs (`shots` set): k labels per class leave no validation labels to select on, and
# selecting on the full validation split would use labels a k-shot user lacks
ModelSelection = Literal["auto", "best_val", "last"]


def selects_on_val(model_selection: str, shots: int | None) -> bool:
    return model_selection == "best_val" or (model_selection == "auto" and shots is None)


class TrainConfig(BaseModel):
    """What to train, on what, and how. Scale-out is configuration (accelerator/devices/strategy)."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)  # prepared dataset names; >1 = multitask
    encoder: str
    encoder_kwargs: dict[str, Any] = {}
    input_field: str | None = None  # default: the first field whose kind the encoder reads
    # starting weights: a zoo or timm tag, `hf-hub:org/repo[@rev]`, a local file / published folder, or
    # true = the encoder's default zoo weights (climb.models.weights); the load transform then follows
    # the weights' input contract
    pretrained: bool | str | Path | None = None
    freeze_encoder: bool = False  # linear probe
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    # per-epoch learning rate: cosine to 0, "multistep" = x0.1 at 50 % and 75 % of the epochs
    # (the MedMNIST recipe), or constant
    lr_schedule: Literal["cosine", "multistep", "constant"] = "cosine"
    seed: int = 0
    num_workers: int = Field(0, ge=0)
    transform: str | None = "default"
    # keyword arguments of `climb.loading.transforms.default_transform`, e.g.
    # {"image_size": 64, "augment": true} or {"sampling_rate": 100, "crop_seconds": 2.5}
    transform_options: dict[str, Any] = {}
    # class-imbalance weights from train counts; the scores then reflect a balanced class prior,
    # so thresholded metrics and ECE describe that model (False: probabilities at the prevalence)
    balance_loss: bool = True
    # exponential moving average of the weights (Lightning's EMAWeightAveraging): validation,
    # checkpoints and the test use the averaged weights; e.g. 0.99 ~ the last 100 steps
    ema_decay: float | None = Field(None, gt=0, lt=1)
    # multitask
    sampling: Literal["proportional", "temperature", "round_robin"] = "proportional"
    temperature: float = Field(2.0, gt=0)
    # data budget: k examples per class (few-shot) drawn from the train split, nested by seed
    shots: int | None = Field(None, ge=1)
    limit_train_batches: int | float = 1.0
    limit_val_batches: int | float = 1.0
    model_selection: ModelSelection = "auto"  # see ModelSelection
    # scale-out, passed to Lightning
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"  # e.g. "bf16-mixed" on GPUs
    num_nodes: int = 1
    logger: LoggerName = "tensorboard"  # experiment tracker next to the CSV log (climb.trackers)
    # evaluation; external validation: other prepared datasets with the same task type and label
    # names, tested (every split) with the head of the training dataset they match
    test_on: list[str] = []
    n_boot: int = Field(200, ge=0)
    out_dir: Path = Path("runs/train")
    run_name: str | None = None

    @field_validator("transform_options")
    @classmethod
    def _transform_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        import inspect

        from climb.loading.transforms import default_transform

        allowed = set(inspect.signature(default_transform).parameters) - {"card", "train", "seed", "stats"}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown transform option(s) {unknown}; allowed: {sorted(allowed)}")
        return v

    @field_validator("pretrained")
    @classmethod
    def _pretrained(cls, v: bool | str | Path | None) -> bool | str | Path | None:
        return None if v is False else v

    @field_validator("precision")
    @classmethod
    def _precision(cls, v: str) -> str:
        from climb.train.engine import check_precision

        return check_precision(v)

    @property
    def selects_on_val(self) -> bool:
        return selects_on_val(self.model_selection, self.shots)

    @property
    def name(self) -> str:
        return self.run_name or f"{'+'.join(self.datasets)}__{self.encoder}__seed{self.seed}"

    @property
    def run_dir(self) -> Path:
        return self.out_dir / self.name

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> "TrainConfig":
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return cls.model_validate({**raw, **overrides})


# settings that do not change what a run computes: a run may resume under other values
RESUMABLE_CHANGES = frozenset({"out_dir", "run_name", "n_boot", "test_on", "num_workers", "accelerator", "devices",
                               "strategy", "num_nodes", "logger"})


def claim_run_dir(run_dir: Path, cfg: BaseModel, resumable: frozenset[str] = RESUMABLE_CHANGES,
                  fresh: bool = False) -> None:
    """Write `cfg` as `run_dir/config.yaml`, refusing a directory that holds another run.

    A run resumes from `checkpoints/last.ckpt`; resuming a different configuration (other
    shots, lr, encoder, ...) would silently report the old weights under the new settings.
    The stored config is read through the same model, so keys it lacks (written by an older
    climb) take their defaults. `fresh`: the old run directory is moved aside (one atomic
    rename, so another rank sees it whole or not at all) and removed. Only rank zero writes;
    every rank reaches the same decision from what is on disk.
    """
    from climb.safeio import atomic_write_text
    from climb.train.engine import is_rank_zero

    if fresh:
        if is_rank_zero() and run_dir.exists():
            trash = run_dir.with_name(f".trash-{run_dir.name}-{os.getpid()}")
            os.replace(run_dir, trash)
            shutil.rmtree(trash, ignore_errors=True)
    else:
        _check_same_run(run_dir, cfg, resumable)
    if is_rank_zero():
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))


def _check_same_run(run_dir: Path, cfg: BaseModel, resumable: frozenset[str]) -> None:
    path = run_dir / "config.yaml"
    if not (path.is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()):
        return
    new = cfg.model_dump(mode="json")
    try:
        old = type(cfg).model_validate(yaml.safe_load(path.read_text()) or {}).model_dump(mode="json")
    except ValueError as exc:
        raise RunDirError(f"{run_dir} holds a run whose config.yaml this climb cannot read ({exc}); use "
                          "another run_name / out_dir, or delete the directory to start over.") from None
    changed = sorted(k for k in set(old) | set(new) if k not in resumable and old.get(k) != new.get(k))
    if changed:
        raise RunDirError(f"{run_dir} holds a run with another configuration (differs in: {', '.join(changed)}); "
                          "it would resume from that run's checkpoint. Use another run_name / out_dir, "
                          "or delete the directory to start over.")


class RunDirError(ClimbUsageError):
    """A run directory holds another run (or one this climb cannot read)."""
