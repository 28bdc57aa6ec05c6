"""`climb prepare` through typer's CliRunner, on the real Bonn EEG segments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from climb.cli import app
from climb.cli.cmd_prepare import parse_params

runner = CliRunner()


def test_list_names_the_builders():
    result = runner.invoke(app, ["prepare", "--list"])
    assert result.exit_code == 0, result.output
    names = result.stdout.split()
    assert {"ptbxl", "ptbxl_500hz", "ptbxl_climb7", "mitdb", "bonn_eeg", "bonn_eeg_seizure"} <= set(names)
    assert names == sorted(names)


def test_prepare_prints_the_card_summary(shared_data, climb_home):
    result = runner.invoke(app, ["prepare", "bonn_eeg", "--raw", str(shared_data / "bonn_eeg"), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│")}
    assert rows["train"] == ["350", "350", "70", "70", "70", "70", "70"]
    assert rows["test"] == ["100", "100", "20", "20", "20", "20", "20"]
    assert "eeg: eeg (1, 4097)" in result.stdout and "173.61 Hz" in result.stdout
    assert (climb_home / "prepared" / "bonn_eeg" / "card.json").is_file()


def test_params_are_passed_to_the_builder(shared_data):
    result = runner.invoke(app, ["prepare", "bonn_eeg", "--raw", str(shared_data / "bonn_eeg"), "-q",
                                 "--param", "labels=seizure", "--force"])
    assert result.exit_code == 0, result.output
    assert "binary" in result.stdout and "non-seizure" in result.stdout


def test_parse_params_reads_yaml_scalars():
    assert parse_params(["sampling_rate=500", "leads=both", "x=true", "y=0.5", "z="]) == {
        "sampling_rate": 500, "leads": "both", "x": True, "y": 0.5, "z": ""}
    with pytest.raises(ValueError, match="key=value"):
        parse_params(["no-equals"])


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["prepare", "no_such_dataset"], 2, "No builder named 'no_such_dataset'"),
        (["prepare", "mitdb", "--param", "colour=red"], 2, "unknown parameter(s) ['colour']"),
        (["prepare", "mitdb", "--param", "leads=V9"], 2, "leads must be 'MLII' or 'both'"),
        (["prepare"], 2, "give a builder NAME"),
    ],
)
def test_usage_errors_are_one_line(args, code, message):
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_bad_data_is_one_line_exit_1(shared_data, tmp_path, climb_home):
    raw = tmp_path / "raw"
    for s in "ZONFS":
        (raw / s).mkdir(parents=True)
        shutil.copy(next(iter(sorted((shared_data / "bonn_eeg" / s).iterdir()))), raw / s)
    bad = next((raw / "O").iterdir())
    bad.write_text("12\n")
    result = runner.invoke(app, ["prepare", "bonn_eeg", "--raw", str(raw), "-q"])
    assert result.exit_code == 1
    assert f"error: {bad}: 1 samples, expected 4097" in result.output
    assert "Traceback" not in result.output
    assert not (climb_home / "prepared" / "bonn_eeg").exists()


def test_missing_raw_dir_is_one_line_exit_1(tmp_path: Path):
    result = runner.invoke(app, ["prepare", "ptbxl", "--raw", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no raw data for 'ptbxl'" in result.output and "Traceback" not in result.output


def test_failed_mirror_download_is_one_line_exit_1(tmp_path):
    pytest.importorskip("climb.acquire")
    result = runner.invoke(app, ["prepare", "bonn_eeg", "--mirror", str(tmp_path), "-q"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output
