"""Fault injection on prepared stores (issue 12): every case failed on the old store and passes now.

Real BreastMNIST (../shared/data/medmnist) is prepared into each test's own CLIMB_HOME, then
tampered with the way an unlucky user or an attacker would: flipped bytes (mtime restored),
an edited card, a deleted shard, a killed build's leftovers, NaN labels, mixed image shapes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import climb
from climb.cli import app
from climb.prepare import PrepareError, StoreError, open_prepared, prepare
from climb.prepare.integrity import source_checksums

runner = CliRunner()


@pytest.fixture
def raw(shared_data: Path, tmp_path: Path) -> Path:
    """A private copy of the BreastMNIST npz (tests tamper with their raw files)."""
    out = tmp_path / "raw"
    out.mkdir()
    shutil.copy(shared_data / "medmnist" / "breastmnist.npz", out)
    return out


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Flip one byte in the middle of `path`, then put its mtime back (as `touch -r` would)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_flipped_bytes_in_a_shard_are_caught_on_load_verify_and_prepare(raw, climb_home):
    ds = prepare("breastmnist", raw=raw)
    shard = ds.root / "train-00000.arrow"
    good = shard.read_bytes()
    flip_byte(shard)
    with pytest.raises(StoreError, match=r"train-00000\.arrow: content changed"):
        climb.load("breastmnist", "train")  # training reads through load: it no longer trains on it
    result = runner.invoke(app, ["verify", "breastmnist"])
    assert result.exit_code == 1
    assert "train-00000.arrow" in result.output and "sha256" in result.output and "1 of 4 files FAILED" in result.output
    result = runner.invoke(app, ["prepare", "breastmnist", "--raw", str(raw)])
    assert result.exit_code == 0, result.output
    assert "failed verification" in result.stderr and "rebuilding" in result.stderr
    assert shard.read_bytes() == good
    assert runner.invoke(app, ["verify", "breastmnist"]).exit_code == 0


@pytest.mark.parametrize("edit", ["num_samples", "label_names"])
def test_an_edited_card_is_not_believed(raw, edit):
    ds = prepare("breastmnist", raw=raw)
    card = json.loads((ds.root / "card.json").read_text())
    if edit == "num_samples":
        card["splits"]["train"]["num_samples"] = 10
    else:
        card["label_names"] = ["normal, benign", "malignant"]
    (ds.root / "card.json").write_text(json.dumps(card, indent=2))
    with pytest.raises(StoreError, match="card.json: edited after the build"):
        climb.load("breastmnist", "train")
    result = runner.invoke(app, ["prepare", "breastmnist", "--raw", str(raw)])
    assert result.exit_code == 0 and "rebuilding" in result.stderr
    assert open_prepared("breastmnist").label_names == ["malignant", "normal, benign"]


def test_a_deleted_shard_is_one_line_and_prepare_rebuilds_it(raw):
    ds = prepare("breastmnist", raw=raw)
    (ds.root / "test-00000.arrow").unlink()
    with pytest.raises(StoreError, match=r"test-00000\.arrow: file is missing; run `climb prepare breastmnist`"):
        climb.load("breastmnist", "test")
    result = runner.invoke(app, ["export", "breastmnist", "--to", "jsonl", "--out", str(raw.parent / "vlm")])
    assert result.exit_code == 1 and "test-00000.arrow: file is missing" in result.stderr
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["prepare", "breastmnist", "--raw", str(raw)])
    assert result.exit_code == 0 and "test-00000.arrow: file is missing" in result.stderr
    assert len(climb.load("breastmnist", "test")) == 156


def test_extra_shards_are_never_read(raw):
    ds = prepare("breastmnist", raw=raw)
    shutil.copy(ds.root / "train-00000.arrow", ds.root / "train-00001.arrow")  # an extra shard doubles train?
    assert len(climb.load("breastmnist", "train").labels) == 546
    result = runner.invoke(app, ["verify", str(ds.root)])
    assert result.exit_code == 0 and "extra" in result.output


def test_stores_of_an_older_climb_are_rebuilt(raw):
    ds = prepare("breastmnist", raw=raw)
    card = json.loads((ds.root / "card.json").read_text())
    for key in ("files", "card_sha256", "store_format"):
        card.pop(key)
    (ds.root / "card.json").write_text(json.dumps(card))
    with pytest.raises(StoreError, match="no integrity record"):
        open_prepared("breastmnist")
    assert "card_sha256" in prepare("breastmnist", raw=raw).card


def test_a_killed_builds_leftovers_are_removed_by_the_next_build(raw, climb_home):
    prepared = climb_home / "prepared"
    prepared.mkdir()
    ours = [prepared / ".tmp-breastmnist-0123abcd", prepared / ".old-breastmnist-89abcdef"]
    others = [prepared / ".tmp-pneumoniamnist-0123abcd", prepared / ".tmp-breastmnist-notahash", prepared / "keep"]
    for d in ours + others:
        d.mkdir()
        (d / "train-00000.arrow").write_bytes(b"half")
    elsewhere = climb_home / "elsewhere"
    elsewhere.mkdir()
    (prepared / ".tmp-breastmnist-deadbeef").symlink_to(elsewhere)  # a link is never followed or removed
    prepare("breastmnist", raw=raw)
    assert not any(d.exists() for d in ours)
    assert all(d.exists() for d in others) and (prepared / ".tmp-breastmnist-deadbeef").is_symlink()


def test_nan_labels_in_an_npz_name_the_file_the_sample_and_the_count(raw):
    npz = dict(np.load(raw / "breastmnist.npz"))
    labels = npz["val_labels"].astype(np.float64)
    labels[[3, 10]] = np.nan
    npz["val_labels"] = labels
    np.savez(raw / "breastmnist.npz", **npz)
    with pytest.raises(PrepareError, match=r"differs from the catalog's pinned"):  # prepare() checks the pins first
        prepare("breastmnist", raw=raw)
    from unverified import build_unverified

    with pytest.raises(PrepareError, match=r"breastmnist\.npz: val_labels: 2 NaN/inf label\(s\), the first at sample val-3"):
        build_unverified("breastmnist", raw)


def test_train_images_of_another_shape_than_val_are_refused(raw, monkeypatch):
    # this test reshapes the npz on purpose: past the raw-file pins, to reach the store's shape check
    monkeypatch.setattr("climb.prepare.check_raw_files", lambda *a, **k: None)
    npz = dict(np.load(raw / "breastmnist.npz"))
    npz["val_images"] = np.zeros((len(npz["val_labels"]), 32, 32), np.uint8)
    np.savez(raw / "breastmnist.npz", **npz)
    with pytest.raises(PrepareError, match=r"field 'image': sample 'val-0' has shape \(1, 32, 32\) but "
                                           r"sample 'train-0' has \(1, 28, 28\)"):
        prepare("breastmnist", raw=raw)
    from climb.prepare.builders.medmnist import MedMNIST

    monkeypatch.setattr(MedMNIST, "variable_shape", ("image",), raising=False)  # declared variable-shape
    ds = prepare("breastmnist", raw=raw)
    assert ds.card["fields"]["image"]["shape"] is None and ds.field("val", "image")[0].shape == (1, 32, 32)


def test_the_source_hash_cache_sees_a_flipped_byte_with_the_mtime_restored(raw):
    npz = raw / "breastmnist.npz"
    before = source_checksums([npz], raw)["breastmnist.npz"]
    flip_byte(npz, offset=100)
    assert source_checksums([npz], raw)["breastmnist.npz"] != before


def test_store_writes_never_follow_a_planted_link(raw, climb_home, tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("untouched")
    prepared = climb_home / "prepared"
    prepared.mkdir()
    (prepared / ".breastmnist.hashes.json").symlink_to(victim)
    prepare("breastmnist", raw=raw)
    assert victim.read_text() == "untouched"


def test_verify_all_and_unknown_names(raw, shared_data):
    prepare("breastmnist", raw=raw)
    prepare("bonn_eeg", raw=shared_data / "bonn_eeg")
    result = runner.invoke(app, ["verify", "--all"])
    assert result.exit_code == 0, result.output
    assert "breastmnist: all 4 files intact" in result.output and "bonn_eeg: all 4 files intact" in result.output
    result = runner.invoke(app, ["verify", "no_such_dataset"])
    assert result.exit_code == 1 and "neither a prepared dataset" in result.output
    assert runner.invoke(app, ["verify"]).exit_code == 2


def test_verify_a_run_directory_rehashes_its_recorded_outputs(tmp_path):
    from climb.train.engine import record_outputs

    run = tmp_path / "runs" / "demo"
    run.mkdir(parents=True)
    result = runner.invoke(app, ["verify", str(run)])
    assert result.exit_code == 1 and "not a finished climb run" in result.output  # no run.json
    (run / "results.csv").write_text("dataset,metric,value\nx,auroc,0.9\n")
    record_outputs(run)
    result = runner.invoke(app, ["verify", str(run)])
    assert result.exit_code == 0 and "every recorded output matches" in " ".join(result.output.split())
    (run / "results.csv").write_text("dataset,metric,value\nx,auroc,0.99\n")  # tampered
    result = runner.invoke(app, ["verify", str(run)])
    assert result.exit_code == 1 and "FAILED" in result.output and "results.csv" in result.output
