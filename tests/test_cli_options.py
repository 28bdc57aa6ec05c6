"""`climb train`'s options are generated from TrainConfig: every scalar field is a flag, values reach the config."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from typer.main import get_command
from typer.testing import CliRunner

from climb.cli import app
from climb.cli.options import _scalar, config_options
from climb.train.config import TrainConfig


def test_every_scalar_train_config_field_is_an_option() -> None:
    params = {p.name: p for p in get_command(app).commands["train"].params}
    scalar = {name for name, field in TrainConfig.model_fields.items() if _scalar(field.annotation) is not None}
    assert scalar <= params.keys(), scalar - params.keys()
    assert {"dataset", "config", "augment", "image_size", "quiet"} <= params.keys()
    assert params["out_dir"].opts == ["--out"] and params["encoder"].opts == ["--encoder", "-e"]


def test_option_values_reach_the_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = []
    monkeypatch.setattr("climb.train.protocols.train", lambda cfg, quiet: seen.append((cfg, quiet))
                        or SimpleNamespace(rows=[]))
    args = ["train", "-d", "ecg200", "-d", "ecg5000", "-e", "resnet1d_wang", "--epochs", "3",
            "--limit-train-batches", "2", "--limit-val-batches", "0.5", "--devices", "auto",
            "--no-balance-loss", "--weight-decay", "0.01", "--augment", "--sampling", "round_robin",
            "--logger", "csv", "--out", str(tmp_path), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ((cfg, quiet),) = seen
    assert quiet and cfg.datasets == ["ecg200", "ecg5000"] and cfg.encoder == "resnet1d_wang" and cfg.epochs == 3
    assert cfg.limit_train_batches == 2 and isinstance(cfg.limit_train_batches, int) and cfg.limit_val_batches == 0.5
    assert cfg.devices == "auto" and cfg.balance_loss is False and cfg.weight_decay == 0.01
    assert cfg.sampling == "round_robin" and cfg.logger == "csv" and cfg.out_dir == tmp_path
    assert cfg.transform_options == {"augment": True} and cfg.lr == 1e-3  # not given: the config's default
    bad = CliRunner().invoke(app, ["train", "-d", "ecg200", "-e", "resnet1d_wang", "--sampling", "random"])
    assert bad.exit_code == 1 and "sampling" in bad.output and len(seen) == 1


def test_a_new_config_field_becomes_an_option() -> None:
    """What a helper adding e.g. `test_on` or `pretrained: str` to a config gets without touching the CLI."""

    class Config(BaseModel):
        names: list[str] = []  # not a scalar: its own option
        test_on: str | None = Field(None, description="External test dataset.")
        mode: Literal["a", "b"] = "a"
        limit: int | float = 1.0

    params = {p.name: p for p in config_options(Config, names={})}
    assert list(params) == ["test_on", "mode", "limit"]
    assert params["test_on"].default.param_decls == ("--test-on",) and params["test_on"].default.help == (
        "External test dataset.")
    assert params["mode"].default.help == "One of a, b; default a."


def test_a_config_file_may_leave_datasets_and_encoder_to_the_flags(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """`--config` with only some fields (e.g. `num_workers: 8`) plus `-d`/`-e` flags: one validation of both
    (it failed with "datasets: Field required" before; seen on the GPU check); flags win, lists too."""
    seen = []
    monkeypatch.setattr("climb.train.protocols.train", lambda cfg, quiet: seen.append(cfg) or SimpleNamespace(rows=[]))
    partial = tmp_path / "w8.yaml"
    partial.write_text("num_workers: 8\nepochs: 4\ntransform_options: {image_size: 64}\n")
    args = ["train", "--config", str(partial), "-d", "ecg200", "-e", "resnet1d_wang", "--epochs", "2",
            "--pretrained", "hf-hub:org/ecg-encoder", "--test-on", "ecg5000", "--augment", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (cfg,) = seen
    assert cfg.datasets == ["ecg200"] and cfg.encoder == "resnet1d_wang" and cfg.num_workers == 8 and cfg.epochs == 2
    assert cfg.pretrained == "hf-hub:org/ecg-encoder" and cfg.test_on == ["ecg5000"]
    assert cfg.transform_options == {"image_size": 64, "augment": True}
    partial.write_text("- not a mapping\n")
    bad = CliRunner().invoke(app, ["train", "--config", str(partial), "-d", "ecg200", "-e", "resnet1d_wang"])
    assert bad.exit_code == 2 and "not a mapping" in bad.output
