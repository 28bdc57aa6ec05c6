"""Real data through the real code paths: MIT-BIH (PhysioNet layout), MedMNIST (Zenodo), PTB-XL subset."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from acquire_helpers import make_entry, md5, sha256
from climb.acquire import MARKER, ChecksumError, MissingChecksumError, NotFoundError, download
from climb.acquire import downloader
from climb.acquire.checksums import parse_manifest
from climb.catalog import get, load_entry
from climb.cli import app
from climb.config import raw_dir

MEDMNIST_MD5 = {  # MedMNIST v2's published MD5 (medmnist INFO), Zenodo record 10519652
    "pneumoniamnist.npz": "28209eda62fecd6e6a2d98b1501bb15f",
    "breastmnist.npz": "750601b1f35ba3300ea97c75c52ff8f6",
}


def cli(*args: str):
    """Invoke `climb download ...` (a single-command Typer app takes no command name)."""
    argv = ["download", *args] if len(app.registered_commands) > 1 or app.registered_groups else list(args)
    return CliRunner().invoke(app, argv)


def test_cli_downloads_all_of_mitdb_from_url_mirror_then_skips(shared_server, shared_data, monkeypatch):
    official = parse_manifest((shared_data / "mitdb" / "SHA256SUMS.txt").read_text(), "sha256", "SHA256SUMS")
    result = cli("mitdb", "--mirror", f"{shared_server.base}mitdb/", "--quiet")
    assert result.exit_code == 0, result.output
    dest = raw_dir("mitdb")
    got = sorted(p.name for p in dest.iterdir() if not p.name.startswith("."))
    assert len(got) == 48 * 3 + 3  # .hea/.dat/.atr x 48, 102-0.atr, RECORDS, SHA256SUMS.txt
    for name in got:
        assert sha256(dest / name) == official.get(name, get("mitdb").sources[0].manifest_sha256), name
    marker = json.loads((dest / MARKER).read_text())
    assert marker["dataset"] == "mitdb" and len(marker["files"]) == len(got)

    # A second run makes no request at all and re-hashes nothing (state file cache).
    before = len(shared_server.records)
    hashed = []
    monkeypatch.setattr(downloader, "hash_file", lambda *a, **k: hashed.append(a) or {})
    result = cli("mitdb", "--mirror", f"{shared_server.base}mitdb/", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(shared_server.records) == before and hashed == []
    assert "0 downloaded" in result.output and "146 already verified" in result.output


def test_selective_download_fetches_only_record_100(shared_server, tmp_path):
    report = download("mitdb", dest=tmp_path, mirror=f"{shared_server.base}mitdb/", include=["100"], quiet=True)
    fetched = sorted(r.path for r in shared_server.records)
    assert fetched == ["/mitdb/100.atr", "/mitdb/100.dat", "/mitdb/100.hea", "/mitdb/SHA256SUMS.txt"]
    assert sorted(report.downloaded) == ["100.atr", "100.dat", "100.hea"]
    assert not (tmp_path / MARKER).exists() and not report.complete  # a selection is not the dataset


def test_include_globs_prefer_the_default_selection(shared_data, tmp_path):
    report = download("mitdb", dest=tmp_path / "a", mirror=shared_data / "mitdb", include="10[01].*", quiet=True)
    assert sorted(report.downloaded) == ["100.atr", "100.dat", "100.hea", "101.atr", "101.dat", "101.hea"]
    with pytest.raises(NotFoundError, match="100.xws"):  # outside the default: any file, if asked for
        download("mitdb", dest=tmp_path / "b", mirror=shared_data / "mitdb", include="100.xw?", quiet=True)


def test_local_directory_mirror(shared_data, tmp_path):
    report = download("mitdb", dest=tmp_path, mirror=shared_data / "mitdb", include="101,RECORDS", quiet=True)
    assert sorted(report.downloaded) == ["101.atr", "101.dat", "101.hea", "RECORDS"]
    official = parse_manifest((shared_data / "mitdb" / "SHA256SUMS.txt").read_text(), "sha256", "x")
    assert all(sha256(tmp_path / p) == official[p] for p in report.downloaded)


def _medmnist_entry(tmp_path, files: bool = True):
    lines = [f"    - {{path: {p}, md5: {h}}}" for p, h in MEDMNIST_MD5.items()]
    text = "\n".join([
        "id: medmnist_test", "name: MedMNIST v2 (test subset)", "modality: chest X-ray", "family: 2d",
        "domain: radiology", "task: binary", "labels: [normal, pneumonia]", "access: open",
        "license: CC BY 4.0", "citation: Yang et al. 2023", "homepage: https://zenodo.org/records/10519652",
        "sources:", "  - kind: zenodo", "    zenodo_record: 10519652",
        "    base_url: https://zenodo.org/records/10519652/files/", "    files:", *lines, ""])
    path = tmp_path / "medmnist_test.yaml"
    path.write_text(text)
    return load_entry(path)


def test_medmnist_through_zenodo_path_md5_verified(shared_server, tmp_path):
    entry = _medmnist_entry(tmp_path)
    dest = tmp_path / "raw"
    report = download(entry, dest=dest, mirror=f"{shared_server.base}medmnist/", quiet=True)
    assert report.complete and (dest / MARKER).is_file()
    for name, expected in MEDMNIST_MD5.items():
        assert md5(dest / name) == expected


def test_zenodo_files_api_lists_and_checks_md5(shared_server, shared_data, tmp_path, monkeypatch):
    from climb.acquire import metadata

    monkeypatch.setattr(metadata, "ZENODO_API", f"{shared_server.base}api/records/")
    size = (shared_data / "medmnist" / "breastmnist.npz").stat().st_size
    api = {"files": [{"key": "breastmnist.npz", "size": size, "checksum": "md5:" + MEDMNIST_MD5["breastmnist.npz"],
                      "links": {"self": f"{shared_server.base}medmnist/breastmnist.npz"}}]}
    shared_server.routes["/api/records/10519652"] = json.dumps(api).encode()
    entry = make_entry({"kind": "zenodo", "zenodo_record": 10519652})
    report = download(entry, dest=tmp_path / "a", quiet=True)
    assert report.downloaded == ["breastmnist.npz"]
    assert md5(tmp_path / "a" / "breastmnist.npz") == MEDMNIST_MD5["breastmnist.npz"]

    api["files"][0]["checksum"] = "md5:" + "0" * 32  # the API now disagrees with the bytes
    shared_server.routes["/api/records/10519652"] = json.dumps(api).encode()
    with pytest.raises(ChecksumError, match="breastmnist.npz.*expected md5 0{32}"):
        download(entry, dest=tmp_path / "b", quiet=True)
    assert not (tmp_path / "b" / "breastmnist.npz").exists()


def _ptbxl_entry():
    return make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/ptb-xl/1.0.3/",
                       "manifest": "SHA256SUMS.txt", "include": ["records100/**", "*.csv"]}, id="ptbxl_test")


@pytest.mark.parametrize("where", ["directory", "url"])
def test_strict_mirror_refuses_an_unpinned_manifest_before_any_request(shared_server, shared_data, tmp_path,
                                                                         where):
    # The catalog does not pin PTB-XL's SHA256SUMS.txt: the mirror's copy (trimmed here) is its own word,
    # not the publisher's, so without --trust-mirror nothing from this mirror is accepted.
    mirror = shared_data / "ptbxl" if where == "directory" else f"{shared_server.base}ptbxl/"
    with pytest.raises(MissingChecksumError, match="does not pin the publisher's SHA256SUMS.txt.*--trust-mirror"):
        download(_ptbxl_entry(), dest=tmp_path, mirror=mirror, include=["ptbxl_database.csv"], quiet=True)
    assert shared_server.records == [] and [p.name for p in tmp_path.iterdir()] == [".climb.lock"]


def test_trusted_url_mirror_verifies_against_its_manifest_and_names_the_differences(shared_server, shared_data,
                                                                                     tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="climb.acquire")
    records = ["records100/00000/00001_lr", "records100/00000/00150_lr", "ptbxl_database.csv"]
    report = download(_ptbxl_entry(), dest=tmp_path, mirror=f"{shared_server.base}ptbxl/", include=records,
                      quiet=True, trust_mirror=True)
    mirror_sums = parse_manifest((shared_data / "ptbxl" / "MANIFEST.sha256").read_text(), "sha256", "m")
    assert sorted(report.downloaded) == sorted(["ptbxl_database.csv", "records100/00000/00001_lr.dat",
                                                "records100/00000/00001_lr.hea", "records100/00000/00150_lr.dat",
                                                "records100/00000/00150_lr.hea"])
    assert all(sha256(tmp_path / p) == mirror_sums[p] for p in [*report.downloaded, "SHA256SUMS.txt"])
    assert report.differs_from_official == ["ptbxl_database.csv"]
    assert report.verification == "mirror-verified (differs from official for 1 files)"
    assert "records100/00000/00150_lr.dat" in report.without_official_checksum
    assert "records100/00000/00001_lr.dat" not in report.without_official_checksum
    assert "DIFFER from the official checksums: ptbxl_database.csv" in caplog.text
    assert not (tmp_path / MARKER).exists()  # a selection, not the dataset
