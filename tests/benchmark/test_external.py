"""The `external` protocol on real data: train on the MIMIC-IV demo cohort (YAIB mortality24), test on the
whole eICU demo cohort; the report shows it as a transfer table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from climb.benchmark import load_suite, run_suite

SUITE = """
name: transfer
seeds: [0]
budget: {epochs: 1, batch_size: 32, limit_train_batches: 2, n_boot: 10}
datasets:
  yaib_mortality24_mimic: {shared: yaib_demo, kind: timeseries, input_field: timeseries}
  yaib_mortality24_eicu: {shared: yaib_demo}
encoders: {timeseries: [ehr_gru]}
protocols:
  external: {train_on: yaib_mortality24_mimic, test_on: [yaib_mortality24_eicu]}
"""
CELL = "external__yaib_mortality24_mimic__ehr_gru__seed0"


@pytest.fixture(scope="module")
def transfer_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The suite, run once for the module in its own CLIMB_HOME: (run directory, CLIMB_HOME)."""
    root = tmp_path_factory.mktemp("transfer")
    (root / "transfer.yaml").write_text(SUITE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIMB_HOME", str(root / "home"))
        return run_suite(load_suite(root / "transfer.yaml"), root / "run"), root / "home"


@pytest.fixture
def transfer_run(transfer_home: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_HOME", str(transfer_home[1]))
    return transfer_home[0]


def test_external_rows_cover_the_whole_other_cohort(transfer_run: Path):
    from climb.prepare import open_prepared

    table = pd.read_csv(transfer_run / "results.csv")
    auroc = table[table["metric"] == "auroc"].set_index("dataset")
    assert set(auroc.index) == {"yaib_mortality24_mimic", "yaib_mortality24_eicu"}
    assert (auroc["trained_on"] == "yaib_mortality24_mimic").all() and (auroc["cell"] == CELL).all()
    eicu = open_prepared("yaib_mortality24_eicu").card["splits"]
    mimic = open_prepared("yaib_mortality24_mimic").card["splits"]
    assert auroc.loc["yaib_mortality24_eicu", "split"] == "all"
    assert auroc.loc["yaib_mortality24_eicu", "n"] == sum(s["num_samples"] for s in eicu.values())
    assert auroc.loc["yaib_mortality24_mimic", ["split", "n"]].tolist() == ["test", mimic["test"]["num_samples"]]
    with np.load(transfer_run / "cells" / CELL / "predictions.npz") as preds:
        y = preds["yaib_mortality24_eicu/y"]
        assert len(y) == auroc.loc["yaib_mortality24_eicu", "n"]
        assert int(y.sum()) == sum(s["class_counts"]["died"] for s in eicu.values())


def test_report_shows_a_transfer_table(transfer_run: Path, tmp_path: Path):
    from climb.report import build_document, load_run

    doc = build_document(load_run(transfer_run), tmp_path)
    section = next(s for s in doc.sections if s.anchor == "transfer")
    table = section.blocks[1]
    table_csv = pd.read_csv(transfer_run / "results.csv")
    ext = table_csv[(table_csv["dataset"] == "yaib_mortality24_eicu") & (table_csv["metric"] == "auroc")].iloc[0]
    assert table.columns[3:] == ["internal (yaib_mortality24_mimic test)", "yaib_mortality24_eicu (external)",
                                 "yaib_mortality24_eicu - internal"]
    assert table.rows[0][:3] == ["external", "ehr_gru", "0"]
    assert table.rows[0][4] == f"{ext.value:.3f} [{ext.ci_low:.3f}, {ext.ci_high:.3f}]"
