"""Prepared MedMNIST datasets (real files from ../shared/data), built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prepared_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CLIMB_HOME holding prepared `pneumoniamnist` and `breastmnist`."""
    from climb.prepare import prepare

    home = tmp_path_factory.mktemp("load_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIMB_HOME", str(home))
        for name in ("pneumoniamnist", "breastmnist"):
            prepare(name, raw=shared_data / "medmnist")
    return home


@pytest.fixture
def home(prepared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CLIMB_HOME at the session's prepared datasets for this test."""
    monkeypatch.setenv("CLIMB_HOME", str(prepared_home))
    return prepared_home
