"""Evaluation runs on Lightning's predict step and gives exactly what the hand-written loop gave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def _hand_loop(model, task, batch_size: int = 128) -> dict[str, np.ndarray]:
    """The evaluation loop climb used before `Trainer.predict` (the oracle)."""
    from climb.train.data import eval_loader

    model.eval()
    ys, ss, pids = [], [], []
    with torch.no_grad():
        for batch in eval_loader(task.test, batch_size):
            ss.append(model.losses[task.name].scores(model(batch, task.name).float()).cpu().numpy())
            ys.append(batch["label"].cpu().numpy())
            pids.extend(batch["patient_id"])
    return {"y": np.concatenate(ys), "score": np.concatenate(ss), "patient_id": np.asarray(pids)}


def test_lightning_predict_equals_the_hand_written_loop(tmp_path: Path):
    from climb.prepare import prepare
    from climb.train import TrainConfig, train
    from climb.train.data import build_task
    from climb.train.engine import load_checkpoint
    from climb.train.evaluation import predict
    from climb.train.module import ClimbModule

    prepare("wdbc")
    cfg = TrainConfig(datasets=["wdbc"], encoder="mlp", epochs=1, batch_size=32, n_boot=5, out_dir=tmp_path)
    result = train(cfg)
    task = build_task("wdbc", "tabular", input_field=None, transform="default", shots=None, seed=0)
    model = ClimbModule(result.config.model_dump(mode="json"), ClimbModule.task_info_from({"wdbc": task}))
    model.load_state_dict(load_checkpoint(result.tested_checkpoint)["state_dict"])
    expected = _hand_loop(model, task, batch_size=50)  # batches that do not divide the split
    got = predict(model, task, batch_size=50)
    assert len(got["y"]) == len(task.test) > 100
    for key in ("y", "score", "patient_id"):
        np.testing.assert_array_equal(got[key], expected[key])
    written = result.predictions["wdbc"]  # what train() tested, in its batches of 128
    np.testing.assert_array_equal(written["score"], _hand_loop(model, task)["score"])
