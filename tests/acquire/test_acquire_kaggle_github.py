"""Kaggle (official client, faked at its API boundary) and GitHub release digests, offline."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from acquire_helpers import make_entry, sha256, write_files
from climb.acquire import MARKER, AccessDeniedError, AcquireError, ChecksumError, download
from climb.acquire import kaggle_source, metadata
from climb.safeio import UnsafePathError


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__("GET https://storage.example/x?X-Amz-Signature=abc failed")
        self.response = type("R", (), {"status_code": status})()


class FakeKaggleApi:
    """Stands in for `KaggleApi` after authentication: writes archives like the real client."""

    def __init__(self, files: dict[str, bytes], status: int | None = None) -> None:
        self.files, self.status, self.calls = files, status, []

    def _write(self, path: str, name: str) -> None:
        if self.status:
            raise _HTTPError(self.status)
        with zipfile.ZipFile(Path(path) / f"{name}.zip", "w") as zf:
            for rel, data in self.files.items():
                zf.writestr(rel, data)

    def dataset_download_files(self, dataset, path=None, quiet=True, unzip=False):
        self.calls.append(("dataset", dataset))
        self._write(path, dataset.split("/")[1])

    def competition_download_files(self, competition, path=None, quiet=True):
        self.calls.append(("competition", competition))
        self._write(path, competition)


def _kaggle_entry(ref: str, pinned: dict[str, str] | None = None):
    files = [{"path": p, "sha256": h} for p, h in (pinned or {}).items()]
    return make_entry({"kind": "kaggle", "kaggle": ref, "files": files})


def test_missing_kaggle_token_is_actionable(tmp_path):
    with pytest.raises(AccessDeniedError, match=r"kaggle\.json.*KAGGLE_USERNAME and KAGGLE_KEY"):
        download(_kaggle_entry("owner/data"), dest=tmp_path, quiet=True)


def test_kaggle_dataset_is_extracted_verified_and_marked(tmp_path, monkeypatch):
    files = {"train.csv": b"a,b\n1,2\n", "images/x.txt": b"pixels"}
    api = FakeKaggleApi(files)
    monkeypatch.setattr(kaggle_source, "_api", lambda: api)
    pinned = {"train.csv": hashlib.sha256(files["train.csv"]).hexdigest()}
    report = download(_kaggle_entry("owner/data", pinned), dest=tmp_path, quiet=True)
    assert api.calls == [("dataset", "owner/data")] and report.complete
    assert (tmp_path / "images" / "x.txt").read_bytes() == b"pixels"
    assert not (tmp_path / kaggle_source.STAGING).exists()
    marker = json.loads((tmp_path / MARKER).read_text())
    assert {f["path"] for f in marker["files"]} == set(files)

    again = download(_kaggle_entry("owner/data", pinned), dest=tmp_path, quiet=True)
    assert len(api.calls) == 1 and sorted(again.skipped) == sorted(files)  # verified: no new download


def test_kaggle_pinned_mismatch_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(kaggle_source, "_api", lambda: FakeKaggleApi({"train.csv": b"changed"}))
    with pytest.raises(ChecksumError, match="train.csv"):
        download(_kaggle_entry("owner/data", {"train.csv": "0" * 64}), dest=tmp_path, quiet=True)
    assert not (tmp_path / "train.csv").exists() and not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("planted,points_to,error", [
    ("train.csv", "inside/notes.txt", UnsafePathError),  # a link within dest: followed before the fix
    ("images", "inside", UnsafePathError),
    ("train.csv", "../victim/notes.txt", AcquireError),  # a link out of dest: refused as outside
])
def test_kaggle_extraction_never_writes_through_a_planted_link(tmp_path, monkeypatch, planted, points_to, error):
    dest = tmp_path / "dest"
    for folder in (dest / "inside", tmp_path / "victim"):
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_bytes(b"precious")
        (folder / "x.txt").write_bytes(b"precious")
    (dest / planted).symlink_to(dest / points_to)
    monkeypatch.setattr(kaggle_source, "_api", lambda: FakeKaggleApi({"train.csv": b"a\n", "images/x.txt": b"px"}))
    with pytest.raises(error, match=planted):
        download(_kaggle_entry("owner/data"), dest=dest, quiet=True)
    for folder in (dest / "inside", tmp_path / "victim"):
        assert (folder / "notes.txt").read_bytes() == b"precious" and (folder / "x.txt").read_bytes() == b"precious"
    assert not (dest / MARKER).exists()


def test_kaggle_without_published_checksums_is_labelled_unverified(tmp_path, monkeypatch):
    monkeypatch.setattr(kaggle_source, "_api", lambda: FakeKaggleApi({"train.csv": b"a\n"}))
    report = download(_kaggle_entry("owner/data"), dest=tmp_path, quiet=True)
    assert report.unverified == ["train.csv"] and report.verification.startswith("unverified: 1 file(s)")
    assert json.loads((tmp_path / MARKER).read_text())["verification"] == report.verification
    assert download(_kaggle_entry("owner/data"), dest=tmp_path, quiet=True).verification == report.verification


@pytest.mark.parametrize("status,needle", [(403, r"accept the competition rules at "
                                                   r"https://www.kaggle.com/competitions/rsna/rules"),
                                          (401, "rejected the API token")])
def test_kaggle_competition_errors(tmp_path, monkeypatch, status, needle):
    monkeypatch.setattr(kaggle_source, "_api", lambda: FakeKaggleApi({}, status=status))
    with pytest.raises(AccessDeniedError, match=needle) as exc:
        download(_kaggle_entry("competition/rsna"), dest=tmp_path, quiet=True)
    assert "Signature" not in str(exc.value) and not (tmp_path / MARKER).exists()


def test_github_release_digest_fills_missing_checksum(tmp_path, make_server, monkeypatch):
    root = tmp_path / "served"
    sums = write_files(root, {"files/model.bin": 4096})
    server = make_server(root)
    monkeypatch.setattr(metadata, "GITHUB_API", f"{server.base}repos/")
    assets = {"assets": [{"name": "model.bin", "size": 4096, "digest": "sha256:" + sums["files/model.bin"],
                          "browser_download_url": "https://github.com/o/r/releases/download/v1/model.bin"}]}
    server.routes["/repos/o/r/releases/tags/v1"] = json.dumps(assets).encode()
    entry = make_entry({"kind": "github", "base_url": "https://github.com/o/r/releases/download/v1/",
                        "files": [{"path": "model.bin"}]})
    report = download(entry, dest=tmp_path / "d", mirror=f"{server.base}files/", quiet=True)
    assert report.downloaded == ["model.bin"]
    assert sha256(tmp_path / "d" / "model.bin") == sums["files/model.bin"]
