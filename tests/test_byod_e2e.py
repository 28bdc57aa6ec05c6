"""Done means (issue 13): a user's plugin package, installed by pip, reaches every command.

The test writes a tiny distribution with a `climb.plugins` entry point: a builder of the
Wisconsin breast-cancer table (real data: scikit-learn's `breast_cancer.csv`, UCI WDBC), its
catalog entry and a reference number. It installs it with pip and then runs, through the CLI
alone (subprocesses, nothing imported by hand): `climb datasets` / `climb info`, `climb prepare`
from the user's raw folder, `climb train`, `climb benchmark` of a suite whose dataset comes
from `raw:` and which lists `references:`, and `climb report`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import climb
from helpers import pip_install_plugin

PLUGIN = '''\
"""My lab's climb plugin: the WDBC table as we keep it, its catalog entry and our reference."""
import csv
from pathlib import Path

import numpy as np

from climb.catalog import Reference, register_entry, register_reference
from climb.prepare import Builder, register_builder

register_entry(Path(__file__).with_name("lab_wdbc.yaml"))
register_reference(Reference(("lab_wdbc",), "accuracy", 0.9, "lab logistic regression",
                             "Lab notebook 2025 (an illustrative number written by the test)"))


@register_builder("lab_wdbc")
class LabWDBC(Builder):
    """breast_cancer.csv (header `569,30,malignant,benign`; target 0 = malignant) -> 30 features."""

    catalog_id = "lab_wdbc"
    fields = {"tabular": "tabular"}
    split_policy = "seeded split stratified by diagnosis, 70/10/20 %; one row = one patient"
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}

    def source_files(self, raw):
        return [Path(raw) / "breast_cancer.csv"]

    def generate(self, raw):
        with open(Path(raw) / "breast_cancer.csv", newline="") as f:
            rows = list(csv.reader(f))[1:]
        for i, (*features, target) in enumerate(rows):
            yield {"sample_id": f"lab-{i:03d}", "patient_id": f"lab-{i:03d}", "split": None,
                   "label": 1 - int(float(target)), "tabular": np.asarray(features, dtype=np.float32)}
'''

ENTRY = {
    "id": "lab_wdbc", "name": "Lab WDBC (Wisconsin diagnostic breast cancer)", "modality": "cytology features",
    "family": "1d", "domain": "oncology", "task": "binary", "labels": ["benign", "malignant"],
    "splits": {"total": 569, "unit": "patients"}, "access": "open", "license": "CC BY 4.0",
    "citation": "Street WN, Wolberg WH, Mangasarian OL. Nuclear feature extraction for breast tumor diagnosis. "
                "IS&T/SPIE 1993.",
    "homepage": "https://archive.ics.uci.edu/dataset/17", "in_climb": False,
}

@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The plugin built and installed by pip into a target directory; the environment that sees it."""
    import yaml

    root = tmp_path_factory.mktemp("plugin")
    package = root / "src" / "lab_wdbc_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN)
    (package / "lab_wdbc.yaml").write_text(yaml.safe_dump(ENTRY, sort_keys=False))
    site = root / "site"
    pip_install_plugin(root / "src", site, dist="climb-lab-wdbc", package="lab_wdbc_plugin",
                       entry_point='lab_wdbc = "lab_wdbc_plugin"', package_data=("*.yaml",))
    assert (site / "lab_wdbc_plugin" / "lab_wdbc.yaml").is_file()
    env = {k: v for k, v in os.environ.items() if k not in ("CLIMB_PLUGINS", "CLIMB_CATALOG_PATH")}
    env.update(PYTHONPATH=f"{site}{os.pathsep}{Path(climb.__file__).parents[1]}",
               CLIMB_HOME=str(root / "home"), COLUMNS="200")
    return env


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's raw folder: their copy of the real WDBC table."""
    import sklearn

    raw = tmp_path_factory.mktemp("lab_raw")
    shutil.copy(Path(sklearn.__file__).parent / "datasets" / "data" / "breast_cancer.csv", raw)
    return raw


def climb_cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "climb.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"climb {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_catalog_commands_see_the_installed_plugin(installed: dict[str, str]) -> None:
    listed = json.loads(climb_cli(installed, "datasets", "--json", "--domain", "oncology"))["datasets"]
    mine = next(d for d in listed if d["id"] == "lab_wdbc")
    assert mine["builders"] == ["lab_wdbc"] and mine["task"] == "binary"
    info = climb_cli(installed, "info", "lab_wdbc")
    assert "Lab WDBC" in info and "registered" not in info and "lab_wdbc_plugin" in info  # defined in its file


def test_prepare_train_benchmark_report_through_the_cli(installed: dict[str, str], raw_dir: Path,
                                                        tmp_path: Path) -> None:
    out = climb_cli(installed, "prepare", "lab_wdbc", "--raw", str(raw_dir), "-q")
    assert "lab_wdbc (binary, 2 labels)" in out and "tabular: tabular (30,)" in out

    climb_cli(installed, "train", "-d", "lab_wdbc", "-e", "mlp", "--epochs", "1", "--limit-train-batches", "2",
              "--n-boot", "20", "--out", str(tmp_path / "train"), "-q")
    trained = pd.concat(pd.read_csv(p) for p in (tmp_path / "train").glob("*/results.csv"))
    auroc = trained.query("dataset == 'lab_wdbc' and split == 'test' and metric == 'auroc'").iloc[0]
    assert 0 <= auroc.ci_low <= auroc.value <= auroc.ci_high <= 1

    suite = tmp_path / "suite" / "lab.yaml"
    suite.parent.mkdir()
    (suite.parent / "raw").symlink_to(raw_dir, target_is_directory=True)
    suite.write_text(textwrap.dedent("""\
        name: lab
        seeds: [0]
        budget: {epochs: 1, batch_size: 64, limit_train_batches: 2, n_boot: 20}
        datasets:
          lab_wdbc: {raw: raw}
        encoders: {tabular: [mlp]}
        protocols: {single: {}}
        references:
          lab_wdbc:
            - {metric: auroc, value: 0.95, model: lab gradient boosting,
               source: "Lab report 2024 (an illustrative number written by the test)"}
    """))
    run = tmp_path / "run"
    climb_cli(installed, "benchmark", str(suite), "--out", str(run))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["suite_yaml"]["datasets"]["lab_wdbc"]["raw"] == str(raw_dir.resolve())
    climb_cli(installed, "report", str(run))

    results = pd.read_csv(run / "results.csv").query("dataset == 'lab_wdbc' and split == 'test'")
    ours = results.query("metric == 'auroc'").iloc[0]
    acc = results.query("metric == 'accuracy'").iloc[0]
    report = (run / "report.md").read_text()
    from climb.report import format_estimate

    estimate = format_estimate(ours.value, ours.ci_low, ours.ci_high)
    assert "[" in estimate and estimate in report  # our AUROC with its 95% CI
    suite_row = next(line for line in report.splitlines() if "| lab gradient boosting |" in line)
    assert estimate in suite_row and "| 0.950 |" in suite_row and "Lab report 2024" in suite_row
    plugin_row = next(line for line in report.splitlines() if "| lab logistic regression |" in line)
    assert format_estimate(acc.value, acc.ci_low, acc.ci_high) in plugin_row and "Lab notebook 2025" in plugin_row
    assert "| lab_wdbc | lab_wdbc | cytology features | 1d | oncology | binary | open |" in report  # its entry
