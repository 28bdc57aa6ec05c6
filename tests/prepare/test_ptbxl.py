"""PTB-XL builders on the real subset in ../shared/data/ptbxl (ecg_id 1-500; 500 Hz: 1-100)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from climb.prepare import LeakageError, PrepareError, prepare
from climb.prepare.labels import ECG7, PTBXL_SUPERCLASSES
from climb.prepare.labels.ecg_scp import SCP_TO_ECG7

SPLIT_OF_FOLD = {**{f: "train" for f in range(1, 9)}, 9: "val", 10: "test"}


@pytest.fixture(scope="module")
def ptbxl_raw(shared_data) -> Path:
    return shared_data / "ptbxl"


def strodthoff_superclasses(raw: Path) -> pd.DataFrame:
    """Independent reference: Strodthoff et al.'s aggregation straight from scp_statements.csv."""
    db = pd.read_csv(raw / "ptbxl_database.csv", index_col="ecg_id")
    stmts = pd.read_csv(raw / "scp_statements.csv", index_col=0)
    diag = stmts[stmts.diagnostic == 1]
    db["classes"] = db.scp_codes.map(
        lambda s: sorted({diag.loc[c, "diagnostic_class"] for c in ast.literal_eval(s) if c in diag.index}))
    db["split"] = db.strat_fold.map(SPLIT_OF_FOLD)
    return db


def leftovers(home: Path) -> list[str]:
    root = home / "prepared"
    return [p.name for p in root.iterdir() if not p.name.endswith(".lock")] if root.is_dir() else []


def make_subset(src: Path, dst: Path, ecg_ids: list[int], column: str = "filename_lr") -> pd.DataFrame:
    """A raw dir with the official layout holding only `ecg_ids` (CSV rows and record files)."""
    db = pd.read_csv(src / "ptbxl_database.csv", index_col="ecg_id").loc[ecg_ids]
    dst.mkdir(parents=True, exist_ok=True)
    db.to_csv(dst / "ptbxl_database.csv")
    shutil.copy(src / "scp_statements.csv", dst)
    for rec in db[column]:
        (dst / rec).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copy(src / f"{rec}{ext}", dst / f"{rec}{ext}")
    return db


def test_superdiagnostic_100hz_matches_official_folds(ptbxl_raw):
    ds = prepare("ptbxl", raw=ptbxl_raw)
    ref = strodthoff_superclasses(ptbxl_raw)
    usable = ref[ref.classes.map(len) > 0]
    assert ds.card["fields"]["label"]["excluded_no_label"] == len(ref) - len(usable) == 12
    assert ds.label_names == PTBXL_SUPERCLASSES
    for split in ("train", "val", "test"):
        part = usable[usable.split == split]
        info = ds.card["splits"][split]
        assert info["num_samples"] == len(part)
        assert info["num_patients"] == part.patient_id.nunique()
        assert info["class_counts"] == {c: int(part.classes.map(lambda cs: c in cs).sum())
                                        for c in PTBXL_SUPERCLASSES}
    # patients never cross splits (the official folds are patient-grouped)
    pids = {s: set(ds.field(s, "patient_id")[i] for i in range(len(ds.field(s, "patient_id"))))
            for s in ds.splits}
    assert not (pids["train"] & pids["test"]) and not (pids["train"] & pids["val"])
    # signals: 12 x 1000 float32 in mV, equal to wfdb's physical values; metadata scalars
    assert ds.card["fields"]["signal"]["shape"] == [12, 1000]
    assert ds.card["fields"]["signal"]["sampling_rate"] == 100
    assert ds.card["fields"]["signal"]["lead_names"][:3] == ["I", "II", "III"]
    ids = ds.field("test", "sample_id")
    first = int(ids[0])
    sig = ds.field("test", "signal")[0]
    assert sig.dtype == np.float32
    expected, _ = wfdb.rdsamp(str(ptbxl_raw / ref.loc[first, "filename_lr"]))
    np.testing.assert_allclose(sig, expected.T, rtol=1e-6, atol=1e-6)
    assert ds.field("test", "age")[0] == ref.loc[first, "age"]
    assert "report" not in ds.card["fields"]  # the report leaks the label: not in the default view
    heights = ds.field("train", "height").all()
    assert np.isnan(heights).any() and np.isfinite(heights).any()  # NaN = not recorded


def test_500hz_uses_the_records_present_and_counts_the_rest(ptbxl_raw):
    ds = prepare("ptbxl_500hz", raw=ptbxl_raw)
    ref = strodthoff_superclasses(ptbxl_raw)
    present = ref.filename_hr.map(lambda f: (ptbxl_raw / f"{f}.dat").is_file())
    usable = ref[(ref.classes.map(len) > 0) & present]
    skipped = int(((ref.classes.map(len) > 0) & ~present).sum())
    assert len(usable) == 95 and skipped == 393
    assert ds.card["fields"]["signal"]["skipped_missing_records"] == skipped
    assert ds.card["fields"]["signal"]["shape"] == [12, 5000]
    for split in ("train", "val", "test"):
        assert ds.card["splits"][split]["num_samples"] == int((usable.split == split).sum())


def test_climb7_is_multilabel_through_the_explicit_table(ptbxl_raw):
    stmts = pd.read_csv(ptbxl_raw / "scp_statements.csv", index_col=0)
    assert set(SCP_TO_ECG7) == set(stmts.index)  # every SCP code has an explicit entry
    ds = prepare("ptbxl_climb7", raw=ptbxl_raw, sampling_rate=500, missing_records="skip")
    assert ds.label_names == ECG7 and ds.task.value == "multilabel"
    db = pd.read_csv(ptbxl_raw / "ptbxl_database.csv", index_col="ecg_id")
    by_id = {}
    for split in ds.splits:
        labels, ids = ds.labels(split), ds.field(split, "sample_id")
        by_id.update({int(ids[i]): labels[i] for i in range(len(ids))})
    afib = [i for i in by_id if {"AFIB", "AFLT"} & set(ast.literal_eval(db.loc[i, "scp_codes"]))]
    assert len(afib) == 5  # ecg_id 17, 18, 20, 23, 34 (all in fold 9)
    for i in afib:
        assert by_id[i][ECG7.index("AFib/AFlutter")] == 1
    assert any(v.sum() > 1 for v in by_id.values())  # several positives stay several positives
    sinus_only = {int(i) for i in db.index if set(ast.literal_eval(db.loc[i, "scp_codes"])) <= {"SR", "NORM"}}
    for i in sinus_only & set(by_id):
        assert by_id[i].tolist() == [1, 0, 0, 0, 0, 0, 0]  # SR is no finding, not "Other"


def test_report_only_in_the_labelled_variant(ptbxl_raw):
    ds = prepare("ptbxl_with_report", raw=ptbxl_raw, sampling_rate=500, missing_records="skip")
    assert "leaks the label" in ds.card["fields"]["report"]["warning"]
    assert isinstance(ds.field("train", "report")[0], str) and ds.field("train", "report")[0]


def test_missing_100hz_record_names_the_file(ptbxl_raw, tmp_path, climb_home):
    raw = tmp_path / "raw"
    db = make_subset(ptbxl_raw, raw, [1, 2, 3, 4])
    (raw / f"{db.loc[3, 'filename_lr']}.dat").unlink()
    with pytest.raises(PrepareError, match=r"00003_lr\.dat: record of ecg_id 3 .* is missing"):
        prepare("ptbxl", raw=raw)
    assert leftovers(climb_home) == []
    ds = prepare("ptbxl", raw=raw, missing_records="skip")  # the documented opt-in
    assert ds.card["fields"]["signal"]["skipped_missing_records"] == 1
    assert len(ds) == 3


def test_truncated_dat_fails_clearly(ptbxl_raw, tmp_path, climb_home):
    raw = tmp_path / "raw"
    db = make_subset(ptbxl_raw, raw, [1, 2, 3])
    dat = raw / f"{db.loc[2, 'filename_lr']}.dat"
    dat.write_bytes(dat.read_bytes()[:5000])
    with pytest.raises(PrepareError, match=r"00002_lr\.dat: truncated: 5000 bytes, the header implies 24000"):
        prepare("ptbxl", raw=raw)
    assert leftovers(climb_home) == []


def test_malformed_header_fails_clearly(ptbxl_raw, tmp_path, climb_home):
    raw = tmp_path / "raw"
    db = make_subset(ptbxl_raw, raw, [1, 2, 3])
    hea = raw / f"{db.loc[1, 'filename_lr']}.hea"
    hea.write_text("00001_lr 12 one-hundred 1000\nnot a signal line\n")
    with pytest.raises(PrepareError, match=r"00001_lr\.hea: malformed WFDB header"):
        prepare("ptbxl", raw=raw)
    assert leftovers(climb_home) == []


def test_bad_scp_codes_and_missing_column_fail_clearly(ptbxl_raw, tmp_path):
    raw = tmp_path / "raw"
    db = make_subset(ptbxl_raw, raw, [1, 2])
    db.loc[2, "scp_codes"] = "{'NORM': 100.0, 'XYZ': 0.0}"
    db.to_csv(raw / "ptbxl_database.csv")
    with pytest.raises(PrepareError, match=r"ptbxl_database\.csv: 1 record\(s\) with SCP code value\(s\) outside "
                                           r"the label table: 'XYZ' \(1: ecg_id 2\); known: 1AVB"):
        prepare("ptbxl", raw=raw)
    db.drop(columns="strat_fold").to_csv(raw / "ptbxl_database.csv")
    with pytest.raises(PrepareError, match=r"missing column\(s\) \['strat_fold'\]"):
        prepare("ptbxl", raw=raw)


def test_a_patient_in_two_folds_is_caught(ptbxl_raw, tmp_path, climb_home):
    raw = tmp_path / "raw"
    db = make_subset(ptbxl_raw, raw, [1, 2, 3])
    db.loc[3, "patient_id"] = db.loc[1, "patient_id"]
    db.loc[1, "strat_fold"], db.loc[3, "strat_fold"] = 1, 10
    db.to_csv(raw / "ptbxl_database.csv")
    with pytest.raises(LeakageError, match=str(int(db.loc[1, "patient_id"]))):
        prepare("ptbxl", raw=raw)
    assert leftovers(climb_home) == []
