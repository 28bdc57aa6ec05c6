"""Fault injection over loopback: resume, corruption, auth, retries, 404, marker, policy."""

from __future__ import annotations

import json

import pytest

from acquire_helpers import https_entry, make_entry, sha256, write_files
from climb.acquire import (MARKER, AccessDeniedError, ChecksumError, InsecureURLError, ManualSourceError,
                           Mirror, MissingChecksumError, NotFoundError, RetryPolicy, TransferError,
                           download)
from climb.acquire.urls import redact

SIZE = 300_000


@pytest.fixture
def toy(tmp_path, make_server):
    """A served folder with two random files and an https entry pinning their sha256."""
    root = tmp_path / "served"
    sums = write_files(root, {"a.bin": SIZE, "sub/b.bin": 1000})
    server = make_server(root)
    return server, https_entry(sums), sums, tmp_path / "dest"


def test_cut_transfer_resumes_with_range_and_does_not_refetch_first_half(toy, fast_retry):
    server, entry, sums, dest = toy
    half = SIZE // 2
    server.fault("a.bin", cut_after=half, times=1)
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    reqs = server.requests_for("a.bin")
    assert [r.range for r in reqs] == [None, f"bytes={half}-"]
    assert [r.status for r in reqs] == [200, 206]
    assert sum(r.bytes_sent for r in reqs) == SIZE  # the first half crossed the wire once
    assert sha256(dest / "a.bin") == sums["a.bin"] and not (dest / "a.bin.part").exists()
    assert report.complete


def test_server_ignoring_range_restarts_cleanly(toy, fast_retry):
    server, entry, sums, dest = toy
    server.fault("a.bin", cut_after=1000, times=1)
    with pytest.raises(TransferError):  # a single attempt: the .part keeps the first 1000 bytes
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=RetryPolicy(attempts=1))
    assert (dest / "a.bin.part").stat().st_size == 1000 and not (dest / MARKER).exists()
    server.fault("a.bin", ignore_range=True, times=1)
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    last = server.requests_for("a.bin")[-1]
    assert last.range == "bytes=1000-" and last.status == 200 and last.bytes_sent == SIZE
    assert sha256(dest / "a.bin") == sums["a.bin"]


def test_flipped_byte_is_rejected_and_removed(toy, fast_retry):
    server, entry, sums, dest = toy
    server.fault("a.bin", flip_byte=1234)
    with pytest.raises(ChecksumError) as exc:
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    msg = str(exc.value)
    assert "a.bin" in msg and sums["a.bin"] in msg and "got " in msg
    assert not (dest / "a.bin").exists() and not (dest / "a.bin.part").exists()
    assert not (dest / MARKER).exists()


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_say_what_to_set(tmp_path, make_server, fast_retry, status):
    root = tmp_path / "served"
    (root / "SHA256SUMS.txt").parent.mkdir(parents=True)
    (root / "SHA256SUMS.txt").write_text("")
    server = make_server(root)
    server.fault("SHA256SUMS.txt", status=status)
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": sha256(root / "SHA256SUMS.txt")},
                       access="credentialed", homepage="https://physionet.org/content/toy/1.0/")
    with pytest.raises(AccessDeniedError) as exc:
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True, retry=fast_retry)
    msg = str(exc.value)
    assert f"HTTP {status}" in msg
    for needle in ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD", "~/.netrc", "physionet.org/content/toy/1.0/"):
        assert needle in msg
    assert len(server.requests_for("SHA256SUMS.txt")) == 1  # never retried


def test_credentialed_physionet_without_credentials_fails_before_any_request(tmp_path):
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt"}, access="credentialed")
    with pytest.raises(AccessDeniedError, match="PHYSIONET_USERNAME.*data use agreement"):
        download(entry, dest=tmp_path, quiet=True)


def test_500_then_200_succeeds_after_retry(toy, fast_retry, caplog):
    server, entry, sums, dest = toy
    server.fault("sub/b.bin", status=500, times=1)
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert [r.status for r in server.requests_for("sub/b.bin")] == [500, 200]
    assert sha256(dest / "sub" / "b.bin") == sums["sub/b.bin"] and report.complete
    assert "retry 1/3" in caplog.text


def test_persistent_500_gives_up_after_the_configured_attempts(toy, fast_retry):
    server, entry, _, dest = toy
    server.fault("sub/b.bin", status=503)
    with pytest.raises(TransferError, match="sub/b.bin.*after 4 attempts"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert len(server.requests_for("sub/b.bin")) == 4 and not (dest / MARKER).exists()


def test_404_names_the_url(toy, fast_retry):
    server, entry, _, dest = toy
    server.fault("a.bin", status=404)
    with pytest.raises(NotFoundError, match=rf"404.*{server.base}a.bin"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)


def test_marker_only_after_complete_success(toy, fast_retry):
    server, entry, _, dest = toy
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    marker = json.loads((dest / MARKER).read_text())
    assert marker["dataset"] == "toyset" and {f["path"] for f in marker["files"]} == {"a.bin", "sub/b.bin"}
    assert marker["source"]["mirror"] == server.base

    (dest / "a.bin").write_bytes(b"tampered")  # a later full run that fails removes the marker
    server.fault("a.bin", status=404)
    with pytest.raises(NotFoundError):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert not (dest / MARKER).exists() and not (dest / "a.bin").exists()


def test_second_run_makes_no_requests(toy, fast_retry):
    server, entry, _, dest = toy
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    n = len(server.records)
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert len(server.records) == n and sorted(report.skipped) == ["a.bin", "sub/b.bin"]


def test_pinned_manifest_mismatch_is_a_hard_error(tmp_path, make_server):
    root = tmp_path / "served"
    write_files(root, {"x.dat": 10})
    (root / "SHA256SUMS.txt").write_text(f"{sha256(root / 'x.dat')} x.dat\n")
    server = make_server(root)
    entry = make_entry({"kind": "physionet", "base_url": "https://physionet.org/files/toy/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": "0" * 64})
    with pytest.raises(ChecksumError, match="SHA256SUMS.txt.*expected sha256 0{64}"):
        download(entry, dest=tmp_path / "d", mirror=server.base, quiet=True)
    assert [r.path for r in server.records] == ["/SHA256SUMS.txt"]


def test_file_without_any_checksum_is_refused(tmp_path):
    entry = make_entry({"kind": "https", "base_url": "https://example.org/", "files": [{"path": "x.dat"}]})
    with pytest.raises(MissingChecksumError, match="x.dat"):
        download(entry, dest=tmp_path, quiet=True)


def test_manual_source_raises_its_instructions(tmp_path):
    entry = make_entry({"kind": "manual", "instructions": "Request access by e-mail to the data owner."})
    with pytest.raises(ManualSourceError, match="Request access by e-mail"):
        download(entry, dest=tmp_path, quiet=True)


def test_url_policy():
    with pytest.raises(InsecureURLError, match="only https"):
        Mirror.parse("http://example.org/mirror/")
    with pytest.raises(InsecureURLError) as exc:
        Mirror.parse("https://bob:hunter2@example.org/")
    assert "hunter2" not in str(exc.value) and "bob" not in str(exc.value)
    assert Mirror.parse("http://localhost:8000/x").url == "http://localhost:8000/x/"
    assert Mirror.parse("http://[::1]:8000/").url
    assert redact("https://u:p@h.org/f?token=abc&v=1") == "https://h.org/f?token=***&v=1"


def test_redirect_to_plain_http_is_refused(tmp_path, make_server, fast_retry):
    from climb.acquire.transport import Transport

    server = make_server(tmp_path)
    transport = Transport(fast_retry)
    import requests

    def fake_send(request, **kwargs):  # answer every request with a redirect to plain http
        resp = requests.Response()
        resp.status_code, resp.url, resp.request = 302, request.url, request
        resp.headers["Location"] = "http://example.org/evil"
        resp.raw = __import__("io").BytesIO(b"")
        return resp

    transport.session.get_adapter(server.base).send = fake_send
    with pytest.raises(InsecureURLError, match="example.org/evil"):
        transport.get_bytes(server.base + "x", "test")
