"""Fusion presets as YAML files: identical to the former dict presets, user preset files, the MIMIC-IV preset."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from climb.models import create_encoder, get_spec
from climb.train import fusion
from climb.train.fusion import (PRESET_DIR, PRESETS, PTBXL_REPORT_LEAK, PresetError, modality_kind, preset_config,
                                run_fusion)

# written from the dict presets (climb.train.fusion.PRESETS before they became YAML files):
# {name: {"description": ..., "config": preset_config(name).model_dump(mode="json")}}
BEFORE_YAML = Path(__file__).with_name("data") / "fusion_presets_before_yaml.json"


def test_yaml_presets_resolve_exactly_as_the_dict_presets_did() -> None:
    before = json.loads(BEFORE_YAML.read_text())
    assert set(before) <= set(PRESETS)
    for name, old in before.items():
        now = preset_config(name).model_dump(mode="json")
        assert now.pop("logger") == "tensorboard", name  # a FusionConfig field added after the snapshot (trackers)
        assert now == old["config"], name
        assert PRESETS[name]["description"] == old["description"], name
    assert preset_config("ptbxl").clip == {"age": (0.0, 90.0)}  # YAML lists become the typed tuples


def test_every_packaged_preset_is_a_described_file() -> None:
    assert set(PRESETS) == {p.stem for p in PRESET_DIR.glob("*.yaml")}
    assert all(p["description"] for p in PRESETS.values())


def test_report_leak_text_is_written_once() -> None:
    assert PTBXL_REPORT_LEAK == yaml.safe_load((PRESET_DIR / "ptbxl_with_report.yaml").read_text())["label_leak"]
    assert "assigned the labels" not in Path(fusion.__file__).read_text()
    assert preset_config("ptbxl_with_report").label_leak == PTBXL_REPORT_LEAK


def _write(tmp_path: Path, text: str, name: str = "my_preset.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("dataset: abide\nmodalities: {graph: {fields: [node_features], encoder: gcn}}\nepochs: 0\n",
     r"my_preset.yaml: epochs: Input should be greater than or equal to 1"),
    ("dataset: abide\nmodalities: {graph: {fields: [node_features], encoder: gcn, layers: 2}}\n",
     r"my_preset.yaml: modalities.graph.layers: Extra inputs are not permitted"),
    ("modalities: {graph: {fields: [node_features], encoder: gcn}}\n", r"my_preset.yaml: dataset: Field required"),
    ("dataset: abide\nmodalities: {graph: {fields: [x], encoder: gcn}}\ndescription: [a]\n",
     r"my_preset.yaml: description: expected a string"),
    ("- abide\n", r"my_preset.yaml: expected a mapping"),
    ("dataset: [abide\n", r"my_preset.yaml: not YAML"),
])
def test_bad_preset_file_is_one_line_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PresetError, match=message) as info:
        preset_config(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_unknown_preset_and_missing_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no fusion preset 'mnist'"):
        preset_config("mnist")
    with pytest.raises(PresetError, match=r"nope.yaml does not exist"):
        preset_config(tmp_path / "nope.yaml")
    with pytest.raises(PresetError, match=r"my_preset.yaml: strategy: Value error, unknown fusion strategy 'sum'"):
        preset_config(_write(tmp_path, (PRESET_DIR / "abide.yaml").read_text()), strategy="sum")


@pytest.fixture(scope="module")
def abide_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import prepare_into

    return prepare_into(tmp_path_factory.mktemp("abide_home"), {"abide": shared_data / "abide"})


def _tiny_abide(tmp_path: Path) -> Path:
    """A user's preset file: the packaged abide preset with small encoders and a tiny budget."""
    preset = yaml.safe_load((PRESET_DIR / "abide.yaml").read_text())
    preset["modalities"]["graph"]["encoder_kwargs"] = {"hidden": 16, "layers": 1}
    preset["modalities"]["phenotype"]["encoder_kwargs"] = {"hidden": [16]}
    preset.update(description="tiny ABIDE", fusion_kwargs={"hidden": 16}, epochs=1, batch_size=8,
                  limit_train_batches=2, n_boot=5, out_dir=str(tmp_path / "runs"))
    return _write(tmp_path, yaml.safe_dump(preset), "tiny_abide.yaml")


def test_user_preset_file_trains_on_real_data(abide_home: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIMB_HOME", str(abide_home))
    cfg = preset_config(_tiny_abide(tmp_path))
    assert cfg.modalities["graph"].encoder_kwargs == {"hidden": 16, "layers": 1} and cfg.epochs == 1
    frame = run_fusion(cfg).frame()
    rows = frame[(frame.dataset == "abide") & (frame.metric == "auroc")]
    assert set(rows.dropped.fillna("")) == {"", "graph", "phenotype"} and rows.value.notna().all()
    assert set(rows.modalities) == {"graph+phenotype"}


def test_cli_fusion_takes_a_preset_file(abide_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from climb.cli import app

    monkeypatch.setenv("CLIMB_HOME", str(abide_home))
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(app, ["fusion", str(_tiny_abide(tmp_path)), "--strategies", "late_average", "--no-unimodal",
                              "--no-full", "--shots", "8", "--epochs", "1", "--batch-size", "8",
                              "--limit-train-batches", "2", "--n-boot", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    saved = pd.read_csv(out / "results.csv")
    assert {("late_average", 8)} == set(zip(saved.fusion, saved.shots))
    bad = _write(tmp_path, "dataset: abide\nmodalities: {}\n", "bad.yaml")
    res = runner.invoke(app, ["fusion", str(bad)])
    one_line = " ".join(res.output.split())  # rich wraps long lines to the terminal width
    assert res.exit_code != 0 and "bad.yaml: modalities: Dictionary should have at least 1 item" in one_line


def test_mimic_iv_preset_reads_the_builders_fields_with_fitting_encoders() -> None:
    """The MIMIC-IV data is credentialed: check the preset against the builder's declared fields and shapes."""
    from climb.prepare.builders.mimic_iv import FEATURE_NAMES, MIMICIV

    cfg = preset_config("mimic_iv")
    card = {"name": cfg.dataset, "fields": {n: {"kind": k} for n, k in MIMICIV.fields.items()}}
    kinds = {m: modality_kind(card, m, mc) for m, mc in cfg.modalities.items()}
    assert kinds == {"cxr": "image", "ecg": "signal", "tabular": "tabular", "text": "text"}
    assert cfg.dataset == "mimic_iv_mortality48" and cfg.modalities["text"].freeze
    params = MIMICIV.default_params
    inputs = {"cxr": (1, torch.zeros(2, 1, params["size"], params["size"])),
              "ecg": (12, torch.zeros(2, 12, params["ecg_rate"] * 10)),
              "tabular": (len(FEATURE_NAMES), torch.zeros(2, len(FEATURE_NAMES)))}
    for modality, (channels, x) in inputs.items():
        mc = cfg.modalities[modality]
        encoder = create_encoder(mc.encoder, in_channels=channels, **mc.encoder_kwargs).eval()
        with torch.no_grad():
            assert encoder(x).shape[0] == 2, modality
    assert get_spec(cfg.modalities["text"].encoder).modality == "text"
