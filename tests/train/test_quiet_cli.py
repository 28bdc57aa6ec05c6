"""A quiet CLI: third-party noise stays in the run's log file; without a terminal, progress is plain lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from climb.train.runlog import PlainProgress

NOISE = ("Tip:", "GPU available", "FutureWarning", "LeafSpec", "FLOPs", "Trainer(limit_val_batches")


def test_train_output_is_quiet_and_progress_is_plain_lines(ecg_home: Path, tmp_path: Path) -> None:
    """`climb train` with stdout and stderr piped (no TTY): results on stdout, progress lines on stderr,
    Lightning's tips, device lines, deprecation warnings and the zero-FLOP summary only in logs/run.log."""
    proc = subprocess.run(
        [sys.executable, "-m", "climb.cli", "train", "-d", "ecg200", "-e", "resnet1d_wang", "--epochs", "2",
         "--batch-size", "16", "--limit-train-batches", "2", "--n-boot", "10", "--logger", "csv",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=900,
        env={**os.environ, "CLIMB_HOME": str(ecg_home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for noise in NOISE:
        assert noise not in proc.stdout + proc.stderr, noise
    lines = proc.stderr.strip().splitlines()
    plain = re.compile(r"^(train|val): epoch [12]/2 step \d+/\d+, [\d.]+ it/s, ETA \d+:\d\d:\d\d$")
    assert lines and all(plain.match(line) for line in lines), lines
    assert any(line.startswith("train: epoch 2/2 step 2/2") for line in lines), lines
    assert "auroc" in proc.stdout and "\r" not in proc.stdout + proc.stderr  # no redrawn bars
    (log,) = tmp_path.glob("*/logs/run.log")
    kept = log.read_text()
    for noise in ("GPU available", "FutureWarning", "FLOPs", "`Trainer.fit` stopped"):
        assert noise in kept, noise


class _Tiny(L.LightningModule):
    """A one-layer model on random tensors: the progress bar's unit test needs batches, not data."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        return self.layer(batch[0]).mean()

    def test_step(self, batch, _):
        return self.layer(batch[0]).mean()

    def predict_step(self, batch, _):
        return self.layer(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_plain_progress_covers_test_and_predict_passes(tmp_path: Path, capsys) -> None:
    loader = DataLoader(TensorDataset(torch.randn(12, 4)), batch_size=2)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_model_summary=False,
                        enable_progress_bar=False, callbacks=[PlainProgress(every_s=0)], default_root_dir=tmp_path)
    model = _Tiny()
    trainer.fit(model, loader)
    trainer.test(model, loader, verbose=False)
    trainer.predict(model, loader)
    lines = capsys.readouterr().err.strip().splitlines()
    assert [x.split(",")[0] for x in lines] == (
        [f"train: epoch 1/1 step {i}/6" for i in range(1, 7)] + [f"test: step {i}/6" for i in range(1, 7)]
        + [f"predict: step {i}/6" for i in range(1, 7)])
    assert lines[-1].endswith("ETA 0:00:00")


def test_benchmark_cells_get_plain_progress_without_a_terminal() -> None:
    """`climb benchmark`'s live bars stay blank when stderr is not a terminal: each cell's trainings add plain lines."""
    import io

    from rich.console import Console

    from climb.benchmark.runner import RichProgress

    piped = RichProgress(Console(file=io.StringIO()))
    assert any(isinstance(c, PlainProgress) for c in piped.callbacks("cell"))
    terminal = RichProgress(Console(file=io.StringIO(), force_terminal=True))
    assert not any(isinstance(c, PlainProgress) for c in terminal.callbacks("cell"))
