"""`climb.load(name, split, download=True)` and `climb prepare NAME --download`, with no network.

The real BreastMNIST file of ../shared/data/medmnist is served by the loopback server standing in
for the official host (`mirror=`): it is downloaded, verified against the catalog's pinned checksum,
prepared and loaded; a flipped byte on the wire is refused before anything is prepared; a
credentialed dataset says which credentials to provide, before any request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from climb.acquire import MARKER, AccessDeniedError, ChecksumError
from climb.cli import app
from climb.config import prepared_root, raw_dir
from climb.loading import load
from loopback import Fault, LoopbackServer, start_server, stop_server


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    srv = start_server(shared_data)
    yield srv
    stop_server(srv)


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer) -> Path:
    """An empty CLIMB_HOME, no credentials anywhere, a clean request log and no faults."""
    monkeypatch.setenv("CLIMB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    for var in ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    server.records.clear()
    server.faults.clear()
    return tmp_path / "home"


def test_load_with_download_fetches_verifies_prepares_and_loads(fresh_home: Path, server: LoopbackServer,
                                                                 shared_data: Path):
    mirror = f"{server.base}medmnist/"
    with pytest.raises(FileNotFoundError, match="not prepared"):
        load("breastmnist", "test")  # without download=True nothing is fetched
    assert server.records == []
    test = load("breastmnist", "test", download=True, mirror=mirror)
    assert [r.path for r in server.records if r.status in (200, 206)] == ["/medmnist/breastmnist.npz"]
    marker = json.loads((raw_dir("breastmnist") / MARKER).read_text())
    assert marker["verification"] == "official checksums"
    with np.load(shared_data / "medmnist" / "breastmnist.npz") as npz:  # the publisher's own arrays
        np.testing.assert_array_equal(test.labels, npz["test_labels"].reshape(-1))
        np.testing.assert_array_equal(np.stack([test.raw_sample(i)["image"][0] for i in (0, 155)]),
                                      npz["test_images"][[0, 155]])
    requests = len(server.records)
    assert len(load("breastmnist", "train", download=True, mirror=mirror)) == 546
    assert len(server.records) == requests  # prepared already: opened, not fetched again


def test_a_corrupted_download_is_refused_before_anything_is_prepared(fresh_home: Path, server: LoopbackServer):
    server.faults["/medmnist/breastmnist.npz"] = Fault(flip_byte=1000)
    with pytest.raises(ChecksumError, match="breastmnist.npz"):
        load("breastmnist", "test", download=True, mirror=f"{server.base}medmnist/")
    assert not (prepared_root() / "breastmnist").exists()


def test_a_credentialed_dataset_says_how_to_provide_credentials(fresh_home: Path, server: LoopbackServer):
    with pytest.raises(AccessDeniedError, match="PHYSIONET_USERNAME and PHYSIONET_PASSWORD"):
        load("mimic_iv_mortality48", "test", download=True)
    assert server.records == []


def test_cli_prepare_download(fresh_home: Path, server: LoopbackServer, tmp_path: Path):
    runner = CliRunner()
    done = runner.invoke(app, ["prepare", "breastmnist", "--download", "--mirror", f"{server.base}medmnist/", "-q"])
    assert done.exit_code == 0, done.output
    assert (prepared_root() / "breastmnist" / "card.json").is_file()
    both = runner.invoke(app, ["prepare", "breastmnist", "--download", "--raw", str(tmp_path)])
    assert both.exit_code == 2 and "exclude each other" in both.output
    credentialed = runner.invoke(app, ["prepare", "mimic_iv_mortality48", "--download", "-q"])
    assert credentialed.exit_code == 1 and "PHYSIONET_USERNAME" in credentialed.output
