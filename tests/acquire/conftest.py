"""Fixtures for offline acquisition tests: a loopback HTTP server with injectable faults.

The server itself lives in `tests/loopback.py` (shared with the end-to-end prepare test);
see its docstring for the faults it can inject and what it records.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from climb.acquire import RetryPolicy
from loopback import Fault, LoopbackServer, Record, start_server, stop_server

__all__ = ["Fault", "LoopbackServer", "Record"]


@pytest.fixture
def make_server():
    """Factory: `make_server(root)` starts a LoopbackServer on 127.0.0.1; stopped after the test."""
    servers: list[LoopbackServer] = []

    def start(root: Path) -> LoopbackServer:
        srv = start_server(root)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        stop_server(srv)


@pytest.fixture
def shared_server(make_server, shared_data) -> LoopbackServer:
    """The shared real-data folder (root conftest's `shared_data`; skips when absent) served
    as a mirror of PhysioNet and Zenodo."""
    return make_server(shared_data)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Tests never see the user's cache, ~/.netrc, Kaggle token or credentials."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD", "KAGGLE_USERNAME", "KAGGLE_KEY",
                "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME", "NETRC"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=4, base_delay=0.01, factor=2.0, max_delay=0.05, read_timeout=10)
