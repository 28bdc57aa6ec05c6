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
