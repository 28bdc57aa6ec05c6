"""Suites with pretrained encoders: fine-tune and linear probe, few-shot from published weights,
and `missing-weights` (not a crash) when weights are absent offline.

Weights live in a temporary Hugging Face cache (HF_HUB_OFFLINE=1); the data is the real UCR
ECG200 beats shipped by an installed package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from climb.benchmark import load_suite, run_suite
from climb.benchmark.runner import MISSING_WEIGHTS, missing_weights, validate_suite
from climb.benchmark.suite import SuiteError
from climb.models.publish import copy_into_hub_cache
from helpers import published_ecg200

SUITE = """
name: pretrained_mini
seeds: [0]
budget: {epochs: 1, batch_size: 16, limit_train_batches: 2, n_boot: 10}
datasets: {ecg200: package}
encoders:
  signal:
    - resnet1d_wang
    - {name: resnet1d_wang, pretrained: "hf-hub:lab/ecg200-resnet1d"}
    - {name: resnet1d_wang, pretrained: "hf-hub:lab/absent"}
protocols:
  single: {modes: [finetune, linear_probe]}
  fewshot: {datasets: [ecg200], shots: [4], inits: [scratch], pretrained: {published: "hf-hub:lab/ecg200-resnet1d"},
            modes: [finetune, linear_probe]}
"""
HUB = "single__ecg200__resnet1d_wang@hf-hub-lab-ecg200-resnet1d"
ABSENT = "single__ecg200__resnet1d_wang@hf-hub-lab-absent"


def _cell(out: Path, cell_id: str) -> dict:
    return json.loads((out / "cells" / cell_id / "cell.json").read_text())


def test_a_suite_runs_pretrained_encoders_and_reports_absent_weights(tmp_path: Path, hub_cache: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    folder = published_ecg200(home)
    copy_into_hub_cache(folder, "lab/ecg200-resnet1d", hub_cache)
    monkeypatch.setenv("CLIMB_HOME", str(home))
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(SUITE)
    out = run_suite(load_suite(suite_file), tmp_path / "run", suite_file=str(suite_file))

    statuses = {c: _cell(out, c)["status"] for c in (f"{HUB}__seed0", f"{HUB}__linear_probe__seed0",
                                                     "single__ecg200__resnet1d_wang__seed0",
                                                     "fewshot__ecg200__resnet1d_wang__seed0")}
    assert set(statuses.values()) == {"done"}, statuses
    assert not (out / "cells" / "single__ecg200__resnet1d_wang__linear_probe__seed0").exists()  # scratch: no probe
    for mode in ("finetune", "linear_probe"):
        absent = _cell(out, f"{ABSENT}__{mode}__seed0" if mode == "linear_probe" else f"{ABSENT}__seed0")
        assert absent["status"] == MISSING_WEIGHTS
        assert "\n" not in absent["error"] and "hf download lab/absent model.safetensors" in absent["error"]

    probe = load_file(out / "cells" / f"{HUB}__linear_probe__seed0" / "encoder.safetensors")
    published = load_file(folder / "model.safetensors")
    for key, value in published.items():  # the linear probe kept the published weights
        torch.testing.assert_close(probe[key], value, rtol=0, atol=0)
    rows = pd.read_csv(out / "results.csv")
    single = rows[(rows.protocol == "single")]
    assert set(zip(single["init"], single["mode"])) == {("scratch", "finetune"), ("pretrained", "finetune"),
                                                        ("pretrained", "linear_probe")}
    fewshot = rows[rows.protocol == "fewshot"]
    assert set(zip(fewshot["init"], fewshot["mode"])) == {("scratch", "finetune"), ("published", "finetune"),
                                                          ("published", "linear_probe")}


def test_the_climb_suite_compares_general_and_clinical_pretrained_encoders(hub_cache: Path) -> None:
    cells = validate_suite(load_suite("climb"))
    chexpert = {c.id for c in cells if c.protocol == "single" and c.datasets == ("chexpert",) and c.seed == 0}
    for encoder in ("convnextv2_tiny", "swin_tiny", "eva02_tiny", "vit_base", "rad_dino", "biomedclip_vit_b16"):
        assert {f"single__chexpert__{encoder}@pretrained__seed0",
                f"single__chexpert__{encoder}@pretrained__linear_probe__seed0"} <= chexpert
    assert "single__chexpert__swin_tiny__seed0" in chexpert  # the same architecture from scratch
    eeg = next(c for c in cells if c.id == "single__tuab__biot@biot-prest-16chs__seed0")
    rad = next(c for c in cells if c.id == "single__chexpert__rad_dino@pretrained__seed0")
    assert rad.extra == {"pretrained": True, "mode": "finetune"}
    for cell in (rad, eeg):  # weights absent offline: the one-line how-to, no crash
        message = missing_weights(cell)
        assert message is not None and "\n" not in message and "hf download" in message


def test_weights_a_suite_names_are_checked_offline_before_anything_runs(tmp_path: Path) -> None:
    suite_file = tmp_path / "bad.yaml"
    suite_file.write_text(SUITE.replace("hf-hub:lab/absent", "resnet50.a1_in1k"))
    with pytest.raises(SuiteError, match="encoders.signal.resnet1d_wang.pretrained.*not a file, a folder"):
        load_suite(suite_file)
    suite_file.write_text(SUITE.replace("published: \"hf-hub:lab/ecg200-resnet1d\"", "scratch: rad_dino"))
    with pytest.raises(SuiteError, match="reserved"):
        load_suite(suite_file)
