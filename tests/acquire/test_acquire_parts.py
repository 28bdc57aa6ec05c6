"""Entries made of several projects (sources with a `subdir`, e.g. MIMIC-IV + MIMIC-CXR-JPG + MIMIC-IV-ECG):
every part is downloaded into its folder and verified against its own checksum manifest, each part resumes on its
own, and the entry counts as complete only when every part is. Served over loopback from files the test writes."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest
from acquire_helpers import make_entry, sha256, write_files

from climb.acquire import (MARKER, AccessDeniedError, ChecksumError, DeadlineError, RetryPolicy, TransferError,
                           TransferLimits, download)
from climb.acquire.errors import SelectionError
from climb.acquire.plan import select
from climb.catalog import get
from climb.catalog.schema import DatasetEntry
from climb.safeio import UnsafePathError

PARTS = {  # subdir -> (files served, include globs of the entry)
    "ehr": ({"hosp/admissions.csv.gz": 3000, "hosp/patients.csv.gz": 500, "icu/icustays.csv.gz": 700,
             "CHANGELOG.txt": 100}, ["hosp/*", "icu/*"]),
    "cxr": ({"metadata.csv.gz": 400, "files/p10/p1000/s1/a.jpg": 90_000}, []),
    "ecg": ({"record_list.csv": 300, "files/p1000/p10000/s4/4.hea": 200, "files/p1000/p10000/s4/4.dat": 20_000},
            []),
}


def manifest(sums: dict[str, str]) -> bytes:
    """A PhysioNet-style SHA256SUMS.txt: `<hex> <path>` lines."""
    return "".join(f"{h} {p}\n" for p, h in sums.items()).encode()


@pytest.fixture
def served(tmp_path, make_server):
    """The three parts served from one loopback mirror (`<subdir>/...`) and a credentialed PhysioNet entry
    that pins each part's manifest (a mirror may not serve an unpinned one)."""
    root = tmp_path / "served"
    sources, sums = [], {}
    for folder, (sizes, include) in PARTS.items():
        sums[folder] = write_files(root / folder, sizes)
        data = manifest(sums[folder])
        (root / folder / "SHA256SUMS.txt").write_bytes(data)
        sources.append({"kind": "physionet", "subdir": folder, "base_url": f"https://physionet.org/files/{folder}/1.0/",
                        "manifest": "SHA256SUMS.txt", "manifest_sha256": hashlib.sha256(data).hexdigest(),
                        "include": include})
    entry = make_entry(sources[0], access="credentialed", sources=sources)
    return make_server(root), entry, sums, tmp_path / "dest"


def test_every_part_is_downloaded_into_its_folder_and_verified(served, fast_retry):
    server, entry, sums, dest = served
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    selected = {folder: [p for p in s if folder != "ehr" or p.startswith(("hosp/", "icu/"))]
                for folder, s in sums.items()}
    for folder, paths in selected.items():
        for path in paths:
            assert sha256(dest / folder / path) == sums[folder][path]
        assert (dest / folder / MARKER).is_file()  # each part has its own completion marker
    assert not (dest / "ehr" / "CHANGELOG.txt").exists()  # outside the part's include
    assert report.complete and set(report.parts) == set(PARTS)
    assert sorted(report.downloaded) == sorted(f"{d}/{p}" for d, ps in selected.items() for p in ps)
    marker = json.loads((dest / MARKER).read_text())
    assert set(marker["parts"]) == set(PARTS) and marker["verification"] == "official checksums"
    assert {r.path for r in server.records} >= {f"/{d}/SHA256SUMS.txt" for d in PARTS}
    again = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert again.complete and not again.downloaded and sorted(again.skipped) == sorted(report.downloaded)


def test_a_corrupt_part_fails_alone_and_the_entry_completes_on_the_next_run(served, fast_retry):
    server, entry, sums, dest = served
    server.fault("cxr/files/p10/p1000/s1/a.jpg", flip_byte=5000, times=1)
    with pytest.raises(ChecksumError, match=r"toyset/cxr: files/p10/p1000/s1/a\.jpg: checksum mismatch"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert (dest / "ehr" / MARKER).is_file()  # the part before it is complete and verified
    assert not (dest / MARKER).exists() and not (dest / "cxr" / "files/p10/p1000/s1/a.jpg").exists()
    before = len(server.records)
    report = download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    fetched = {r.path for r in server.records[before:] if not r.path.endswith("SHA256SUMS.txt")}
    assert not any(p.startswith("/ehr/") for p in fetched)  # the complete part is not fetched again
    assert "/cxr/files/p10/p1000/s1/a.jpg" in fetched
    assert report.complete and (dest / MARKER).is_file()
    assert sha256(dest / "cxr" / "files/p10/p1000/s1/a.jpg") == sums["cxr"]["files/p10/p1000/s1/a.jpg"]


def test_a_cut_transfer_in_a_part_resumes_with_range(served, fast_retry):
    server, entry, sums, dest = served
    path = "ecg/files/p1000/p10000/s4/4.dat"
    server.fault(path, cut_after=8000, times=1)
    with pytest.raises(TransferError):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=RetryPolicy(attempts=1))
    assert (dest / f"{path}.part").stat().st_size == 8000
    download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert server.requests_for(path)[-1].range == "bytes=8000-"
    assert sha256(dest / path) == sums["ecg"]["files/p1000/p10000/s4/4.dat"]


def test_the_deadline_counts_from_the_start_of_the_call_not_of_each_part(served, fast_retry, monkeypatch):
    """One deadline for the whole call: each part's transfers are bounded by the call's start (here 10 s ago,
    with a 5 s deadline), not by when that part began; the parts stay resumable."""
    import time

    import climb.acquire.downloader as downloader

    server, entry, _, dest = served
    monkeypatch.setattr(downloader, "time", SimpleNamespace(monotonic=lambda: time.monotonic() - 10.0))
    with pytest.raises(DeadlineError, match=r"toyset/ehr: .*deadline \(5 s\) passed"):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry,
                 limits=TransferLimits(deadline=5.0))
    assert not (dest / MARKER).exists()


def test_include_names_the_part_folder(served, fast_retry):
    server, entry, sums, dest = served
    include = ["ecg/record_list.csv", "cxr", "cxr/metadata.csv.gz"]  # the folder alone: the whole part
    report = download(entry, dest=dest, mirror=server.base, include=include, quiet=True, retry=fast_retry)
    assert sorted(report.downloaded) == ["cxr/files/p10/p1000/s1/a.jpg", "cxr/metadata.csv.gz",
                                         "ecg/record_list.csv"]
    assert (dest / "cxr" / MARKER).is_file()  # the whole part was chosen
    assert not report.complete and not (dest / MARKER).exists() and not (dest / "ecg" / MARKER).exists()
    with pytest.raises(SelectionError, match=r"made of the parts \['ehr', 'cxr', 'ecg'\]; start each include"):
        download(entry, dest=dest, mirror=server.base, include=["record_list.csv"], quiet=True)


def test_credentials_are_required_as_for_one_source(served):
    _, entry, _, dest = served  # credentialed PhysioNet parts, no mirror, no login: refused before any request
    with pytest.raises(AccessDeniedError, match="PHYSIONET_USERNAME"):
        download(entry, dest=dest, quiet=True)
    assert not any((dest / d).exists() and any((dest / d).iterdir()) for d in PARTS)


def test_a_link_planted_as_a_part_folder_is_refused(served, fast_retry, tmp_path):
    server, entry, _, dest = served
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest.mkdir()
    (dest / "ehr").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        download(entry, dest=dest, mirror=server.base, quiet=True, retry=fast_retry)
    assert not any(elsewhere.iterdir())


def test_sources_are_alternatives_or_parts_never_both():
    base = make_entry({"kind": "https", "base_url": "https://example.org/"}).model_dump()
    part = {"kind": "https", "base_url": "https://example.org/", "subdir": "a"}
    with pytest.raises(ValueError, match="either alternatives"):
        DatasetEntry.model_validate({**base, "sources": [part, {"kind": "https", "base_url": "https://x.org/"}]})
    with pytest.raises(ValueError, match="either alternatives"):
        DatasetEntry.model_validate({**base, "sources": [part, part]})
    with pytest.raises(ValueError, match="subdir must be a relative folder"):
        DatasetEntry.model_validate({**base, "sources": [{**part, "subdir": "../up"}]})


def test_mimic_iv_parts_are_the_folders_and_tables_the_builder_reads(shared_data):
    """The entry's MIMIC-IV part selects every table the builder reads from the official file list
    (the real SHA256SUMS.txt of the MIMIC-IV demo, same module layout as the full release)."""
    from climb.prepare.builders.mimic_iv import CXR_METADATA, ECG_RECORDS, TABLES

    entry = get("mimic_iv")
    parts = {p.subdir: p for p in entry.parts}
    assert len(parts) == len(entry.sources) == 3
    assert {CXR_METADATA.split("/")[0], ECG_RECORDS.split("/")[0]} | {"mimiciv"} == set(parts)
    sums = (shared_data / "real_samples/mimic_iv/mimic-iv-clinical-database-demo-2.2/SHA256SUMS.txt").read_text()
    listed = [line.split()[1] for line in sums.splitlines() if line.strip()]
    chosen = select(listed, parts["mimiciv"].include, [], "mimic_iv")
    assert {path for path, _ in TABLES.values()} <= set(chosen)
    assert all(p.startswith(("hosp/", "icu/")) for p in chosen)
    assert select([CXR_METADATA.split("/", 1)[1], "files/p10/p10000032/s5/x.jpg", "README"],
                  parts["mimic-cxr-jpg"].include, [], "mimic_iv")[:2] == [CXR_METADATA.split("/", 1)[1],
                                                                       "files/p10/p10000032/s5/x.jpg"]
    assert ECG_RECORDS.split("/", 1)[1] in select([ECG_RECORDS.split("/", 1)[1]], parts["mimic-iv-ecg"].include,
                                                 [], "mimic_iv")
