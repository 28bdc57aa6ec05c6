"""MIMIC-III demo mortality builder on the real tables in ../shared/data/mimic3_demo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from climb.prepare import PrepareError, prepare

SPLITS = ("train", "val", "test")
SHARED_ADMISSIONS = "ADMISSIONS.MODIFIED_missing_hadm168674.csv"
TABLES = ["PATIENTS", "ICUSTAYS", "OUTPUTEVENTS", "PRESCRIPTIONS", "INPUTEVENTS_MV", "PROCEDUREEVENTS_MV",
          "MICROBIOLOGYEVENTS"]
OUTCOME_WORDS = ("death", "disch", "expire", "icd", "drg", "discharge", "los")


def _raw(shared_data: Path) -> Path:
    root = shared_data / "mimic3_demo"
    if not root.is_dir():
        pytest.skip("mimic3_demo not present in ../shared/data")
    return root


def _column(ds, name: str) -> list:
    return [ds.field(s, name)[i] for s in ds.splits for i in range(ds.card["splits"][s]["num_samples"])]


def _admissions(raw: Path) -> pd.DataFrame:
    adm = pd.read_csv(raw / SHARED_ADMISSIONS, parse_dates=["admittime", "dischtime"])
    return adm[(adm["dischtime"] - adm["admittime"]) >= pd.Timedelta(hours=24)]


def test_counts_labels_and_grouped_split(shared_data):
    raw = _raw(shared_data)
    ds = prepare("mimic3_demo", raw=raw)
    meta = ds.card["fields"]["label"]
    kept = _admissions(raw)
    assert meta["admissions_found"] == len(pd.read_csv(raw / SHARED_ADMISSIONS)) == 128
    assert meta["admissions_kept"] == len(ds) == len(kept) == 118
    assert meta["excluded_died_under_min_hours"] == 9
    total = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ds.label_names}
    assert total == {"survived": int((kept["hospital_expire_flag"] == 0).sum()),
                     "died in hospital": int((kept["hospital_expire_flag"] == 1).sum())}
    flags = dict(zip(kept["hadm_id"].astype(str), kept["hospital_expire_flag"]))
    assert all(flags[h] == y for h, y in zip(_column(ds, "sample_id"), _column(ds, "label")))
    subjects = {s: {ds.field(s, "patient_id")[i] for i in range(ds.card["splits"][s]["num_samples"])}
                for s in SPLITS}
    assert sum(len(v) for v in subjects.values()) == kept["subject_id"].nunique()  # no subject in two splits
    owner = dict(zip(kept["hadm_id"].astype(str), kept["subject_id"].astype(str)))
    assert all(owner[h] == p for h, p in zip(_column(ds, "sample_id"), _column(ds, "patient_id")))


def test_features_are_early_only(shared_data):
    raw = _raw(shared_data)
    ds = prepare("mimic3_demo", raw=raw)
    names = ds.card["fields"]["tabular"]["feature_names"]
    assert not [n for n in names if any(w in n.lower() for w in OUTCOME_WORDS)]
    # first-24-h output events recomputed independently for every admission
    kept = _admissions(raw).set_index("hadm_id")
    out = pd.read_csv(raw / "OUTPUTEVENTS.csv", parse_dates=["charttime"])
    start = out["hadm_id"].map(kept["admittime"])
    early = out[(out["charttime"] >= start) & (out["charttime"] < start + pd.Timedelta(hours=24))]
    expected = early.groupby("hadm_id").size()
    col = names.index("output_events_24h")
    got = {int(h): t[col] for h, t in zip(_column(ds, "sample_id"), _column(ds, "tabular"))}
    assert got == {h: float(expected.get(h, 0)) for h in got}
    texts = _column(ds, "ehr_text")
    assert all("DEAD/EXPIRED" not in t and "expired" not in t.lower() for t in texts)


def _copy(raw: Path, tmp_path: Path, admissions_name: str = "ADMISSIONS.csv") -> Path:
    dst = tmp_path / "raw"
    dst.mkdir()
    shutil.copy(raw / SHARED_ADMISSIONS, dst / admissions_name)
    for t in TABLES:
        shutil.copy(raw / f"{t}.csv", dst / f"{t}.csv")
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


def test_outcome_columns_do_not_change_features(shared_data, tmp_path):
    raw = _raw(shared_data)
    base = prepare("mimic3_demo", raw=raw)
    before = list(zip(*(_column(base, f) for f in ("sample_id", "tabular", "ehr_text", "label"))))
    copy = _copy(raw, tmp_path)  # the official name ADMISSIONS.csv is accepted too
    adm = pd.read_csv(copy / "ADMISSIONS.csv")
    adm["dischtime"] = (pd.to_datetime(adm["dischtime"]) + pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d %H:%M:%S")
    adm["deathtime"] = np.nan
    adm["discharge_location"] = "HOME"
    adm["hospital_expire_flag"] = 1 - adm["hospital_expire_flag"]
    adm.to_csv(copy / "ADMISSIONS.csv", index=False)
    shifted = prepare("mimic3_demo", raw=copy, force=True, min_stay_hours=0)
    by_id = dict(zip(_column(shifted, "sample_id"), zip(_column(shifted, "tabular"), _column(shifted, "ehr_text"),
                                                        _column(shifted, "label"))))
    assert len(before) == 118 and len(by_id) == 128
    for sid, tab, text, label in before:
        np.testing.assert_array_equal(by_id[sid][0], tab)
        assert by_id[sid][1] == text and by_id[sid][2] == 1 - label


def test_missing_column_and_missing_admissions_name_the_file(shared_data, tmp_path):
    copy = _copy(_raw(shared_data), tmp_path, SHARED_ADMISSIONS)
    out = pd.read_csv(copy / "OUTPUTEVENTS.csv").drop(columns=["charttime"])
    out.to_csv(copy / "OUTPUTEVENTS.csv", index=False)
    with pytest.raises(PrepareError, match=r"OUTPUTEVENTS\.csv: missing column\(s\) \['charttime'\]"):
        prepare("mimic3_demo", raw=copy)
    (copy / SHARED_ADMISSIONS).unlink()
    with pytest.raises(PrepareError, match=r"ADMISSIONS\.csv: file not found \(accepted names"):
        prepare("mimic3_demo", raw=copy)


def test_malformed_timestamp_names_the_file(shared_data, tmp_path):
    copy = _copy(_raw(shared_data), tmp_path)
    adm = pd.read_csv(copy / "ADMISSIONS.csv")
    adm.loc[5, "admittime"] = "yesterday"
    adm.to_csv(copy / "ADMISSIONS.csv", index=False)
    with pytest.raises(PrepareError, match=r"ADMISSIONS\.csv: column 'admittime' has malformed timestamps"):
        prepare("mimic3_demo", raw=copy)
