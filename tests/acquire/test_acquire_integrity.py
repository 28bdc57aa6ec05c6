"""Trust nothing a server or the disk says without a check (issue 12): fault injection over loopback.

Planted symbolic links, a forged mirror manifest, oversized answers, a huge manifest, a
dripping server, a deadline, a file edited in place with its mtime restored, empty
`--mirror` / `--dest` values.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from acquire_helpers import make_entry, sha256, write_files
from climb.acquire import (MARKER, AcquireError, DeadlineError, MissingChecksumError, OversizeError, RetryPolicy,
                           TransferError, TransferLimits, download)
from climb.errors import ClimbUsageError
from climb.safeio import UnsafePathError

SIZE = 300_000
BIG = 32 << 20  # what a misbehaving server sends instead
PRECIOUS = b"precious bytes that are not climb's to overwrite\n"


def _sized_entry(sums: dict[str, str], sizes: dict[str, int]):
    files = [{"path": p, "sha256": h, "size": sizes[p]} for p, h in sums.items()]
    return make_entry({"kind": "https", "base_url": "https://example.org/toyset/", "files": files})


@pytest.fixture
def served(tmp_path, make_server):
    """A served folder with one random file, an entry pinning its sha256 and size, and a victim file."""
    root = tmp_path / "served"
    sums = write_files(root, {"a.bin": SIZE})
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    return make_server(root), root, _sized_entry(sums, {"a.bin": SIZE}), sums, victim, tmp_path / "dest"


def _plant(dest, name, victim):
    dest.mkdir(parents=True, exist_ok=True)
    (dest / name).symlink_to(victim)


# -- item 2: never write through a symbolic link --------------------------------------------------------

@pytest.mark.parametrize("via", ["url", "directory"])
def test_symlink_planted_as_part_is_refused_and_its_target_unchanged(served, fast_retry, via):
    server, root, entry, _, victim, dest = served
    _plant(dest, "a.bin.part", victim)
    mirror = server.base if via == "url" else root
    with pytest.raises(UnsafePathError, match="a.bin.part"):
        download(entry, dest=dest, mirror=mirror, quiet=True, retry=fast_retry)
    assert victim.read_bytes() == PRECIOUS and not (dest / MARKER).exists()
    assert server.requests_for("a.bin") == []


@pytest.mark.parametrize("name", [".climb.lock", ".climb_state.json"])
def test_symlinked_lock_and_state_files_are_refused_before_any_transfer(served, fast_retry, name):
    server, _, entry, _, victim, dest = served
    _plant(dest, name, victim)
    with pytest.raises(UnsafePathError, match=name):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert victim.read_bytes() == PRECIOUS and server.records == []


def test_manifest_is_saved_without_writing_through_a_planted_temp_link(tmp_path, make_server, fast_retry):
    root = tmp_path / "served"
    write_files(root, {"x.dat": 100})
    (root / "SHA256SUMS.txt").write_text(f"{sha256(root / 'x.dat')} x.dat\n")
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": sha256(root / "SHA256SUMS.txt")})
    victim, dest = tmp_path / "victim.txt", tmp_path / "dest"
    victim.write_bytes(PRECIOUS)
    _plant(dest, "SHA256SUMS.txt.part", victim)  # the old fixed temp name of the saved manifest
    report = download(entry, dest=dest, mirror=make_server(root).base, quiet=True, retry=fast_retry)
    assert report.complete and victim.read_bytes() == PRECIOUS
    assert not (dest / "SHA256SUMS.txt").is_symlink() and sha256(dest / "SHA256SUMS.txt") == sha256(
        root / "SHA256SUMS.txt")


# -- item 3: honest verification ----------------------------------------------------------------------

@pytest.fixture
def forged_mirror(tmp_path):
    """A mirror whose own SHA256SUMS.txt vouches for files the publisher never made."""
    root = tmp_path / "forged"
    sums = write_files(root, {"ptbxl_database.csv": 400, "records100/00000/00001_lr.dat": 300})
    (root / "SHA256SUMS.txt").write_text("".join(f"{h}  {p}\n" for p, h in sums.items()))
    return root, sums


def _unpinned_physionet_entry():
    return make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                       "manifest": "SHA256SUMS.txt"})


@pytest.mark.parametrize("via", ["url", "directory"])
def test_forged_mirror_manifest_is_refused_without_trust_mirror(forged_mirror, make_server, tmp_path, via):
    root, _ = forged_mirror
    server = make_server(root)
    mirror = server.base if via == "url" else root
    dest = tmp_path / "dest"
    with pytest.raises(MissingChecksumError, match=r"does not pin the publisher's SHA256SUMS.txt.*--trust-mirror"):
        download(_unpinned_physionet_entry(), dest=dest, mirror=mirror, quiet=True)
    assert server.records == []  # refused before a single request
    assert sorted(p.name for p in dest.iterdir()) == [".climb.lock"]


def test_trusted_forged_mirror_is_recorded_as_the_mirrors_word(forged_mirror, make_server, tmp_path):
    root, sums = forged_mirror
    server = make_server(root)
    with pytest.raises(AcquireError, match="MANIFEST.sha256"):  # trusting needs the mirror's full manifest
        download(_unpinned_physionet_entry(), dest=tmp_path / "d", mirror=server.base, quiet=True,
                 trust_mirror=True)
    manifest = {**sums, "SHA256SUMS.txt": sha256(root / "SHA256SUMS.txt")}
    (root / "MANIFEST.sha256").write_text("".join(f"{h}  ./{p}\n" for p, h in manifest.items()))
    report = download(_unpinned_physionet_entry(), dest=tmp_path / "d", mirror=server.base, quiet=True,
                      trust_mirror=True)
    assert report.complete and report.verification.startswith("mirror-verified")
    marker = json.loads((tmp_path / "d" / MARKER).read_text())
    assert marker["verification"].startswith("mirror-verified")
    assert "not pinned by the catalog" in marker["trusted_mirror"]["official_checksums_from"]
    assert {"path": "SHA256SUMS.txt", "sha256": manifest["SHA256SUMS.txt"], "pinned": False} in marker["files"]


@pytest.mark.parametrize("length", ["announced", "unannounced"])
def test_oversized_answer_is_stopped_at_the_expected_size(served, fast_retry, length):
    server, _, entry, _, _, dest = served
    server.fault("a.bin", pad_to=BIG, no_length=length == "unannounced")
    with pytest.raises(OversizeError, match=r"a.bin.*(announces \d+|sent more than) bytes, but the file has 300000"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert not (dest / "a.bin.part").exists() and not (dest / "a.bin").exists()
    assert len(server.requests_for("a.bin")) == 1  # not retried: the server serves a wrong file
    assert server.requests_for("a.bin")[0].bytes_sent < BIG // 2  # the client stopped reading


def test_oversized_file_in_a_directory_mirror_is_not_copied(served, fast_retry):
    _, root, entry, _, _, dest = served
    (root / "a.bin").write_bytes(bytes(BIG))
    with pytest.raises(OversizeError, match=rf"holds {BIG} bytes, more than the expected {SIZE}"):
        download(entry, dest=dest, mirror=root, quiet=True, retry=fast_retry)
    assert not (dest / "a.bin.part").exists() and not (dest / "a.bin").exists()


@pytest.fixture
def huge_manifest(tmp_path, make_server):
    """A pinned SHA256SUMS.txt of 8 MiB (comment lines), served and in a directory mirror."""
    root = tmp_path / "served"
    root.mkdir()
    text = ("# " + "x" * 1021 + "\n") * 8192
    (root / "SHA256SUMS.txt").write_text(text)
    (root / "MANIFEST.sha256").write_text(text)
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt",
                        "manifest_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return make_server(root), root, entry, len(text)


@pytest.mark.parametrize("how", ["announced", "unannounced", "directory", "trusted-mirror"])
def test_huge_manifest_is_refused_at_the_cap(huge_manifest, tmp_path, fast_retry, how):
    server, root, entry, size = huge_manifest
    name = "MANIFEST.sha256" if how == "trusted-mirror" else "SHA256SUMS.txt"
    server.routes[f"/{name}"] = (root / name).read_bytes() * 8  # 64 MiB
    server.fault(name, no_length=how == "unannounced")
    limits = TransferLimits(max_manifest_bytes=1 << 20)
    with pytest.raises(OversizeError, match=rf"{name} is larger than the 1.0 MiB cap"):
        download(entry, dest=tmp_path / "d", mirror=root if how == "directory" else server.base, quiet=True,
                 retry=fast_retry, limits=limits, trust_mirror=how == "trusted-mirror")
    assert all(r.bytes_sent < 32 << 20 for r in server.records)


def test_default_manifest_cap_admits_the_largest_publisher_manifests():
    assert TransferLimits().max_manifest_bytes >= 200 << 20


@pytest.fixture
def dripping(tmp_path, make_server):
    """A 400-byte file served one byte every 50 ms (20 bytes/s: 8 s for the whole file)."""
    root = tmp_path / "served"
    sums = write_files(root, {"a.bin": 400})
    server = make_server(root)
    server.fault("a.bin", chunk_size=1, chunk_delay=0.05)
    return server, _sized_entry(sums, {"a.bin": 400}), tmp_path / "dest"


def test_slow_drip_is_dropped_below_the_minimum_speed(dripping):
    server, entry, dest = dripping
    limits = TransferLimits(min_speed=200, speed_window=0.5)
    with pytest.raises(TransferError, match=r"a.bin.*after 2 attempts \(too slow: \d+ bytes/s .* below the minimum 200"):
        download(entry, dest=dest, mirror=server.base, quiet=True, limits=limits,
                 retry=RetryPolicy(attempts=2, base_delay=0.01))
    assert sum(r.bytes_sent for r in server.requests_for("a.bin")) < 400
    assert [r.range is not None for r in server.requests_for("a.bin")] == [False, True]  # the retry resumed


def test_slow_manifest_is_dropped_too(tmp_path, make_server):
    root = tmp_path / "served"
    root.mkdir()
    (root / "SHA256SUMS.txt").write_text("# padding\n" * 40)
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": sha256(root / "SHA256SUMS.txt")})
    server = make_server(root)
    server.fault("SHA256SUMS.txt", chunk_size=1, chunk_delay=0.05)
    with pytest.raises(TransferError, match="SHA256SUMS.txt.*too slow"):
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, retry=RetryPolicy(attempts=1),
                 limits=TransferLimits(min_speed=200, speed_window=0.5))


def test_deadline_stops_the_download_and_keeps_the_partial_file_for_a_resume(dripping, fast_retry):
    server, entry, dest = dripping
    with pytest.raises(DeadlineError, match="deadline .* passed; partial files are kept"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry,
                 limits=TransferLimits(min_speed=0, deadline=1.0))
    kept = (dest / "a.bin.part").stat().st_size
    assert 0 < kept < 400 and not (dest / MARKER).exists()
    server.faults.clear()
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert report.complete and server.requests_for("a.bin")[-1].range == f"bytes={kept}-"


def test_file_edited_in_place_with_its_mtime_restored_is_hashed_again(served, fast_retry):
    server, _, entry, sums, _, dest = served
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    path = dest / "a.bin"
    before = path.stat()
    with open(path, "r+b") as f:  # flip one byte, keep the size
        f.seek(1234)
        byte = f.read(1)
        f.seek(1234)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert report.downloaded == ["a.bin"] and sha256(path) == sums["a.bin"]


def test_untouched_files_are_still_skipped_without_hashing(served, fast_retry, monkeypatch):
    from climb.acquire import downloader

    server, _, entry, _, _, dest = served
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    monkeypatch.setattr(downloader, "hash_file", lambda *a, **k: pytest.fail("hashed an unchanged file"))
    assert download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry).skipped == ["a.bin"]


@pytest.mark.parametrize("option", ["mirror", "dest"])
@pytest.mark.parametrize("value", ["", "  "])
def test_empty_mirror_or_dest_is_a_usage_error_not_the_current_directory(served, tmp_path, monkeypatch,
                                                                         option, value):
    _, root, entry, _, _, dest = served
    monkeypatch.chdir(root)  # the current directory holds the file: an empty value must not find it
    kwargs = {"mirror": root, "dest": dest, option: value}
    with pytest.raises(ClimbUsageError, match=rf"{'mirror' if option == 'mirror' else '--dest'}.*empty"):
        download(entry, quiet=True, **kwargs)
    assert not (dest / "a.bin").exists() and not (root / "a.bin.part").exists()


def test_unpinned_manifest_from_the_publisher_is_labelled_as_such(tmp_path, make_server, monkeypatch):
    """No mirror: the publisher's own unpinned manifest is used, and the marker says it was not pinned."""
    import requests

    from climb.acquire import downloader
    from climb.acquire.transport import Transport

    root = tmp_path / "served"
    write_files(root, {"x.dat": 100})
    (root / "SHA256SUMS.txt").write_text(f"{sha256(root / 'x.dat')}  x.dat\n")
    server = make_server(root)
    official = "https://physionet.org/files/toy/1.0/"

    class Publisher(requests.adapters.HTTPAdapter):  # the official host, answered by the loopback server
        def send(self, request, **kwargs):
            request.url = request.url.replace(official, server.base)
            return super().send(request, **kwargs)

    class PublisherTransport(Transport):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.session.mount(official, Publisher())

    monkeypatch.setattr(downloader, "Transport", PublisherTransport)
    report = download(_unpinned_physionet_entry(), dest=tmp_path / "d", quiet=True)
    assert report.complete and [r.path for r in server.records] == ["/SHA256SUMS.txt", "/x.dat"]
    label = "official checksums (SHA256SUMS.txt fetched from the publisher over TLS; not pinned by the catalog)"
    assert report.verification == label
    marker = json.loads((tmp_path / "d" / MARKER).read_text())
    assert marker["verification"] == label and marker["files"][0] == {
        "path": "SHA256SUMS.txt", "sha256": sha256(root / "SHA256SUMS.txt"), "pinned": False}


def test_cut_manifest_is_retried_not_taken_short(tmp_path, make_server, fast_retry):
    root = tmp_path / "served"
    write_files(root, {"x.dat": 100})
    (root / "SHA256SUMS.txt").write_text(f"{sha256(root / 'x.dat')}  x.dat\n" + "# padding\n" * 100)
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": sha256(root / "SHA256SUMS.txt")})
    server = make_server(root)
    server.fault("SHA256SUMS.txt", cut_after=70, times=1)
    report = download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, retry=fast_retry)
    size = (root / "SHA256SUMS.txt").stat().st_size
    assert report.complete and [r.bytes_sent for r in server.requests_for("SHA256SUMS.txt")] == [70, size]


def test_cli_limits_reach_the_download(monkeypatch):
    from typer.testing import CliRunner

    import climb.acquire
    from climb.cli import app

    seen = {}

    def fake_download(*args, **kwargs):
        seen.update(kwargs)
        raise ZeroDivisionError  # stop here

    monkeypatch.setattr(climb.acquire, "download", fake_download)
    CliRunner().invoke(app, ["download", "mitdb", "--deadline", "2", "--min-speed", "0"])
    assert seen["limits"] == TransferLimits(min_speed=0, deadline=7200.0)
    CliRunner().invoke(app, ["download", "mitdb", "--deadline", "0"])
    assert seen["limits"] == TransferLimits(deadline=None) and TransferLimits().deadline == 24 * 3600
