"""`climb models` lists encoders with their input kind and parameter count."""

from __future__ import annotations

from typer.testing import CliRunner

from climb.cli import app


def test_models_table_for_one_modality() -> None:
    result = CliRunner().invoke(app, ["models", "--modality", "eeg"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("eegnet", "shallow_fbcsp", "eeg_conformer", "biot"):
        assert name in result.output
    assert "1,360" in result.output  # EEGNet-8,2 on 16 channels
    assert "resnet18" not in result.output


def test_models_rejects_unknown_modality() -> None:
    result = CliRunner().invoke(app, ["models", "--modality", "audio"])
    assert result.exit_code != 0
    assert "unknown modality" in result.output
