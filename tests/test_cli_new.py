"""`climb new dataset NAME`: the scaffolded plugin's own test passes as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import climb
from climb.cli import app

runner = CliRunner()


def test_scaffold_passes_its_own_test(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "dataset", "lab_cohort", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = tmp_path / "climb-lab_cohort"
    written = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert written == {"pyproject.toml", "README.md", "lab_cohort/__init__.py", "lab_cohort/lab_cohort.yaml",
                       "lab_cohort/builder.py", "tests/test_lab_cohort.py", "tests/raw/lab_cohort.csv"}
    env = {**os.environ, "PYTHONPATH": str(Path(climb.__file__).parents[1])}
    env.pop("CLIMB_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                           str(tmp_path / "pytest")], cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_bad_or_taken_names_write_nothing(tmp_path: Path) -> None:
    for name, message in [("My-Data", "use lower-case letters"), ("class", "use lower-case letters"),
                          ("busi", "already a catalog id and a builder"), ("wdbc", "already a catalog id")]:
        result = runner.invoke(app, ["new", "dataset", name, "--out", str(tmp_path)])
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    assert runner.invoke(app, ["new", "dataset", "lab_x", "--out", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["new", "dataset", "lab_x", "--out", str(tmp_path)])
    assert again.exit_code == 2 and "already exists; nothing written" in again.stderr
