"""Shared fixtures: an isolated CLIMB_HOME per test and the real-data mirror in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def climb_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("climb_home")
    monkeypatch.setenv("CLIMB_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from climb.config import shared_data_dir

    root = shared_data_dir()
    if root is None:
        pytest.skip("real data not present: ../shared/data (or $CLIMB_SHARED_DATA) is missing")
    return root


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache of the test's own (HF_HOME), offline: it holds only what the test puts there."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf" / "hub"
