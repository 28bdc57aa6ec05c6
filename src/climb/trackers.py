"""Experiment trackers by configuration: `logger: tensorboard | csv | wandb | mlflow`.

Every run keeps its CSV log (`logs/version_*/metrics.csv`, read by climb itself); the
configured tracker is added next to it through Lightning's own loggers, so every protocol
(single-task, multitask, few-shot, SSL, fusion) logs the same way from `climb.train.engine.make_trainer`.
The names are importable without Lightning (configs and suites validate against them).

* `tensorboard` (default): `tb/version_*` in the run directory;
* `csv`: nothing more;
* `wandb`: Weights & Biases (extra `trackers`). Project `$WANDB_PROJECT` (default `climb`), run
  named after the run directory, files under `<run_dir>/wandb`. wandb reads its own credentials
  (`WANDB_API_KEY`, netrc) and `WANDB_MODE=offline`; climb never sees the key;
* `mlflow`: MLflow (extra `trackers`). Tracking URI `$MLFLOW_TRACKING_URI`, default a local SQLite
  store `<run_dir>/mlflow.db` (MLflow 3 refuses new `./mlruns` file stores unless
  `MLFLOW_ALLOW_FILE_STORE=true`); experiment `$MLFLOW_EXPERIMENT_NAME` (default `climb`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from climb.errors import ClimbUsageError
from climb.extras import require

if TYPE_CHECKING:
    from lightning.pytorch.loggers import Logger

LoggerName = Literal["tensorboard", "csv", "wandb", "mlflow"]
LOGGERS: tuple[str, ...] = LoggerName.__args__  # type: ignore[attr-defined]
DEFAULT_LOGGER: LoggerName = "tensorboard"


def make_loggers(name: str, run_dir: Path) -> list[Logger]:
    """The run's CSV logger plus the tracker `name` (one log version per attempt for the file loggers)."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    if name not in LOGGERS:
        raise ClimbUsageError(f"unknown logger {name!r}; choose one of {', '.join(LOGGERS)}")
    loggers: list[Logger] = [CSVLogger(run_dir, name="logs")]
    if name == "tensorboard":
        loggers.append(TensorBoardLogger(run_dir, name="tb"))
    elif name == "wandb":
        require("wandb", "--logger wandb")
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(WandbLogger(project=os.environ.get("WANDB_PROJECT", "climb"), name=run_dir.name,
                                   save_dir=str(run_dir)))
    elif name == "mlflow":
        require("mlflow", "--logger mlflow")
        from lightning.pytorch.loggers import MLFlowLogger

        uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(run_dir / 'mlflow.db').resolve()}"
        loggers.append(MLFlowLogger(experiment_name=os.environ.get("MLFLOW_EXPERIMENT_NAME", "climb"),
                                    run_name=run_dir.name, tracking_uri=uri))
    return loggers


__all__ = ["DEFAULT_LOGGER", "LOGGERS", "LoggerName", "make_loggers"]
