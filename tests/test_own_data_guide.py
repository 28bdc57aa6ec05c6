"""docs/own-data.md, run verbatim: its files written, its shell blocks run in order, outcomes checked.

A block with a `title="PATH"` is a file the user writes (written to PATH); every other
`bash` block is run, in order, in the same folder. The walk-through is real: scikit-learn's
copy of the WDBC table goes from raw files to a report.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import climb

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "own-data.md"
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.S | re.M)


def guide_blocks() -> list[tuple[str, str | None, str]]:
    """(language, file title or None, text) of every fenced block, in order."""
    return BLOCK.findall(GUIDE.read_text())


def user_lines(blocks: list[tuple[str, str | None, str]]) -> dict[str, int]:
    """Non-blank lines of each file the user writes."""
    return {title: sum(1 for line in text.splitlines() if line.strip()) for _, title, text in blocks if title}


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("own_data")
    env = {k: v for k, v in os.environ.items() if k not in ("CLIMB_PLUGINS", "CLIMB_CATALOG_PATH")}
    env.update(CLIMB_HOME=str(work / "climb_home"), PYTHONPATH=str(Path(climb.__file__).parents[1]), COLUMNS="200")
    outputs = []
    for language, title, text in guide_blocks():
        if title:
            (work / title).parent.mkdir(parents=True, exist_ok=True)
            (work / title).write_text(text)
            continue
        assert language == "bash", f"an untitled {language} block in {GUIDE.name} is neither a file nor run"
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, f"{text}\n-> {done.returncode}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    return work, outputs


def test_every_block_is_a_file_or_a_shell_step() -> None:
    blocks = guide_blocks()
    assert {lang for lang, title, _ in blocks if not title} == {"bash"}
    assert set(user_lines(blocks)) == {"lab/lab_wdbc.yaml", "lab/lab_plugin.py", "lab/lab.yaml",
                                       "lab/catalog/lab_wdbc.yaml"}


def test_raw_table_to_report(walked: tuple[Path, list[str]]) -> None:
    work, outputs = walked
    assert "lab_wdbc (binary, 2 labels)" in outputs[1]  # climb prepare lab/lab_wdbc.yaml
    results = pd.read_csv(work / "runs" / "lab" / "results.csv").query("split == 'test'")
    assert set(results["encoder"]) == {"mlp", "lab_mlp"} and set(results["dataset"]) == {"lab_wdbc"}
    report = (work / "runs" / "lab" / "report.md").read_text()
    from climb.report import format_estimate

    for row in results.query("metric == 'auroc'").itertuples():
        estimate = format_estimate(row.value, row.ci_low, row.ci_high)
        assert "[" in estimate and estimate in report
        suite_ref = [line for line in report.splitlines() if "| gradient boosting |" in line and f"| {row.encoder} |" in line]
        assert len(suite_ref) == 1 and estimate in suite_ref[0] and "| 0.970 |" in suite_ref[0]
    assert any("| logistic regression |" in line for line in report.splitlines())  # the plugin's reference
    info = outputs[3]
    assert "Wisconsin diagnostic breast cancer (our copy)" in info and "lab/catalog/lab_wdbc.yaml" in info
    assert "2 passed" in outputs[4]  # the scaffold's own test
