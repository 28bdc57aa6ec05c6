"""`climb datasets` and `climb info` through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from climb.catalog import entries
from climb.cli import app

runner = CliRunner()


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["datasets", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_datasets_lists_every_entry():
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0, result.output
    ids = [e.id for e in entries()]
    assert len(ids) >= 47
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("│ ") and line.split("│")[1].strip()]
    listed = [row.split("│")[1].strip() for row in table_rows]
    assert listed == ids
    payload = _json()
    assert payload["count"] == len(payload["datasets"]) == len(ids) >= 47
    assert {"id", "family", "task", "n_labels", "access", "local_status"} <= set(payload["datasets"][0])


def test_filters_are_case_insensitive_substrings():
    ecg = _json("--modality", "ECG")["datasets"]
    assert {"ptbxl", "mitdb", "georgia", "cpsc", "chapman"} <= {d["id"] for d in ecg}
    assert all("ecg" in d["modality"].lower() for d in ecg)
    cred = _json("--access", "CRED")["datasets"]
    assert {d["id"] for d in cred} == {"mimic_cxr", "vindr_cxr", "mimic_iv"}
    combo = _json("--family", "graph", "--task", "binary", "--domain", "psych")["datasets"]
    assert {d["id"] for d in combo} == {"abcd", "abide"}
    assert _json("--modality", "no-such-modality")["count"] == 0


def test_local_status_column(climb_home):
    from climb import config

    (config.raw_dir("mitdb")).mkdir(parents=True)
    (config.raw_dir("mitdb") / ".climb_complete").touch()
    rows = {d["id"]: d["local_status"] for d in _json()["datasets"]}
    assert rows["mitdb"] == "downloaded" and rows["ptbxl"] == "-"
    table = runner.invoke(app, ["datasets", "--modality", "ecg"]).stdout
    assert any("mitdb" in line and "downloaded" in line for line in table.splitlines())


def test_summary_and_plot(tmp_path):
    result = runner.invoke(app, ["datasets", "--summary"])
    assert result.exit_code == 0, result.output
    for title in ("Modality family", "Clinical domain", "Access", "Task"):
        assert title in result.stdout
    payload = _json("--summary")
    for dimension, table in payload["summary"].items():
        assert sum(table.values()) == payload["count"], dimension
    png = tmp_path / "dist.png"
    result = runner.invoke(app, ["datasets", "--plot", str(png), "--family", "2d"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_info_shows_sources_and_checksum_status():
    result = runner.invoke(app, ["info", "mitdb"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "https://physionet.org/files/mitdb/1.0.0/" in out
    assert "SHA256SUMS.txt" in out and "pinned" in out
    med = runner.invoke(app, ["info", "pneumoniamnist"]).stdout
    assert "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1" in med
    assert "checksum pinned (sha256+md5" in med
    manual = runner.invoke(app, ["info", "chexpert"]).stdout
    assert "manual" in manual and "Research Use Agreement" in manual


def test_info_shows_the_download_parts_of_a_multi_part_entry():
    out = runner.invoke(app, ["info", "mimic_iv"]).stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert [line for line in lines if line.startswith("download parts")] == [
        "download parts 3, each downloaded and verified into <raw>/<subdir>/: mimiciv (hosp/*, icu/*), "
        "mimic-cxr-jpg (*.csv.gz, files/**), mimic-iv-ecg (*.csv, files/**)"]
    assert [line.split()[3] for line in lines if line.startswith("source") and line.split()[2] == "part"] == [
        "mimiciv/", "mimic-cxr-jpg/", "mimic-iv-ecg/"]
    single = runner.invoke(app, ["info", "mitdb"]).stdout  # alternatives, not parts: no such lines
    assert "download parts" not in single and "source 1 part" not in single


def test_builders_and_label_views_are_listed():
    rows = {d["id"]: d for d in _json()["datasets"]}
    assert rows["ptbxl"]["builders"] == ["ptbxl", "ptbxl_500hz", "ptbxl_climb7", "ptbxl_with_report"]
    assert rows["ptbxl"]["views"] == {"superdiagnostic": {"task": "multilabel",
                                                          "labels": ["NORM", "MI", "STTC", "CD", "HYP"]}}
    assert rows["georgia"]["task"] == "multilabel" and rows["georgia"]["views"] == {}
    info = runner.invoke(app, ["info", "bonn_eeg"]).stdout
    assert "view seizure" in info and "binary, 2: non-seizure, seizure" in info


def test_info_unknown_id_exits_2_with_suggestion():
    result = runner.invoke(app, ["info", "mitbd"])
    assert result.exit_code == 2
    assert "Unknown dataset 'mitbd'" in result.output and "mitdb" in result.output
