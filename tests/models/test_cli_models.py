"""`climb models`: the registry and the zoo from data alone, readable at 80 columns, `--info`."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from climb.cli import app


def test_models_table_for_one_modality() -> None:
    result = CliRunner().invoke(app, ["models", "--modality", "eeg", "--wide"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    for name in ("eegnet*", "shallow_fbcsp", "eeg_conformer", "biot+", "labram+"):
        assert name in result.output
    assert "1.4k" in result.output  # EEGNet-8,2 on 16 channels: 1,360 parameters (encoders.yaml, checked by a test)
    assert "resnet18" not in result.output


def test_listing_fits_80_columns_and_marks_one_default_per_kind() -> None:
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for name in ("resnet1d_wang*", "convnextv2_atto*+", "eegnet*", "gcn*", "xresnet1d101 "):
        assert name in result.output  # full names, never cut


def test_listing_imports_no_torch() -> None:
    """The listing is data: torch (seconds to import) is never loaded."""
    code = ("import sys; from typer.testing import CliRunner; from climb.cli import app; "
            "r = CliRunner().invoke(app, ['models']); assert r.exit_code == 0, r.output; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_info_shows_contract_source_licence_citation() -> None:
    result = CliRunner().invoke(app, ["models", "--info", "rad_dino"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for text in ("hf-hub:microsoft/rad-dino", "licence", "Perez-Garcia", "518x518 px"):
        assert text in result.output
    listed = CliRunner().invoke(app, ["models", "--info", "hubert-ecg-small"], env={"COLUMNS": "120"})
    assert "trust_remote_code" in listed.output and "CC-BY-NC-4.0" in listed.output


def test_models_rejects_unknown_modality_and_name() -> None:
    result = CliRunner().invoke(app, ["models", "--modality", "audio"])
    assert result.exit_code != 0
    assert "unknown modality" in result.output
    result = CliRunner().invoke(app, ["models", "--info", "resnet19"])
    assert result.exit_code != 0 and "resnet18" in result.output
