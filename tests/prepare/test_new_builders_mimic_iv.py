"""mimic_iv_mortality48 / mimic_iv_los on a fixture written in the official layouts of MIMIC-IV (hosp/, icu/),
MIMIC-CXR-JPG and MIMIC-IV-ECG: time windows, the cohort rules and that nothing from after the prediction time
(or from discharge) reaches the inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from climb.prepare import PrepareError, prepare
from climb.prepare.builders.mimic_iv import FEATURE_NAMES, LABS

SIZE = 16
ECG_ORDER = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]  # MIMIC-IV-ECG's order

ADMISSIONS = [  # hadm_id, subject_id, admittime, dischtime, edregtime, flag
    (20000001, 10000032, "2180-05-06 10:00:00", "2180-05-10 10:00:00", "2180-05-06 06:00:00", 0),
    (20000002, 10000032, "2181-01-01 00:00:00", "2181-01-01 20:00:00", "", 1),  # ended (died) before 48 h
    (20000003, 10000100, "2180-03-01 12:00:00", "2180-03-10 00:00:00", "", 1),
    (20000004, 10000200, "2180-07-01 08:00:00", "2180-07-05 08:00:00", "", 0),  # X-ray only after 48 h
    (20000005, 10000300, "2180-09-01 08:00:00", "2180-09-04 08:00:00", "", 0),  # ECG only before the window
]
CXR = [  # dicom_id, subject_id, study_id, view, date, time
    ("d-a-pa", 10000032, 50000001, "PA", 21800506, 73000.0),  # in the ED, before admission: used
    ("d-a-lat", 10000032, 50000001, "LATERAL", 21800506, 73000.0),  # not frontal
    ("d-a-late", 10000032, 50000002, "AP", 21800508, 110000.0),  # after the prediction time (05-08 10:00)
    ("d-c-ap", 10000100, 50000003, "AP", 21800302, 80000.0),
    ("d-d-late", 10000200, 50000004, "PA", 21800704, 90000.0),
    ("d-e-pa", 10000300, 50000005, "PA", 21800901, 120000.0),
]
ECGS = [  # subject_id, study_id, ecg_time
    (10000032, 40000001, "2180-05-06 06:30:00"), (10000032, 40000002, "2180-05-09 09:00:00"),
    (10000100, 40000003, "2180-03-01 13:00:00"), (10000200, 40000004, "2180-07-01 09:00:00"),
    (10000300, 40000005, "2180-08-31 08:00:00"),
]
LAB_ROWS = [  # subject_id, itemid, charttime, storetime, valuenum
    (10000032, 50912, "2180-05-06 08:00:00", "2180-05-06 09:00:00", 1.2),  # creatinine in the ED: used
    (10000032, 50912, "2180-05-08 09:00:00", "2180-05-08 11:00:00", 9.9),  # drawn before, reported after 48 h
    (10000032, 50983, "2180-05-07 09:00:00", "2180-05-07 09:30:00", 140.0),
    (10000032, 51301, "2180-05-01 09:00:00", "2180-05-01 10:00:00", 30.0),  # before the window
    (10000100, 50813, "2180-03-01 14:00:00", "2180-03-01 14:20:00", 4.5),
    (10000100, 99999, "2180-03-01 14:00:00", "2180-03-01 14:20:00", 1.0),  # not one of the 14 labs
]


def write_csv_gz(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False, compression="gzip")


def write_ecg(folder: Path, study: int, seed: int) -> np.ndarray:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    sig = np.round(np.random.default_rng(seed).normal(0, 0.3, (5000, 12)), 3)
    wfdb.wrsamp(str(study), fs=500, units=["mV"] * 12, sig_name=ECG_ORDER, p_signal=sig, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder))
    return sig


@pytest.fixture
def mimic(tmp_path) -> tuple[Path, dict[int, np.ndarray]]:
    raw = tmp_path / "mimic_iv"
    adm_cols = ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type",
                "admit_provider_id", "admission_location", "discharge_location", "insurance", "language",
                "marital_status", "race", "edregtime", "edouttime", "hospital_expire_flag"]
    rows = []
    for hadm, subject, admit, disch, ed, flag in ADMISSIONS:
        rows.append(dict.fromkeys(adm_cols, "") | {
            "subject_id": subject, "hadm_id": hadm, "admittime": admit, "dischtime": disch,
            "deathtime": disch if flag else "", "admission_type": "EW EMER." if ed else "URGENT",
            "admission_location": "EMERGENCY ROOM" if ed else "TRANSFER FROM HOSPITAL",
            "discharge_location": "DIED" if flag else "HOME", "edregtime": ed, "edouttime": admit if ed else "",
            "hospital_expire_flag": flag})
    write_csv_gz(raw / "hosp" / "admissions.csv.gz", rows)
    write_csv_gz(raw / "hosp" / "patients.csv.gz", [
        {"subject_id": s, "gender": g, "anchor_age": a, "anchor_year": 2178, "anchor_year_group": "2014 - 2016",
         "dod": ""} for s, g, a in [(10000032, "F", 52), (10000100, "M", 70), (10000200, "M", 40), (10000300, "F", 33)]])
    write_csv_gz(raw / "hosp" / "labevents.csv.gz", [
        {"labevent_id": i, "subject_id": s, "hadm_id": "", "specimen_id": i, "itemid": item, "order_provider_id": "",
         "charttime": c, "storetime": st, "value": str(v), "valuenum": v, "valueuom": "", "ref_range_lower": "",
         "ref_range_upper": "", "flag": "", "priority": "", "comments": ""}
        for i, (s, item, c, st, v) in enumerate(LAB_ROWS)])
    write_csv_gz(raw / "icu" / "icustays.csv.gz", [
        {"subject_id": 10000100, "hadm_id": 20000003, "stay_id": 30000001, "first_careunit": "MICU",
         "last_careunit": "MICU", "intime": "2180-03-01 18:00:00", "outtime": "2180-03-03 18:00:00", "los": 2.0}])
    cxr = raw / "mimic-cxr-jpg"
    write_csv_gz(cxr / "mimic-cxr-2.0.0-metadata.csv.gz", [
        {"dicom_id": d, "subject_id": s, "study_id": st, "PerformedProcedureStepDescription": "CHEST (PA AND LAT)",
         "ViewPosition": v, "Rows": 20, "Columns": 30, "StudyDate": date, "StudyTime": time}
        for d, s, st, v, date, time in CXR])
    for k, (d, s, st, *_rest) in enumerate(CXR):
        path = cxr / "files" / f"p{str(s)[:2]}" / f"p{s}" / f"s{st}" / f"{d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((20, 30), 10 * k + 5, np.uint8)).save(path)
    ecg = raw / "mimic-iv-ecg"
    signals = {}
    records = []
    for k, (s, st, t) in enumerate(ECGS):
        rel = f"files/p{str(s)[:4]}/p{s}/s{st}/{st}"
        signals[st] = write_ecg(ecg / Path(rel).parent, st, k)
        records.append({"subject_id": s, "study_id": st, "file_name": st, "ecg_time": t, "path": rel})
    ecg.mkdir(exist_ok=True)
    pd.DataFrame(records).to_csv(ecg / "record_list.csv", index=False)
    return raw, signals


def all_rows(ds) -> dict[str, dict]:
    out = {}
    for split in ds.splits:
        cols = {c: ds.field(split, c) for c in ("sample_id", "patient_id", "label", "cxr", "ecg", "tabular", "ehr_text")}
        for i in range(len(cols["sample_id"])):
            out[cols["sample_id"][i]] = {c: v[i] for c, v in cols.items()} | {"split": split}
    return out


def test_mortality_cohort_windows_and_inputs(mimic):
    raw, signals = mimic
    ds = prepare("mimic_iv_mortality48", raw=raw, size=SIZE)
    got = all_rows(ds)
    assert set(got) == {"20000001", "20000003"}
    assert {k: int(v["label"]) for k, v in got.items()} == {"20000001": 0, "20000003": 1}
    report = ds.card["label_mapping"]["admission"]
    assert report["excluded_by_table"] == {"ended (died) before the prediction time": 1,
                                           "without a frontal chest X-ray in the window": 1,
                                           "with a chest X-ray but without an ECG in the window": 1}
    assert (report["records_seen"], report["records_kept"]) == (5, 2)
    a, c = got["20000001"], got["20000003"]
    # X-ray: the frontal image taken in the ED (k = 0 -> grey level 5), not the lateral nor the one after 48 h
    assert a["cxr"].shape == (1, SIZE, SIZE) and set(np.unique(a["cxr"])) <= {0, 5}
    assert 5 in np.unique(a["cxr"]) and 35 in np.unique(c["cxr"])
    # ECG: the one recorded in the ED, leads reordered to I, II, III, aVR, aVL, aVF, ...
    source = signals[40000001]
    np.testing.assert_allclose(a["ecg"][4], source[:, ECG_ORDER.index("aVL")], atol=1e-3)
    np.testing.assert_allclose(a["ecg"][5], source[:, ECG_ORDER.index("aVF")], atol=1e-3)
    features = dict(zip(FEATURE_NAMES, a["tabular"]))
    assert features["last_creatinine"] == pytest.approx(1.2)  # 9.9 was reported after the prediction time
    assert features["last_sodium"] == pytest.approx(140.0)
    assert np.isnan(features["last_wbc"])  # drawn before the window
    assert features["labs_in_window"] == 2
    assert features["ed_hours_before_admission"] == pytest.approx(4.0)
    assert features["age"] == pytest.approx(54.0) and features["sex_male"] == 0
    assert features["admission_type=EW EMER."] == 1 and features["icu_in_window"] == 0
    features_c = dict(zip(FEATURE_NAMES, c["tabular"]))
    assert features_c["icu_in_window"] == 1 and features_c["hours_to_icu"] == pytest.approx(6.0)
    assert features_c["last_lactate"] == pytest.approx(4.5)
    assert "creatinine 1.2" in a["ehr_text"] and "9.9" not in a["ehr_text"]
    for leak in ("died", "HOME", "discharge", "2180-05-10"):
        assert leak.lower() not in (a["ehr_text"] + c["ehr_text"]).lower()
    assert not [n for n in FEATURE_NAMES if any(w in n for w in ("disch", "death", "expire", "icd", "drg"))]
    assert ds.card["fields"]["ecg"]["shape"] == [12, 5000] and ds.card["task"] == "binary"


def test_length_of_stay_and_subject_grouping(mimic):
    raw, _ = mimic
    ds = prepare("mimic_iv_los", raw=raw, size=SIZE)
    got = all_rows(ds)
    assert ds.card["task"] == "regression"
    assert got["20000001"]["label"] == pytest.approx(4.0)
    assert got["20000003"]["label"] == pytest.approx(8.5)
    assert {v["patient_id"] for v in got.values()} == {"10000032", "10000100"}


def test_missing_table_and_ecg_nan_policy(mimic):
    raw, _ = mimic
    import wfdb

    rec = wfdb.rdrecord(str(raw / "mimic-iv-ecg/files/p1000/p10000100/s40000003/40000003"))
    sig = rec.p_signal.copy()
    sig[100:200, 2] = np.nan
    wfdb.wrsamp("40000003", fs=500, units=["mV"] * 12, sig_name=ECG_ORDER, p_signal=sig, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12,
                write_dir=str(raw / "mimic-iv-ecg/files/p1000/p10000100/s40000003"))
    with pytest.raises(PrepareError, match=r"40000003\.dat: ECG has missing \(NaN\) samples; pass ecg_nan=zero"):
        prepare("mimic_iv_mortality48", raw=raw, size=SIZE)
    ds = prepare("mimic_iv_mortality48", raw=raw, size=SIZE, ecg_nan="zero")
    assert ds.card["fields"]["ecg"]["ecgs_with_nan_set_to_0"] == 1
    (raw / "icu" / "icustays.csv.gz").unlink()
    with pytest.raises(PrepareError, match=r"icu/icustays\.csv\.gz: source file is missing|icustays.csv.gz: file not"):
        prepare("mimic_iv_mortality48", raw=raw, size=SIZE, force=True)
