"""DDP on CPU: `climb train --strategy ddp --devices 2` runs two gloo processes end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd


def test_ddp_two_cpu_processes_on_gloo(climb_prepared: Path, tmp_path: Path):
    climb = shutil.which("climb", path=str(Path(sys.executable).parent)) or "climb"
    env = {**os.environ, "CLIMB_HOME": str(climb_prepared), "HF_HUB_OFFLINE": "1"}
    cmd = [climb, "train", "-d", "bonn_eeg", "-e", "eegnet", "--epochs", "1", "--batch-size", "16",
           "--limit-train-batches", "3", "--n-boot", "10", "--accelerator", "cpu", "--devices", "2",
           "--strategy", "ddp", "--out", str(tmp_path), "--quiet"]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "bonn_eeg__eegnet__seed0"
    # Lightning's start-up lines are kept in the run's log, off the quiet console (climb.console)
    log = done.stdout + done.stderr + (run / "logs" / "run.log").read_text()
    assert "distributed_backend=gloo" in log and "Starting with 2 processes" in log
    results = pd.read_csv(run / "results.csv")
    assert {"auroc", "accuracy"} <= set(results.metric) and results.value.notna().all()
    steps = pd.concat(pd.read_csv(p) for p in run.glob("logs/*/metrics.csv"))["train/loss_step"].dropna()
    assert len(steps) == 3  # 3 optimizer steps, each over one batch per rank (2 x 16 samples)
