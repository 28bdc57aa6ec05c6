"""Trusted-mirror mode: the mirror's MANIFEST.sha256 as checksum authority, differences reported."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from acquire_helpers import make_entry, md5, sha256, write_files
from climb.acquire import (MARKER, AcquireError, ChecksumError, ManualSourceError, MissingChecksumError,
                           NotFoundError, download)

OFFICIAL = {"a.bin": 3000, "b.bin": 2000, "c.bin": 1000}


@pytest.fixture
def subset_mirror(tmp_path, make_server):
    """An official PhysioNet-style set (a, b, c + pinned SHA256SUMS.txt) and a mirror of a
    modified subset of it: a unchanged, b modified, c absent, d added; its own MANIFEST.sha256."""
    official_dir, mirror_dir = tmp_path / "official", tmp_path / "mirror"
    official = write_files(official_dir, OFFICIAL)
    sums_text = "".join(f"{h} {p}\n" for p, h in official.items())
    mirror_dir.mkdir()
    (mirror_dir / "SHA256SUMS.txt").write_text(sums_text)
    (mirror_dir / "a.bin").write_bytes((official_dir / "a.bin").read_bytes())
    mirrored = {"a.bin": official["a.bin"], **write_files(mirror_dir, {"b.bin": 2000, "d.bin": 500}),
                "SHA256SUMS.txt": sha256(mirror_dir / "SHA256SUMS.txt")}
    (mirror_dir / "MANIFEST.sha256").write_text("".join(f"{h}  ./{p}\n" for p, h in mirrored.items()))
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt",
                        "manifest_sha256": hashlib.sha256(sums_text.encode()).hexdigest()})
    return make_server(mirror_dir), entry, mirrored, tmp_path / "dest"


def test_strict_mode_refuses_the_modified_subset(subset_mirror):
    server, entry, _, dest = subset_mirror
    with pytest.raises((ChecksumError, NotFoundError)):
        download(entry, dest=dest, mirror=server.base, quiet=True)
    assert not (dest / MARKER).exists()


def test_trusted_mirror_verifies_every_file_and_records_the_differences(subset_mirror, caplog):
    caplog.set_level(logging.WARNING, logger="climb.acquire")
    server, entry, mirrored, dest = subset_mirror
    report = download(entry, dest=dest, mirror=server.base, quiet=True, trust_mirror=True)
    assert sorted(report.downloaded) == ["a.bin", "b.bin", "d.bin"] and report.complete
    assert all(sha256(dest / p) == mirrored[p] for p in ["a.bin", "b.bin", "d.bin", "SHA256SUMS.txt"])
    assert report.differs_from_official == ["b.bin"]
    assert report.without_official_checksum == ["d.bin"] and report.official_not_in_mirror == ["c.bin"]
    marker = json.loads((dest / MARKER).read_text())
    assert marker["verification"] == "mirror-verified (differs from official for 1 files)"
    assert marker["trusted_mirror"]["differs_from_official"] == ["b.bin"]
    assert {f["path"]: f.get("sha256") for f in marker["files"]} == mirrored
    assert "TRUSTED MIRROR" in caplog.text and "DIFFER from the official checksums: b.bin" in caplog.text
    assert "[complete; mirror-verified (differs from official for 1 files)]" in report.summary()

    again = download(entry, dest=dest, mirror=server.base, quiet=True, trust_mirror=True)
    assert sorted(again.skipped) == ["a.bin", "b.bin", "d.bin"] and again.differs_from_official == ["b.bin"]
    with pytest.raises((ChecksumError, NotFoundError)):  # strict again: b.bin refused, c.bin absent
        download(entry, dest=dest, mirror=server.base, quiet=True)
    assert not (dest / MARKER).exists()
    with pytest.raises(ChecksumError, match="b.bin"):
        download(entry, dest=dest, mirror=server.base, include="b.bin", quiet=True)


def test_trusted_mirror_still_rejects_corrupt_bytes(subset_mirror, fast_retry):
    server, entry, _, dest = subset_mirror
    server.fault("d.bin", flip_byte=10)
    with pytest.raises(ChecksumError, match="d.bin.*the mirror's MANIFEST.sha256"):
        download(entry, dest=dest, mirror=server.base, quiet=True, trust_mirror=True, retry=fast_retry)
    assert not (dest / "d.bin").exists() and not (dest / MARKER).exists()


def test_trusted_mirror_needs_a_manifest_and_a_checksum_for_every_file(tmp_path, make_server):
    root = tmp_path / "mirror"
    sums = write_files(root, {"x.bin": 100, "y.bin": 100})
    entry = make_entry({"kind": "https", "base_url": "https://example.org/",
                        "files": [{"path": "x.bin"}, {"path": "y.bin"}]})
    server = make_server(root)
    with pytest.raises(AcquireError, match=r"MANIFEST.sha256.*does not exist"):
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, trust_mirror=True)
    (root / "MANIFEST.sha256").write_text(f"{sums['x.bin']}  ./x.bin\n")  # y.bin: no checksum anywhere
    with pytest.raises(MissingChecksumError, match="y.bin"):
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, trust_mirror=True)
    with pytest.raises(AcquireError, match="needs a mirror"):
        download(entry, dest=tmp_path / "d", quiet=True, trust_mirror=True)


def test_trusted_mirror_compares_md5_only_official_checksums_by_hashing(tmp_path, make_server):
    root = tmp_path / "mirror"
    sums = write_files(root, {"same.npz": 700, "changed.npz": 700})
    (root / "MANIFEST.sha256").write_text("".join(f"{h}  ./{p}\n" for p, h in sums.items()))
    official_md5 = {"same.npz": md5(root / "same.npz"), "changed.npz": "0" * 32}
    entry = make_entry({"kind": "zenodo", "zenodo_record": 1, "base_url": "https://zenodo.org/records/1/files/",
                        "files": [{"path": p, "md5": h} for p, h in official_md5.items()]})
    server = make_server(root)
    report = download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, trust_mirror=True)
    assert report.differs_from_official == ["changed.npz"] and report.without_official_checksum == []


def test_manual_source_only_through_a_trusted_mirror(tmp_path, make_server):
    root = tmp_path / "mirror"
    sums = write_files(root, {"Z/Z001.txt": 50, "S/S001.txt": 50})
    (root / "MANIFEST.sha256").write_text("".join(f"{h}  ./{p}\n" for p, h in sums.items()))
    entry = make_entry({"kind": "manual", "instructions": "Download the set archives by hand."})
    server = make_server(root)
    with pytest.raises(ManualSourceError, match="by hand"):
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True)
    report = download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, trust_mirror=True)
    assert sorted(report.downloaded) == ["S/S001.txt", "Z/Z001.txt"] and report.complete
    assert sorted(report.without_official_checksum) == ["S/S001.txt", "Z/Z001.txt"]


def test_trusted_mirror_never_receives_credentials(subset_mirror, monkeypatch, caplog):
    monkeypatch.setenv("PHYSIONET_USERNAME", "alice")
    monkeypatch.setenv("PHYSIONET_PASSWORD", "s3cret-trusted")
    caplog.set_level(logging.DEBUG)
    server, entry, _, dest = subset_mirror
    entry = entry.model_copy(update={"access": "credentialed"})
    download(entry, dest=dest, mirror=server.base, quiet=True, trust_mirror=True)
    assert server.records and not any(r.authorization for r in server.records)
    assert "s3cret-trusted" not in caplog.text + (dest / MARKER).read_text()
