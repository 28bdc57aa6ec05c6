"""Prepared real datasets shared by the training tests (prepared once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prepared_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    home = tmp_path_factory.mktemp("prepared_home")
    old = os.environ.get("CLIMB_HOME")
    os.environ["CLIMB_HOME"] = str(home)
    try:
        from climb.prepare import prepare

        prepare("ptbxl", raw=shared_data / "ptbxl")
        prepare("bonn_eeg", raw=shared_data / "bonn_eeg")
        prepare("bonn_eeg_seizure", raw=shared_data / "bonn_eeg")
    finally:
        if old is None:
            os.environ.pop("CLIMB_HOME")
        else:
            os.environ["CLIMB_HOME"] = old
    return home


@pytest.fixture
def climb_prepared(prepared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_HOME", str(prepared_home))
    return prepared_home
