"""A miniature suite on real data runs end to end, resumes, and reports missing data and failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from climb.benchmark import load_suite, run_suite
from climb.benchmark.runner import result_columns

MINI = """
name: mini
seeds: [0]
budget: {{epochs: 1, batch_size: 32, limit_train_batches: 2, n_boot: 10}}
datasets:
  wdbc: package
  pbmc68k_reduced: package
  bonn_eeg: {{shared: {bonn}}}
  pneumoniamnist: download
encoders: {{tabular: [mlp], eeg: [eegnet], image: [resnet18_small]}}
protocols:
  single: {{datasets: [wdbc, bonn_eeg, pneumoniamnist]}}
  multitask: {{groups: {{tab: {{datasets: [wdbc, pbmc68k_reduced]}}}}}}
  fewshot: {{datasets: [wdbc], shots: [4], inits: [scratch, multitask_heldout, multitask]}}
"""
CELLS = ["single__wdbc__mlp__seed0", "single__bonn_eeg__eegnet__seed0",
         "single__pneumoniamnist__resnet18_small__seed0", "multitask__tab__mlp__seed0", "fewshot__wdbc__mlp__seed0"]


@pytest.fixture(scope="module")
def mini_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The miniature suite, run once for the module in its own CLIMB_HOME."""
    import os

    root = tmp_path_factory.mktemp("mini")
    suite_file = root / "mini.yaml"
    suite_file.write_text(MINI.format(bonn="bonn_eeg"))
    old = os.environ.get("CLIMB_HOME")
    os.environ["CLIMB_HOME"] = str(root / "home")
    try:
        out = run_suite(load_suite(suite_file), root / "run", suite_file=str(suite_file))
        yield out, suite_file
    finally:
        os.environ.pop("CLIMB_HOME") if old is None else os.environ.__setitem__("CLIMB_HOME", old)


def _cell(out: Path, cell_id: str) -> dict:
    return json.loads((out / "cells" / cell_id / "cell.json").read_text())


def test_run_dir_matches_the_contract(mini_run):
    out, _ = mini_run
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("suite", "suite_yaml", "climb_version", "git_commit", "python", "torch", "hardware", "datasets",
                "seeds", "started", "finished", "cells", "demo"):
        assert key in manifest, key
    assert manifest["suite"] == "mini" and manifest["demo"] is False and manifest["seeds"] == [0]
    assert manifest["hardware"]["cpu_count"] >= 1
    assert manifest["datasets"]["wdbc"]["fingerprint"] and manifest["datasets"]["bonn_eeg"]["fingerprint"]
    assert set(manifest["cells"]) == set(CELLS)
    assert manifest["cells"]["single__wdbc__mlp__seed0"]["wall_seconds"] > 0
    table = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == result_columns()
    table["notes"] = table["notes"].fillna("")  # CSV cannot tell "" from missing
    parquet = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(table, parquet, check_dtype=False)
    for cell_id in ("single__wdbc__mlp__seed0", "single__bonn_eeg__eegnet__seed0"):
        cell_dir = out / "cells" / cell_id
        assert _cell(out, cell_id)["status"] == "done"
        assert (cell_dir / "checkpoints" / "last.ckpt").is_file() and (cell_dir / "logs").is_dir()
        dataset = cell_id.split("__")[1]
        with np.load(cell_dir / "predictions.npz") as preds:
            assert {f"{dataset}/y", f"{dataset}/score", f"{dataset}/patient_id"} <= set(preds.files)


def test_gathered_numbers_equal_the_cells_own(mini_run):
    out, _ = mini_run
    table = pd.read_csv(out / "results.csv")
    for cell_id in ("single__wdbc__mlp__seed0", "single__bonn_eeg__eegnet__seed0", "multitask__tab__mlp__seed0"):
        own = pd.read_csv(out / "cells" / cell_id / "results.csv")
        mine = table[table["cell"] == cell_id]
        assert len(mine) == len(own) > 0
        merged = own.merge(mine, on=["dataset", "metric"], suffixes=("_own", ""))
        np.testing.assert_allclose(merged["value"], merged["value_own"], equal_nan=True)
        np.testing.assert_allclose(merged["ci_low"], merged["ci_low_own"], equal_nan=True)
    assert set(table[table["cell"] == "multitask__tab__mlp__seed0"]["dataset"]) == {"wdbc", "pbmc68k_reduced"}
    assert (table["suite"] == "mini").all()


def test_paired_multitask_vs_single_rows(mini_run):
    out, _ = mini_run
    table = pd.read_csv(out / "results.csv")
    paired = table[table["protocol"] == "multitask-vs-single"]
    assert list(paired["dataset"]) == ["wdbc"] and list(paired["metric"]) == ["auroc"]
    auroc = table[(table["metric"] == "auroc") & (table["dataset"] == "wdbc")].set_index("protocol")["value"]
    assert math.isclose(paired["value"].iloc[0], auroc["multitask"] - auroc["single"], abs_tol=1e-9)
    assert paired["ci_low"].iloc[0] <= paired["value"].iloc[0] <= paired["ci_high"].iloc[0]


def test_held_out_few_shot_pretrains_without_the_target(mini_run):
    import yaml

    out, _ = mini_run
    assert _cell(out, "fewshot__wdbc__mlp__seed0")["status"] == "done"
    pretrain = out / "cells" / "fewshot__wdbc__mlp__seed0" / "pretrain__pbmc68k_reduced__mlp__seed0"
    assert yaml.safe_load((pretrain / "config.yaml").read_text())["datasets"] == ["pbmc68k_reduced"]
    assert (pretrain / "encoder.safetensors").is_file()
    table = pd.read_csv(out / "results.csv")
    rows = table[(table["cell"] == "fewshot__wdbc__mlp__seed0") & (table["metric"] == "auroc")]
    assert set(rows["protocol"]) == {"fewshot"} and set(rows["shots"]) == {4} and set(rows["mode"]) == {"finetune"}
    assert set(rows["init"]) == {"scratch", "multitask_heldout", "multitask"}
    assert set(rows["dataset"]) == {"wdbc"}  # the pretraining's own test rows stay in its run directory
    notes = rows.set_index("init")["notes"].fillna("")
    assert "not held out" in notes["multitask"]
    assert "not held out" not in notes["multitask_heldout"]


def test_missing_dataset_is_reported_with_the_instruction(mini_run):
    out, _ = mini_run
    record = _cell(out, "single__pneumoniamnist__resnet18_small__seed0")
    assert record["status"] == "missing-data"
    assert "climb download pneumoniamnist" in record["error"]
    table = pd.read_csv(out / "results.csv")
    assert "pneumoniamnist" not in set(table["dataset"])


def test_resume_redoes_only_the_removed_cell(mini_run):
    import shutil

    out, suite_file = mini_run
    kept = out / "cells" / "single__bonn_eeg__eegnet__seed0"
    before = {p: p.stat().st_mtime_ns for p in kept.rglob("*") if p.is_file()}
    shutil.rmtree(out / "cells" / "single__wdbc__mlp__seed0")
    import os

    os.environ["CLIMB_HOME"] = str(out.parent / "home")
    run_suite(load_suite(suite_file), out)
    assert {p: p.stat().st_mtime_ns for p in kept.rglob("*") if p.is_file()} == before
    assert _cell(out, "single__wdbc__mlp__seed0")["status"] == "done"
    table = pd.read_csv(out / "results.csv")
    assert (table["cell"] == "single__wdbc__mlp__seed0").any()
    assert len(json.loads((out / "manifest.json").read_text())["attempts"]) == 2


def test_no_resume_retrains_a_finished_cell_from_scratch(mini_run):
    import os

    out, suite_file = mini_run
    cell = out / "cells" / "single__wdbc__mlp__seed0"
    ckpt = next(cell.rglob("last.ckpt"))
    (cell / "stale.txt").write_text("from an earlier run")
    os.environ["CLIMB_HOME"] = str(out.parent / "home")
    run_suite(load_suite(suite_file), out, resume=False, only="single__wdbc__mlp__seed0")
    assert not (cell / "stale.txt").exists() and _cell(out, "single__wdbc__mlp__seed0")["status"] == "done"
    logs = list(cell.rglob("logs/*/metrics.csv"))
    assert len(logs) == 1 and pd.read_csv(logs[0])["epoch"].min() == 0  # one fresh fit, not a resume
    assert ckpt.is_file()


def test_a_failing_cell_is_recorded_and_the_others_run(tmp_path: Path):
    suite_file = tmp_path / "fail.yaml"
    suite_file.write_text("name: fail\nbudget: {epochs: 1, limit_train_batches: 2, n_boot: 5}\n"
                          "datasets: {wdbc: package, ecg200: {package: true, encoders: [mlp]}}\n"
                          "encoders: {tabular: [mlp]}\nprotocols: {single: {}}\n")
    out = run_suite(load_suite(suite_file), tmp_path / "run")
    bad = _cell(out, "single__ecg200__mlp__seed0")
    assert bad["status"] == "failed" and "tabular" in bad["error"]
    assert (out / "cells" / "single__ecg200__mlp__seed0" / "error.log").is_file()
    assert _cell(out, "single__wdbc__mlp__seed0")["status"] == "done"
    assert set(pd.read_csv(out / "results.csv")["cell"]) == {"single__wdbc__mlp__seed0"}


def test_cli_dry_run_lists_cells_without_running(tmp_path: Path):
    from typer.testing import CliRunner

    from climb.cli import app

    suite_file = tmp_path / "s.yaml"
    suite_file.write_text("name: s\ndatasets: {wdbc: package, pneumoniamnist: download}\n"
                          "encoders: {tabular: [mlp], image: [resnet18_small]}\nprotocols: {single: {}}\n")
    result = CliRunner().invoke(app, ["benchmark", str(suite_file), "--out", str(tmp_path / "run"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "single__wdbc__mlp__seed0" in result.output and "missing-data" in result.output
    assert not (tmp_path / "run" / "cells").exists()
