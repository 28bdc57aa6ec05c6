"""Integrity of benchmark cells: a cell is done only when its files match their hashes and its spec is unchanged.

Fault injection on a one-cell suite over real package-shipped data (WDBC cytology, MLP):
deleted / emptied / edited outputs, a changed budget, a second writer on the same run
directory, and `verify_run` re-hashing what is on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from climb.benchmark import RunLock, RunLockedError, load_suite, run_suite, verify_run

CELL = "single__wdbc__mlp__seed0"
SUITE = "name: one\nbudget: {{epochs: {epochs}, batch_size: 32, limit_train_batches: 2, n_boot: {n_boot}}}\n" \
        "datasets: {{wdbc: package}}\nencoders: {{tabular: [mlp]}}\nprotocols: {{single: {{}}}}\n"


def _suite(tmp_path: Path, epochs: int = 1, n_boot: int = 5):
    path = tmp_path / "one.yaml"
    path.write_text(SUITE.format(epochs=epochs, n_boot=n_boot))
    return load_suite(path)


def _record(out: Path) -> dict:
    return json.loads((out / "cells" / CELL / "cell.json").read_text())


@pytest.fixture
def done_run(tmp_path: Path) -> Path:
    out = run_suite(_suite(tmp_path), tmp_path / "run")
    record = _record(out)
    assert record["status"] == "done" and record["fingerprint"]
    assert {"results.csv", "predictions.npz", "encoder.safetensors", "config.yaml"} <= set(record["files"])
    assert verify_run(out) == []
    return out


@pytest.mark.parametrize("damage", ["delete", "empty"])
def test_a_cell_with_a_deleted_or_empty_results_csv_is_redone_not_dropped(done_run: Path, tmp_path: Path,
                                                                          damage: str):
    results = done_run / "cells" / CELL / "results.csv"
    if damage == "delete":
        results.unlink()
    else:
        results.write_text("")
    problems = verify_run(done_run)
    assert [p.path for p in problems] == [str(results)]
    run_suite(_suite(tmp_path), done_run)  # no error: the cell is redone
    assert _record(done_run)["status"] == "done" and verify_run(done_run) == []
    table = pd.read_csv(done_run / "results.csv")
    assert (table["cell"] == CELL).any() and len(pd.read_csv(results)) > 0


def test_edited_predictions_are_named_by_verify_run_and_the_cell_is_redone(done_run: Path, tmp_path: Path):
    preds = done_run / "cells" / CELL / "predictions.npz"
    data = bytearray(preds.read_bytes())
    data[len(data) // 2] ^= 0xFF
    preds.write_bytes(bytes(data))
    assert [str(p) for p in verify_run(done_run)] == [f"{preds}: content changed since it was recorded "
                                                      "(sha256 differs)"]
    run_suite(_suite(tmp_path), done_run)
    assert verify_run(done_run) == []


def test_a_changed_budget_redoes_the_cell_from_scratch(done_run: Path, tmp_path: Path):
    before = _record(done_run)["fingerprint"]
    run_suite(_suite(tmp_path, epochs=2, n_boot=7), done_run)
    record = _record(done_run)
    assert record["status"] == "done" and record["fingerprint"] != before and record["cell"]["budget"]["epochs"] == 2
    logs = sorted((done_run / "cells" / CELL).glob("logs/*/metrics.csv"))
    assert len(logs) == 1 and sorted(pd.read_csv(logs[0])["epoch"].dropna().unique()) == [0, 1]  # one fresh fit
    rows = pd.read_csv(done_run / "results.csv")
    assert rows.loc[rows["cell"] == CELL, "n"].notna().all()
    unchanged = _record(done_run)["finished"]
    run_suite(_suite(tmp_path, epochs=2, n_boot=7), done_run)  # same spec again: kept
    assert _record(done_run)["finished"] == unchanged


def test_one_writer_per_run_directory(tmp_path: Path):
    out = tmp_path / "run"
    with RunLock(out):
        with pytest.raises(RunLockedError, match=r"is being written by pid \d+ on .* since .*use another --out"):
            run_suite(_suite(tmp_path), out)
    assert not (out / "cells").exists()  # the refused run wrote nothing


def test_verify_run_checks_a_plain_training_run(done_run: Path):
    run_dir = done_run / "cells" / CELL
    assert (run_dir / "run.json").is_file() and verify_run(run_dir) == []  # a cell of one run is a run dir too
    (run_dir / "encoder.safetensors").unlink()
    assert [p.problem for p in verify_run(run_dir)] == ["missing"]
    assert verify_run(done_run / "nope")[0].problem == "not a directory"
