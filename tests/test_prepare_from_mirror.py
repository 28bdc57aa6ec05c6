"""End to end: `climb prepare` works for every dataset in ../shared/data from a mirror of it.

The shared folder is served over loopback HTTP; each dataset is downloaded from its
folder there (verified against the official checksums, or, for the folders that hold a
modified subset, against the mirror's own MANIFEST.sha256 in trusted-mirror mode), then
prepared from climb's raw cache. The prepared card must have read exactly the mirror's
bytes, and every split must hold samples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from climb import catalog
from climb.acquire import MARKER, download
from climb.acquire.checksums import parse_manifest
from climb.config import raw_dir
from climb.prepare import builder_names, create_builder, prepare
from loopback import LoopbackServer, start_server, stop_server

# builder name -> (catalog id, shared folder, trusted mirror?, files expected to differ from official)
CASES: dict[str, tuple[str, str, bool, list[str]]] = {
    "pneumoniamnist": ("pneumoniamnist", "medmnist", False, []),
    "breastmnist": ("breastmnist", "medmnist", False, []),
    "adrenalmnist3d": ("adrenalmnist3d", "medmnist", False, []),
    "mitdb": ("mitdb", "mitdb", False, []),
    # Subsets with modified files: PTB-XL's database CSV and SHA256SUMS.txt are trimmed to
    # 500 records; MIMIC-III demo lacks 3 tables and renames ADMISSIONS; Bonn EEG and ABIDE
    # have no publisher checksums at all (manual archives, derived .mat files).
    "ptbxl": ("ptbxl", "ptbxl", True, ["ptbxl_database.csv"]),
    "bonn_eeg": ("bonn_eeg", "bonn_eeg", True, []),
    "mimic3_demo": ("mimic3_demo", "mimic3_demo", True, []),
    "yaib_mortality24_mimic": ("yaib_mortality24", "yaib_demo", False, []),
    "moleculenet_bbbp": ("moleculenet_bbbp", "moleculenet", False, []),
    "abide": ("abide", "abide", True, []),
}


@pytest.fixture(scope="module")
def mirror_server(shared_data: Path) -> Iterator[LoopbackServer]:
    srv = start_server(shared_data)
    yield srv
    stop_server(srv)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc, no Kaggle token
    for var in ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("name", list(CASES))
def test_prepare_from_mirror(name: str, mirror_server: LoopbackServer, shared_data: Path) -> None:
    catalog_id, folder, trusted, differs = CASES[name]
    if name not in builder_names():
        pytest.skip(f"builder {name!r} is not registered yet")
    assert create_builder(name).catalog_id == catalog_id
    assert catalog.get(catalog_id).shared_folder == folder

    report = download(catalog_id, mirror=f"{mirror_server.base}{folder}/", trust_mirror=trusted, quiet=True)
    assert report.complete and report.differs_from_official == differs
    marker = json.loads((raw_dir(catalog_id) / MARKER).read_text())
    assert marker["verification"] == (f"mirror-verified (differs from official for {len(differs)} files)"
                                      if trusted else "official checksums")
    assert not any(r.authorization for r in mirror_server.records)

    card = prepare(name).card
    mirror_sums = parse_manifest((shared_data / folder / "MANIFEST.sha256").read_text(), "sha256", folder)
    read = card["source_checksums"]
    assert read and {p: mirror_sums.get(p) for p in read} == read
    assert {"train", "test"} <= set(card["splits"])
    assert all(split["num_samples"] > 0 for split in card["splits"].values()), card["splits"]
