"""ABIDE builder on the real ROI time series and phenotype file in ../shared/data/abide."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import loadmat, savemat

from climb.prepare import PrepareError, prepare

SPLITS = ("train", "val", "test")
PHENO = "Phenotypic_V1_0b_preprocessed1.csv"
FORBIDDEN = ("DSM_IV_TR", "ADI_R", "ADOS", "SRS_", "SCQ_TOTAL", "AQ_TOTAL")


def _raw(shared_data: Path) -> Path:
    root = shared_data / "abide"
    if not root.is_dir():
        pytest.skip("abide not present in ../shared/data")
    return root


def _column(ds, name: str) -> dict[str, list]:
    return {s: [ds.field(s, name)[i] for i in range(ds.card["splits"][s]["num_samples"])] for s in ds.splits}


def test_abide_counts_labels_features_and_graphs(shared_data):
    raw = _raw(shared_data)
    ds = prepare("abide", raw=raw)
    subjects = sorted(int(p.stem) for p in (raw / "Functional").glob("*.mat"))
    pheno = pd.read_csv(raw / PHENO).set_index("SUB_ID").loc[subjects]
    autism = int((pheno["DX_GROUP"] == 1).sum())  # 1 = autism in both the official and the recoded file
    assert len(ds) == len(subjects) == 100
    total = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ("control", "autism")}
    assert total == {"control": len(subjects) - autism, "autism": autism}
    names = ds.card["fields"]["tabular"]["feature_names"]
    assert not [n for n in names if n.upper().startswith(FORBIDDEN)]
    assert "age" in names and "fiq" in names and "site=PITT" in names
    # labels and phenotype features match the raw file, subject by subject
    ids, labels, tabular = (_column(ds, f) for f in ("sample_id", "label", "tabular"))
    for s in SPLITS:
        for sid, lab, tab in zip(ids[s], labels[s], tabular[s]):
            row = pheno.loc[int(sid)]
            assert lab == int(row["DX_GROUP"] == 1)
            assert tab[names.index("age")] == np.float32(row["AGE_AT_SCAN"])
            assert tab[names.index(f"site={row['SITE_ID']}")] == 1 and np.nansum(tab[9:]) == 1
            fiq = tab[names.index("fiq")]
            assert np.isnan(fiq) if row["FIQ"] == -9999 else fiq == np.float32(row["FIQ"])
    # every site in train and test; no subject in two splits
    sites = {s: {pheno.loc[int(i), "SITE_ID"] for i in ids[s]} for s in SPLITS}
    assert sites["train"] == sites["test"] == {"PITT", "OLIN", "OHSU"}
    assert not (set(ids["train"]) & set(ids["test"]) or set(ids["train"]) & set(ids["val"]))
    # correlation graph of one subject recomputed independently
    sid = ids["test"][0]
    signals = loadmat(raw / "Functional" / f"{sid}.mat")["ROISignals"]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.nan_to_num(np.corrcoef(signals.T))
    np.testing.assert_allclose(ds.field("test", "node_features")[0], expected, atol=1e-5)
    edges, weights = ds.field("test", "edge_index")[0], ds.field("test", "edge_weight")[0]
    pairs = set(map(tuple, edges.T.tolist()))
    assert all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    np.testing.assert_allclose(weights, np.abs(expected[edges[0], edges[1]]), atol=1e-5)
    constant = sum(int((loadmat(p)["ROISignals"].std(0) == 0).sum()) for p in (raw / "Functional").glob("*.mat"))
    assert ds.card["fields"]["node_features"]["constant_roi_signals"] == constant > 0


def test_threshold_param(shared_data, tmp_path):
    raw = _small_copy(_raw(shared_data), tmp_path)
    ds = prepare("abide", raw=raw, threshold=0.6)
    weights = np.concatenate([w for s in ds.splits for w in _column(ds, "edge_weight")[s]])
    assert weights.min() > 0.6 and ds.card["params"]["threshold"] == 0.6


def _small_copy(raw: Path, tmp_path: Path, n: int = 12) -> Path:
    dst = tmp_path / "raw"
    (dst / "Functional").mkdir(parents=True)
    shutil.copy(raw / PHENO, dst / PHENO)
    for mat in sorted((raw / "Functional").glob("*.mat"))[:n]:
        shutil.copy(mat, dst / "Functional" / mat.name)
    return dst


def test_mat_without_roisignals_names_the_file(shared_data, tmp_path):
    raw = _small_copy(_raw(shared_data), tmp_path)
    bad = sorted((raw / "Functional").glob("*.mat"))[3]
    signals = loadmat(bad)["ROISignals"]
    bad.chmod(0o644)
    savemat(bad, {"signals": signals})
    with pytest.raises(PrepareError, match=rf"{bad.name}: missing key 'ROISignals'"):
        prepare("abide", raw=raw)


def test_missing_phenotype_column_and_unknown_subject(shared_data, tmp_path):
    raw = _small_copy(_raw(shared_data), tmp_path)
    pheno = pd.read_csv(raw / PHENO)
    (raw / PHENO).chmod(0o644)
    pheno.drop(columns=["SITE_ID"]).to_csv(raw / PHENO, index=False)
    with pytest.raises(PrepareError, match=r"Phenotypic_V1_0b_preprocessed1\.csv: missing column\(s\) \['SITE_ID'\]"):
        prepare("abide", raw=raw)
    first = sorted((raw / "Functional").glob("*.mat"))[0]
    pheno[pheno["SUB_ID"] != int(first.stem)].to_csv(raw / PHENO, index=False)
    with pytest.raises(PrepareError, match=rf"{first.name}: no row with SUB_ID {first.stem}"):
        prepare("abide", raw=raw)
