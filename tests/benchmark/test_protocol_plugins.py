"""Protocols are registered plugins: a suite names one by key, and the built-ins' summary rows use the
task's headline metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict

from climb.benchmark import SuiteError, load_suite, run_suite
from climb.benchmark.execute import CellContext
from climb.benchmark.protocols import PROTOCOLS, Protocol, get_protocol, register_protocol
from climb.benchmark.protocols.multitask import Multitask
from climb.benchmark.suite import Cell


class CountSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str]


class CountRows(Protocol):
    """A protocol that trains nothing: one row per dataset, its number of test samples."""

    name, spec, order = "count_rows_test", CountSpec, 90

    def check(self, spec, suite):
        suite.check_listed("protocols.count_rows_test.datasets", spec.datasets)

    def cells(self, spec, suite, kinds):
        return [Cell(self.name, (d,), "mlp", seed, {}) for d in spec.datasets for seed in suite.seeds]

    def run(self, cell, ctx):
        from climb.prepare import open_prepared

        n = open_prepared(cell.datasets[0]).card["splits"]["test"]["num_samples"]
        return pd.DataFrame([{"dataset": cell.datasets[0], "split": "test", "protocol": self.name,
                              "encoder": cell.encoder, "seed": cell.seed, "metric": "n_test", "value": n}])


@pytest.fixture
def count_protocol():
    register_protocol(CountRows)
    yield
    PROTOCOLS.pop(CountRows.name)


def _suite(tmp_path: Path, protocols: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\ndatasets: {{wdbc: package}}\nencoders: {{tabular: [mlp]}}\nprotocols: {protocols}\n")
    return path


def test_a_registered_protocol_runs_from_a_suite(count_protocol, tmp_path: Path):
    suite = load_suite(_suite(tmp_path, "{count_rows_test: {datasets: [wdbc]}}"))
    out = run_suite(suite, tmp_path / "run")
    table = pd.read_csv(out / "results.csv")
    from climb.prepare import open_prepared

    assert table[["dataset", "protocol", "metric", "cell"]].values.tolist() == [
        ["wdbc", "count_rows_test", "n_test", "count_rows_test__wdbc__mlp__seed0"]]
    assert table["value"].iloc[0] == open_prepared("wdbc").card["splits"]["test"]["num_samples"] > 0


def test_a_protocol_section_is_validated_by_its_spec(count_protocol, tmp_path: Path):
    with pytest.raises(SuiteError, match=r"count_rows_test\.datasets.*not listed"):
        load_suite(_suite(tmp_path, "{count_rows_test: {datasets: [ecg200]}}"))
    with pytest.raises(SuiteError, match=r"count_rows_test\.shots.*[Ee]xtra"):
        load_suite(_suite(tmp_path, "{count_rows_test: {datasets: [wdbc], shots: [1]}}"))


def test_an_unknown_protocol_lists_the_registered_ones(tmp_path: Path):
    with pytest.raises(SuiteError, match=r"unknown protocol 'nosuch'.*fewshot.*single"):
        load_suite(_suite(tmp_path, "{nosuch: {}}"))
    assert get_protocol("single").name == "single"


def test_paired_rows_use_the_headline_metric_of_the_task(tmp_path: Path):
    """A regression task is paired on MAE (its headline), not AUROC: multitask minus single."""
    from climb.benchmark.suite import Suite

    suite = Suite.model_validate({"name": "p", "datasets": {"wdbc": "package"},
                                  "protocols": {"single": {}, "multitask": {"groups": {"g": {"datasets": ["wdbc", "wdbc"]}}}}})
    single = Cell("single", ("reg",), "mlp", 0, {"n_boot": 20})
    multi = Cell("multitask", ("reg", "other"), "mlp", 0, {"n_boot": 20}, group="g")
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    scores = {single.id: y + rng.normal(scale=1.0, size=40), multi.id: y + rng.normal(scale=0.5, size=40)}
    for cell in (single, multi):
        cell_dir = tmp_path / "cells" / cell.id
        cell_dir.mkdir(parents=True)
        np.savez(cell_dir / "predictions.npz", **{"reg/y": y, "reg/score": scores[cell.id],
                                                  "reg/patient_id": np.arange(40).astype(str)})
        pd.DataFrame([{"dataset": "reg", "task": "regression", "metric": "mae", "value": 0.0}]).to_csv(
            cell_dir / "results.csv", index=False)
    ctx = CellContext(suite, tmp_path, {}, {})
    rows = Multitask().summary_rows(ctx, [single, multi], {single.id, multi.id})
    assert rows["metric"].tolist() == ["mae"] and rows["protocol"].tolist() == ["multitask-vs-single"]
    expected = np.abs(scores[multi.id] - y).mean() - np.abs(scores[single.id] - y).mean()
    assert rows["value"].iloc[0] == pytest.approx(expected) and expected < 0
    assert rows["notes"].iloc[0].startswith("MAE of multitask__g__mlp__seed0 minus single__reg__mlp__seed0")
