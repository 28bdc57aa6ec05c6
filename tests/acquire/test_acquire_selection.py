"""Selection: entries that list `files` get exactly those; `--include @FILE` lists."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from acquire_helpers import https_entry, sha256, write_files
from climb.acquire import ChecksumError, SelectionError, download
from climb.acquire.checksums import parse_manifest
from climb.acquire.plan import split_include
from climb.catalog import get
from climb.cli import app


def _cli(*args: str):
    argv = ["download", *args] if len(app.registered_commands) > 1 or app.registered_groups else list(args)
    return CliRunner().invoke(app, argv)


@pytest.fixture
def pinned_with_extras(tmp_path):
    """A mirror folder with two pinned files, unlisted extras and a MANIFEST.sha256 of everything."""
    root = tmp_path / "mirror"
    sums = write_files(root, {"want/a.bin": 800, "want/b.bin": 800, "other/x.bin": 800, "y.bin": 10})
    (root / "MANIFEST.sha256").write_text("".join(f"{h}  ./{p}\n" for p, h in sums.items()))
    return root, {p: sums[p] for p in ("want/a.bin", "want/b.bin")}


def test_listed_files_are_exactly_what_is_fetched(pinned_with_extras, tmp_path):
    root, pinned = pinned_with_extras
    report = download(https_entry(pinned), dest=tmp_path / "d", mirror=root, quiet=True)
    assert sorted(report.files) == sorted(pinned) and report.complete
    assert sorted(str(p.relative_to(tmp_path / "d")) for p in (tmp_path / "d").rglob("*.bin")) == sorted(pinned)


def test_pinned_checksum_wins_over_the_mirror_manifest(pinned_with_extras, tmp_path):
    root, pinned = pinned_with_extras
    manifest = root / "MANIFEST.sha256"
    manifest.write_text(manifest.read_text().replace(pinned["want/a.bin"], "f" * 64))  # wrong claim, right file
    report = download(https_entry(pinned), dest=tmp_path / "d", mirror=root, quiet=True)
    assert sha256(tmp_path / "d" / "want" / "a.bin") == pinned["want/a.bin"] and report.complete

    (root / "want" / "b.bin").write_bytes(b"modified")  # the mirror's manifest now agrees with the change
    manifest.write_text(manifest.read_text().replace(pinned["want/b.bin"], sha256(root / "want" / "b.bin")))
    with pytest.raises(ChecksumError, match="want/b.bin.*" + pinned["want/b.bin"]):
        download(https_entry(pinned), dest=tmp_path / "e", mirror=root, quiet=True)


@pytest.mark.parametrize("via", ["directory", "url"])
def test_yaib_mortality24_fetches_its_six_files_not_the_whole_mirror(shared_data, shared_server, tmp_path, via):
    mirror = shared_data / "yaib_demo" if via == "directory" else f"{shared_server.base}yaib_demo/"
    pinned = {f.path: f.sha256 for f in get("yaib_mortality24").sources[0].files}
    report = download("yaib_mortality24", dest=tmp_path, mirror=mirror, quiet=True)
    assert sorted(report.downloaded) == sorted(pinned) and len(pinned) == 6 and report.complete
    got = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                 and not p.name.startswith(".climb"))
    assert got == sorted(pinned) and all(sha256(tmp_path / p) == h for p, h in pinned.items())
    if via == "url":
        assert sorted(r.path for r in shared_server.records) == sorted(f"/yaib_demo/{p}" for p in pinned)


def test_include_file_lists_records_one_per_line(tmp_path):
    listing = tmp_path / "records.txt"
    listing.write_text("# records to fetch\n100\n\n  101  \nrecords100/*.dat\n")
    assert split_include([f"@{listing}", "RECORDS"]) == ["100", "101", "records100/*.dat", "RECORDS"]
    with pytest.raises(SelectionError, match=r"@.*missing.txt.*cannot read"):
        split_include(f"@{tmp_path / 'missing.txt'}")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(SelectionError, match="empty.txt.*empty"):
        split_include(f"@{tmp_path / 'empty.txt'}")


def test_cli_include_file_and_trust_mirror(shared_data, shared_server, tmp_path):
    listing = tmp_path / "records.txt"
    listing.write_text("100\n101\n")
    result = _cli("mitdb", "--mirror", str(shared_data / "mitdb"), "--include", f"@{listing}",
                  "--dest", str(tmp_path / "mitdb"), "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "mitdb").glob("10*")) == [
        "100.atr", "100.dat", "100.hea", "101.atr", "101.dat", "101.hea"]

    listing.write_text("ptbxl_database.csv\nrecords100/00000/00150_lr\n")
    args = ["ptbxl", "--mirror", f"{shared_server.base}ptbxl/", "--include", f"@{listing}",
            "--dest", str(tmp_path / "ptbxl"), "--quiet"]
    refused = _cli(*args)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    result = _cli(*args, "--trust-mirror")
    assert result.exit_code == 0, result.output
    assert "mirror-verified (differs from official for 1 files)" in result.output
    mirror_sums = parse_manifest((shared_data / "ptbxl" / "MANIFEST.sha256").read_text(), "sha256", "m")
    for rel in ("ptbxl_database.csv", "records100/00000/00150_lr.dat"):
        assert sha256(tmp_path / "ptbxl" / rel) == mirror_sums[rel]
