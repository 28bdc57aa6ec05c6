"""Reference numbers from a suite's `references:` and from plugins sit next to the run's own results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from climb.catalog import references as refs_module
from climb.catalog import Reference
from climb.report import build_report, format_estimate, references_for


def _reference_rows(report_md: str) -> list[str]:
    return [line for line in report_md.splitlines() if line.startswith("| bonn_eeg")]


def test_suite_and_plugin_references_reach_the_report(real_run: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["references"] = [{"datasets": ["bonn_eeg"], "metric": "auroc", "value": 0.975,
                               "source": "Lab notebook 2025, p. 12", "model": "lab CNN", "caveat": ""}]
    (run / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(refs_module, "_registered", [])
    plugin_ref = refs_module.register_reference(
        Reference(("bonn_eeg",), "accuracy", 0.9, "plugin baseline", "Plugin et al. 2024, a published table"))
    assert references_for("bonn_eeg", "accuracy") == [plugin_ref]
    assert [r.model for r in references_for("bonn_eeg", "auroc", manifest)] == ["lab CNN"]
    assert references_for("bonn_eeg", "auroc") == []  # a run's references belong to that run only

    build_report(run)
    ours = pd.read_csv(run / "results.csv").query("dataset == 'bonn_eeg' and split == 'test'")
    auroc = ours.query("metric == 'auroc'").iloc[0]
    md = (run / "report.md").read_text()
    rows = [r for r in md.splitlines() if "| lab CNN |" in r]
    assert len(rows) == 1
    assert format_estimate(auroc.value, auroc.ci_low, auroc.ci_high) in rows[0] and "| 0.975 |" in rows[0]
    assert f"| {auroc.value - 0.975:.3f} |" in rows[0] and "Lab notebook 2025" in rows[0]
    assert any("| plugin baseline |" in r and "Plugin et al. 2024" in r for r in md.splitlines())


def test_register_reference_takes_only_references() -> None:
    with pytest.raises(TypeError, match="expects a climb.catalog.Reference"):
        refs_module.register_reference({"metric": "auroc"})
