"""Parallel preparation on real data: the same store, byte for byte, for any number of workers and on Dask."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from climb.prepare import PrepareError, PreparedDataset, prepare
from climb.prepare.parallel import chunk_size

# (builder, folder of ../shared/data): a 12-lead ECG set read record by record, an npz image set
REAL = [("ptbxl", "ptbxl"), ("breastmnist", "medmnist")]
VOLATILE = ("created", "card_sha256")  # when it was built, and the seal over it


def snapshot(ds: PreparedDataset) -> dict[str, object]:
    """Everything a store is: its card (less when it was built) and the sha256 of every file."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ds.root.iterdir())
             if p.name != "card.json"}
    card = {k: v for k, v in ds.card.items() if k not in VOLATILE}
    return {"card": card, "files": files}


@pytest.mark.parametrize("name, folder", REAL)
def test_same_bytes_for_one_and_two_workers_and_a_serial_build(shared_data, monkeypatch, name, folder):
    raw = shared_data / folder
    one = snapshot(prepare(name, raw=raw, workers=1))
    two = snapshot(prepare(name, raw=raw, workers=2, force=True))
    assert two == one
    assert len(one["files"]) == 3 and one["card"]["fingerprint"]
    # a builder without records (its samples from `generate`, 256 per batch, in one process): same bytes
    cls = type(_builder(name))
    records = cls.parallel_records

    def generate(self, raw):
        for record in records(self, raw):
            yield from self.record_samples(raw, record)

    monkeypatch.setattr(cls, "generate", generate)
    monkeypatch.setattr(cls, "parallel_records", lambda self, raw: None)
    serial = snapshot(prepare(name, raw=raw, force=True))
    assert serial == one


def _builder(name: str):
    from climb.prepare import create_builder

    return create_builder(name)


def test_same_bytes_on_a_local_two_worker_dask_cluster(shared_data):
    distributed = pytest.importorskip(
        "distributed", reason="the distributed extra is not installed: pip install 'climb-bench[distributed]'")
    raw = shared_data / "ptbxl"
    local = snapshot(prepare("ptbxl", raw=raw, workers=2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = snapshot(prepare("ptbxl", raw=raw, cluster=client, force=True))
            assert sum(client.nthreads().values()) == 2
    assert on_dask == local


def test_an_error_in_a_worker_is_the_serial_error(shared_data, tmp_path, monkeypatch):
    # raw-file verification would refuse the modified npz before any worker runs; this test is about workers
    monkeypatch.setattr("climb.prepare.check_raw_files", lambda *a, **k: None)
    raw = tmp_path / "raw"
    raw.mkdir()
    npz = dict(np.load(shared_data / "medmnist" / "breastmnist.npz"))
    npz["val_images"] = npz["val_images"][:-1]
    np.savez(raw / "breastmnist.npz", **npz)
    messages = []
    for workers in (1, 2):
        with pytest.raises(PrepareError) as err:
            prepare("breastmnist", raw=raw, workers=workers, force=True)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "val: 77 images but 78 labels" in messages[0]


def test_prepare_error_survives_pickling():
    err = pickle.loads(pickle.dumps(PrepareError(Path("/x/a.dat"), "truncated")))
    assert isinstance(err, PrepareError) and str(err) == "/x/a.dat: truncated" and err.problem == "truncated"


def test_builders_without_records_still_prepare_with_workers(shared_data):
    ds = prepare("bonn_eeg", raw=shared_data / "bonn_eeg", workers=2)
    assert ds.card["splits"]["train"]["num_samples"] == 350


def test_chunks_are_many_per_worker_and_bounded():
    assert chunk_size(500, 2) == 32 and chunk_size(377_000, 64) == 256 and chunk_size(3, 8) == 1


def test_workers_must_be_positive(shared_data):
    from climb.errors import ClimbUsageError

    with pytest.raises(ClimbUsageError, match="workers must be >= 1"):
        prepare("breastmnist", raw=shared_data / "medmnist", workers=0)

