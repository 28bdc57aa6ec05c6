"""`climb train` flags on top of a YAML config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from climb.cli.cmd_train import _config


def test_flags_override_yaml_and_add_to_its_transform_options(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("datasets: [breastmnist]\nencoder: resnet18_small\nepochs: 7\n"
                    "transform_options: {image_size: 32}\n")
    cfg = _config([], None, path, epochs=3, lr=None, transform_options={"augment": True}, limit_val_batches=2)
    assert cfg.epochs == 3 and cfg.lr == 1e-3 and cfg.limit_val_batches == 2
    assert cfg.transform_options == {"image_size": 32, "augment": True}
    assert _config(["ptbxl"], "resnet1d_wang", None, transform_options=None).transform_options == {}
    with pytest.raises(ValidationError, match="unknown transform option"):
        _config(["ptbxl"], "resnet1d_wang", None, transform_options={"imagesize": 32})


def test_model_selection_flag_is_validated():
    cfg = _config(["ptbxl"], "resnet1d_wang", None, shots=8, model_selection="best_val")
    assert cfg.selects_on_val and not _config(["ptbxl"], "resnet1d_wang", None, shots=8).selects_on_val
    with pytest.raises(ValidationError, match="model_selection"):
        _config(["ptbxl"], "resnet1d_wang", None, model_selection="best")


@pytest.mark.parametrize("args, code, message", [
    (["--init", "x=/missing.safetensors"], 2, "pretrained encoder /missing.safetensors: no such file"),
    (["--shots", "-3"], 2, "shots: Input should be greater than or equal to 1"),
    (["--shots", "1,a"], 2, "--shots: expected comma-separated integers"),
    (["--init", "nolabel"], 2, "--init needs LABEL=PATH"),
    (["-e", "no_such_encoder"], 2, "No encoder named 'no_such_encoder'"),
])
def test_fewshot_inputs_are_checked_before_any_training(climb_prepared, tmp_path, args, code, message):
    from typer.testing import CliRunner

    from climb.cli import app

    base = ["fewshot", "bonn_eeg", "-e", "eegnet", "--epochs", "1", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == code, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()  # nothing trained or written


def test_a_missing_dataset_is_one_line_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from climb.cli import app

    for command in (["fewshot", "nosuch_dataset", "-e", "eegnet"], ["train", "-d", "nosuch_dataset", "-e", "eegnet"]):
        result = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "out")])
        assert result.exit_code == 1 and "'nosuch_dataset' is not prepared" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
