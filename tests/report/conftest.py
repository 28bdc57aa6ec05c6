"""A miniature benchmark run directory built from real results (trained once per session).

Laid out per the `climb benchmark` contract: one real supervised cell (EEGNet on Bonn EEG,
1 epoch, 2 batches) and one real baseline cell on PneumoniaMNIST (mean image intensity as
the score: no training, but real predictions and real bootstrap CIs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BONN_CELL = "single__bonn_eeg__eegnet__seed0"
PNEUMONIA_CELL = "baseline__pneumoniamnist__mean_intensity__seed0"


def _pneumonia_baseline_cell(shared_data: Path, cell_dir: Path) -> pd.DataFrame:
    from climb.evaluate.bootstrap import bootstrap_metrics
    from climb.evaluate.metrics import result_rows, to_frame

    with np.load(shared_data / "medmnist" / "pneumoniamnist.npz") as npz:
        images, labels = npz["test_images"], npz["test_labels"].reshape(-1)
    score = images.reshape(len(images), -1).mean(axis=1) / 255.0
    patient = np.array([f"test-{i}" for i in range(len(labels))])
    cis = bootstrap_metrics("binary", labels, score, groups=patient, n_boot=10, seed=0)
    frame = to_frame(result_rows(cis, dataset="pneumoniamnist", split="test", protocol="single",
                                 encoder="mean_intensity", seed=0))
    cell_dir.mkdir(parents=True)
    np.savez_compressed(cell_dir / "predictions.npz", **{"pneumoniamnist/y": labels,
                                                         "pneumoniamnist/score": score,
                                                         "pneumoniamnist/patient_id": patient})
    frame.to_csv(cell_dir / "results.csv", index=False)
    return frame


@pytest.fixture(scope="session")
def real_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """run/{manifest.json, results.csv, cells/<id>/...} with real numbers, written as `climb benchmark` would."""
    home, run = tmp_path_factory.mktemp("report_home"), tmp_path_factory.mktemp("report_run")
    old = os.environ.get("CLIMB_HOME")
    os.environ["CLIMB_HOME"] = str(home)
    try:
        from climb.prepare import prepare
        from climb.train import TrainConfig, train

        prepare("bonn_eeg", raw=shared_data / "bonn_eeg")
        result = train(TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", epochs=1, limit_train_batches=2,
                                   n_boot=10, out_dir=run / "cells", run_name=BONN_CELL))
    finally:
        if old is None:
            os.environ.pop("CLIMB_HOME")
        else:
            os.environ["CLIMB_HOME"] = old
    bonn = pd.read_csv(result.run_dir / "results.csv").assign(cell=BONN_CELL, wall_seconds=result.train_seconds)
    pneumonia = _pneumonia_baseline_cell(shared_data, run / "cells" / PNEUMONIA_CELL).assign(
        cell=PNEUMONIA_CELL, wall_seconds=0.5, train_samples_per_second=np.nan)
    results = pd.concat([bonn, pneumonia], ignore_index=True).assign(suite="report-test")
    results.drop(columns=["train_seconds"]).to_csv(run / "results.csv", index=False)
    cells = {BONN_CELL: {"status": "done", "wall_seconds": result.train_seconds},
             PNEUMONIA_CELL: {"status": "done", "wall_seconds": 0.5}}
    for cell, info in cells.items():
        (run / "cells" / cell / "cell.json").write_text(json.dumps({"id": cell, **info, "error": None}))
    manifest = {"suite": "report-test", "demo": False, "climb_version": "0.1.0", "git_commit": "abc1234",
                "python_version": "3.11", "torch_version": "2", "hardware": {"cpu_count": 2, "gpus": []},
                "seeds": [0], "started": "2026-01-01T00:00:00", "ended": "2026-01-01T00:01:00", "cells": cells}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run
