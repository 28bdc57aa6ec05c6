"""Local copies are verified too: raw files against the catalog's pinned checksums (climb.prepare.raw_check)."""

from __future__ import annotations

import shutil

import pytest

from climb.prepare import create_builder, prepare
from climb.prepare.raw_check import ChecksumMismatchError, check_raw_files, pinned_checksums


def test_pinned_manifest_verifies_every_file(shared_data):
    """MIT-BIH's official SHA256SUMS.txt is pinned by the catalog: all 132 files read are verified."""
    builder = create_builder("mitdb")
    result = check_raw_files(builder, shared_data / "mitdb")
    assert (result["verified"], result["unverified"]) == (132, 0)
    assert builder.card_extras()["raw_files"] is result


def test_files_without_a_pin_are_recorded_and_said(real_proteins, capsys):
    builder = create_builder("proteins")
    result = check_raw_files(builder, real_proteins, quiet=False)
    assert result["verified"] == 0 and result["unverified_files"] == [
        "PROTEINS/PROTEINS_A.txt", "PROTEINS/PROTEINS_graph_indicator.txt", "PROTEINS/PROTEINS_graph_labels.txt",
        "PROTEINS/PROTEINS_node_attributes.txt", "PROTEINS/PROTEINS_node_labels.txt"]
    assert "5 of 5 source file(s) of proteins have no checksum pinned in the catalog" in capsys.readouterr().err


def test_unpinned_manifest_is_noted_not_trusted(shared_data, tmp_path):
    """PTB-XL's shared SHA256SUMS.txt is a trimmed copy the catalog does not pin: it verifies nothing."""
    result = check_raw_files(create_builder("ptbxl"), shared_data / "ptbxl")
    assert result["verified"] == 0 and result["unverified"] > 0
    assert result["notes"] == ["SHA256SUMS.txt: the catalog does not pin this manifest, so it verifies nothing"]


def test_the_manifest_of_a_part_is_looked_up_in_its_folder(shared_data, tmp_path):
    """mimic_iv's parts live in their folders (mimiciv/, mimic-cxr-jpg/, mimic-iv-ecg/): so do their manifests."""
    raw = tmp_path / "raw"
    (raw / "mimiciv").mkdir(parents=True)
    shutil.copy(shared_data / "real_samples/mimic_iv/mimic-iv-clinical-database-demo-2.2/SHA256SUMS.txt",
                raw / "mimiciv" / "SHA256SUMS.txt")
    pins, notes = pinned_checksums(create_builder("mimic_iv_mortality48"), raw)
    assert pins == {}  # the demo's file list is not the pinned manifest of the full release
    assert notes == ["mimiciv/SHA256SUMS.txt: the catalog does not pin this manifest, so it verifies nothing"]


def test_a_changed_pinned_file_is_refused_naming_it(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    data = bytearray((shared_data / "medmnist" / "pneumoniamnist.npz").read_bytes())
    data[-100] ^= 0xFF
    (raw / "pneumoniamnist.npz").write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match=r"raw/pneumoniamnist\.npz: sha256 [0-9a-f]{64} differs from the "
                                                    r"catalog's pinned [0-9a-f]{64} for pneumoniamnist\.npz"):
        prepare("pneumoniamnist", raw=raw)


def test_medmnist_plus_size_is_fetched_by_its_own_name_and_checksum(tmp_path):
    """`prepare adrenalmnist3d_64 --mirror` fetches adrenalmnist3d_64.npz against its published MD5
    (it looked for the 28 px adrenalmnist3d.npz before)."""
    from climb.acquire import ChecksumError

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "adrenalmnist3d_64.npz").write_bytes(b"not the published file")
    with pytest.raises(ChecksumError, match=r"adrenalmnist3d_64\.npz: checksum mismatch \(expected md5 17721acc"):
        prepare("adrenalmnist3d_64", mirror=str(mirror))


@pytest.fixture
def real_proteins(shared_data, tmp_path):
    src = shared_data / "real_samples" / "proteins"
    if not src.is_dir():
        pytest.skip("no real_samples/proteins")
    shutil.copytree(src / "PROTEINS", tmp_path / "PROTEINS")
    return tmp_path
