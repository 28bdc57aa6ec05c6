"""MIMIC-IV + MIMIC-CXR-JPG + MIMIC-IV-ECG: the CLIMB fusion dataset (EHR + chest X-ray + ECG per admission).

Raw layout: the three PhysioNet projects in the folders ``climb download mimic_iv`` fetches
them to (the entry's three parts, each verified against its own ``SHA256SUMS.txt``):
MIMIC-IV in ``mimiciv/`` (a copy with ``hosp/`` at the raw root is read too), the two linked
projects in ``mimic-cxr-jpg/`` and ``mimic-iv-ecg/``::

    hosp/admissions.csv.gz   subject_id, hadm_id, admittime, dischtime, deathtime, admission_type,
                             admit_provider_id, admission_location, discharge_location, insurance, language,
                             marital_status, race, edregtime, edouttime, hospital_expire_flag
    hosp/patients.csv.gz     subject_id, gender, anchor_age, anchor_year, anchor_year_group, dod
    hosp/labevents.csv.gz    labevent_id, subject_id, hadm_id, specimen_id, itemid, order_provider_id,
                             charttime, storetime, value, valuenum, valueuom, ...
    icu/icustays.csv.gz      subject_id, hadm_id, stay_id, first_careunit, last_careunit, intime, outtime, los
    mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz   dicom_id, subject_id, study_id, ..., ViewPosition, ...,
                                                    StudyDate (YYYYMMDD), StudyTime (HHMMSS.fff)
    mimic-cxr-jpg/files/p<first 2 digits>/p<subject_id>/s<study_id>/<dicom_id>.jpg
    mimic-iv-ecg/record_list.csv    subject_id, study_id, file_name, ecg_time, path
    mimic-iv-ecg/<path>.hea / .dat  10 s, 12-lead WFDB records (files/p<first 4>/p<subject>/s<study>/<study>)

Sources of the layout: the MIMIC-IV table definitions in MIT-LCP/mimic-code
(``mimic-iv/buildmimic/postgres/create.sql``); the official file list of the MIMIC-IV demo
(``real_samples/mimic_iv/.../SHA256SUMS.txt``: ``hosp/admissions.csv.gz`` ...); the
MIMIC-CXR-JPG metadata columns from mimic-code's ``create-mimic-cxr-jpg-metadata.ipynb``
(DICOM StudyDate / StudyTime / ViewPosition keyed by dicom_id) and the image path from
CLIMB's loader; ``record_list.csv`` columns from public MIMIC-IV-ECG loaders. Lab item
ids are mimic-code's (``concepts/measurement/chemistry.sql``, ``complete_blood_count.sql``,
``bg.sql``). All three projects share subject_id and MIMIC-IV's shifted time line.

Samples: one per hospital admission (hadm_id) of the cohort below. Prediction time =
``admittime + hours`` (48 h). The observation window opens at the emergency-department
registration when the admission came through the ED (``edregtime``), else at
``admittime``, and closes at the prediction time. Every input is taken from inside the
window only:

* ``cxr``: the latest frontal (ViewPosition PA, else AP) chest X-ray of the window,
  (1, size, size);
* ``ecg``: the latest ECG of the window, 12 leads (I, II, III, aVR, aVL, aVF, V1-V6, reordered
  by name from the header), resampled to ``ecg_rate`` Hz, 10 s;
* ``tabular`` / ``ehr_text``: age at admission, sex, admission type and location, hours in
  the ED before admission, ICU admission inside the window and its delay, and the last
  value of 14 common labs whose result was *stored* before the prediction time (a result
  drawn earlier but reported later was not known yet), as numbers and as English text.

Never used as inputs: dischtime, deathtime, discharge_location, hospital_expire_flag,
dod, diagnoses / procedures / DRG codes (assigned at discharge), notes. Cohort, each
exclusion counted in the card (``label_mapping``): admissions that ended (discharge or death) before the
prediction time (their outcome is known at prediction time), and admissions without a
frontal chest X-ray or without an ECG in the window (the CLIMB fusion setting needs all
three modalities; CLIMB reports 207,769 such admissions).

Tasks (two registered views of the entry): ``mimic_iv_mortality48`` -- in-hospital death
after the first 48 h (``hospital_expire_flag``; survived / died); ``mimic_iv_los`` --
length of stay in days (dischtime - admittime). An ECG with missing (NaN) samples is an
error unless ``ecg_nan=zero`` fills them with 0 (counted). Split: seeded 70/10/20 grouped
by subject_id (never by admission: CLIMB's original split leaked patients), stratified by
in-hospital death.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.ecg_challenge import LEADS12, fit_length, resample
from climb.prepare.builders.images_2d import load_image
from climb.prepare.builders.mitdb import read_header
from climb.prepare.labels.mapping import LabelMapper

TABLES = {
    "admissions": ("hosp/admissions.csv.gz",
                   ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type",
                    "admission_location", "edregtime", "hospital_expire_flag"]),
    "patients": ("hosp/patients.csv.gz", ["subject_id", "gender", "anchor_age", "anchor_year"]),
    "labevents": ("hosp/labevents.csv.gz", ["subject_id", "itemid", "charttime", "storetime", "valuenum"]),
    "icustays": ("icu/icustays.csv.gz", ["hadm_id", "intime"]),
}
CXR_METADATA = "mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz"
ECG_RECORDS = "mimic-iv-ecg/record_list.csv"
FRONTAL = ("PA", "AP")
ADMISSION_TYPES = ["AMBULATORY OBSERVATION", "DIRECT EMER.", "DIRECT OBSERVATION", "ELECTIVE", "EU OBSERVATION",
                   "EW EMER.", "OBSERVATION ADMIT", "SURGICAL SAME DAY ADMISSION", "URGENT"]
ADMISSION_LOCATIONS = ["EMERGENCY ROOM", "PHYSICIAN REFERRAL", "TRANSFER FROM HOSPITAL", "WALK-IN/SELF REFERRAL",
                       "CLINIC REFERRAL", "PROCEDURE SITE", "TRANSFER FROM SKILLED NURSING FACILITY", "PACU",
                       "INFORMATION NOT AVAILABLE", "INTERNAL TRANSFER TO OR FROM PSYCH",
                       "AMBULATORY SURGERY TRANSFER"]
LABS = {50912: "creatinine", 51006: "bun", 50983: "sodium", 50971: "potassium", 50902: "chloride",
        50882: "bicarbonate", 50868: "aniongap", 50931: "glucose", 50893: "calcium", 51222: "hemoglobin",
        51221: "hematocrit", 51301: "wbc", 51265: "platelet", 50813: "lactate"}
FEATURE_NAMES = (["age", "sex_male"] + [f"admission_type={t}" for t in ADMISSION_TYPES]
                 + [f"admission_location={loc}" for loc in ADMISSION_LOCATIONS]
                 + ["ed_hours_before_admission", "icu_in_window", "hours_to_icu", "labs_in_window"]
                 + [f"last_{name}" for name in LABS.values()])
OUTCOME = {0: "survived", 1: "died"}  # hospital_expire_flag -> class of the mortality48 view
ECG_SECONDS = 10.0
CHUNK = 1_000_000


def _read(path: Path, columns: list[str], dates: list[str] = (), **kwargs: Any) -> pd.DataFrame:
    """Read the `columns` of a (gzipped) CSV, checking they exist and parsing `dates`."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        header = pd.read_csv(path, nrows=0).columns
    except Exception as e:  # pandas raises several types for broken files
        raise PrepareError(path, f"unreadable CSV ({type(e).__name__}: {e})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise PrepareError(path, f"missing column(s) {missing}; present: {list(header)}")
    try:
        frame = pd.read_csv(path, usecols=columns, **kwargs)
        if isinstance(frame, pd.DataFrame):
            return _dates(frame, dates, path)
        return frame  # a chunk iterator (labevents)
    except Exception as e:
        raise PrepareError(path, f"unreadable CSV ({type(e).__name__}: {e})") from None


def _dates(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    for col in columns:
        try:
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d %H:%M:%S")
        except (ValueError, TypeError) as e:
            raise PrepareError(path, f"column {col!r} has malformed timestamps ({e})") from None
    return frame


def study_datetime(date: pd.Series, time: pd.Series) -> pd.Series:
    """DICOM StudyDate (YYYYMMDD) + StudyTime (HHMMSS[.fff], read as a number) -> timestamps."""
    seconds = pd.to_numeric(time, errors="coerce")
    whole = seconds.fillna(0).astype(np.int64)
    hh, mm, ss = whole // 10000, whole // 100 % 100, whole % 100
    day = pd.to_datetime(date.astype("Int64").astype(str), format="%Y%m%d", errors="coerce")
    return day + pd.to_timedelta(hh * 3600 + mm * 60 + ss, unit="s") + pd.to_timedelta(seconds - whole, unit="s")


class MIMICIV(Builder):
    """Admissions with a chest X-ray, an ECG and EHR data from before the prediction time."""

    version = "1.0.0"
    catalog_id = "mimic_iv"
    fields = {"cxr": "image", "ecg": "signal", "tabular": "tabular", "ehr_text": "text"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("seeded 70/10/20 split grouped by subject_id (never by admission), stratified by in-hospital "
                    "death")
    default_params: dict[str, Any] = {"target": "mortality", "hours": 48, "size": 224, "ecg_rate": 500,
                                      "ecg_nan": "error"}
    TARGETS = {"mortality": "mortality48", "los": "los"}  # target -> the catalog view it produces

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["target"] not in self.TARGETS:
            raise ValueError(f"target must be one of {list(self.TARGETS)}, not {self.params['target']!r}")
        if self.params["ecg_nan"] not in ("error", "zero"):
            raise ValueError(f"ecg_nan must be 'error' or 'zero', not {self.params['ecg_nan']!r}")
        self.view = self.TARGETS[self.params["target"]]  # task and labels: the catalog entry's view
        self.ecg_nan_filled = 0  # ECGs whose NaN samples ecg_nan=zero set to 0 (recorded in the card)
        self.unlisted_categories: Counter[str] = Counter()  # "column=value" outside the one-hot lists

    # ------------------------------------------------------------ files

    @staticmethod
    def _ehr_root(raw: Path) -> Path:
        return raw / "mimiciv" if (raw / "mimiciv" / "hosp").is_dir() else raw

    def source_files(self, raw: Path) -> list[Path]:
        root = self._ehr_root(raw)
        return [root / rel for rel, _ in TABLES.values()] + [raw / CXR_METADATA, raw / ECG_RECORDS]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        hours = self.params["hours"]
        return {"cxr": {"channels": 1, "size": int(self.params["size"]), "choice": "latest frontal (PA, else AP) "
                        "image in the window"},
                "ecg": {"sampling_rate": int(self.params["ecg_rate"]), "lead_names": LEADS12, "units": "mV",
                        "seconds": ECG_SECONDS, "choice": "latest ECG in the window",
                        "ecgs_with_nan_set_to_0": self.ecg_nan_filled},
                "tabular": {"feature_names": FEATURE_NAMES, "missing": "NaN",
                            "values_outside_the_one_hot_lists": dict(self.unlisted_categories)},
                "ehr_text": {"content": "the tabular information as English text"},
                "label": {"definition": ("hospital_expire_flag (death after the first 48 h)"
                                         if self.params["target"] == "mortality"
                                         else "(dischtime - admittime) in days"),
                          "prediction_time": f"admittime + {hours} h",
                          "window": f"[edregtime or admittime, admittime + {hours} h)"}}

    # ------------------------------------------------------------ cohort and inputs

    def _cohort(self, raw: Path, mapper: LabelMapper) -> pd.DataFrame:
        root = self._ehr_root(raw)
        path = root / TABLES["admissions"][0]
        adm = _read(path, TABLES["admissions"][1], ["admittime", "dischtime", "deathtime", "edregtime"])
        if not adm["hadm_id"].is_unique:
            raise PrepareError(path, "hadm_id is not unique")
        flags = set(adm["hospital_expire_flag"].dropna().unique().tolist())
        if adm["hospital_expire_flag"].isna().any() or not flags <= {0, 1}:
            raise PrepareError(path, f"hospital_expire_flag must be 0/1, found {sorted(flags)} (or empty cells)")
        if adm["dischtime"].isna().any():
            raise PrepareError(path, f"{int(adm['dischtime'].isna().sum())} admission(s) without dischtime")
        hours = pd.Timedelta(hours=float(self.params["hours"]))
        adm["prediction_time"] = adm["admittime"] + hours
        ended = adm["dischtime"] <= adm["prediction_time"]
        for hadm, died in zip(adm.loc[ended, "hadm_id"], adm.loc[ended, "hospital_expire_flag"]):
            mapper.exclude(f"ended ({'died' if died else 'discharged'}) before the prediction time", f"hadm_id {hadm}")
        adm = adm[~ended].copy()
        ed = adm["edregtime"].notna() & (adm["edregtime"] < adm["admittime"])
        adm["window_start"] = adm["admittime"].where(~ed, adm["edregtime"])
        pats_path = root / TABLES["patients"][0]
        pats = _read(pats_path, TABLES["patients"][1]).set_index("subject_id")
        absent = sorted(set(adm["subject_id"]) - set(pats.index))
        if absent:
            raise PrepareError(pats_path, f"{len(absent)} admitted subject(s) missing, e.g. {absent[:3]}")
        return adm.join(pats, on="subject_id").sort_values("hadm_id").set_index("hadm_id")

    def _in_window(self, events: pd.DataFrame, time: str, adm: pd.DataFrame) -> pd.DataFrame:
        """Rows of `events` (with subject_id, `time`) inside an admission's window, tagged with hadm_id."""
        windows = adm.reset_index()[["hadm_id", "subject_id", "window_start", "prediction_time"]]
        joined = events.merge(windows, on="subject_id")
        return joined[(joined[time] >= joined["window_start"]) & (joined[time] < joined["prediction_time"])]

    def _latest_cxr(self, raw: Path, adm: pd.DataFrame) -> pd.DataFrame:
        path = raw / CXR_METADATA
        meta = _read(path, ["dicom_id", "subject_id", "study_id", "ViewPosition", "StudyDate", "StudyTime"])
        meta = meta[meta["ViewPosition"].isin(FRONTAL) & meta["subject_id"].isin(adm["subject_id"])].copy()
        meta["time"] = study_datetime(meta["StudyDate"], meta["StudyTime"])
        if meta["time"].isna().any():
            raise PrepareError(path, f"{int(meta['time'].isna().sum())} frontal image(s) without a valid StudyDate")
        hits = self._in_window(meta, "time", adm)
        hits = hits.assign(pa=hits["ViewPosition"] == "PA").sort_values(["hadm_id", "time", "pa", "dicom_id"])
        return hits.groupby("hadm_id").tail(1).set_index("hadm_id")

    def _latest_ecg(self, raw: Path, adm: pd.DataFrame) -> pd.DataFrame:
        path = raw / ECG_RECORDS
        records = _read(path, ["subject_id", "study_id", "ecg_time", "path"], ["ecg_time"])
        hits = self._in_window(records[records["subject_id"].isin(adm["subject_id"])], "ecg_time", adm)
        return hits.sort_values(["hadm_id", "ecg_time", "study_id"]).groupby("hadm_id").tail(1).set_index("hadm_id")

    def _labs(self, raw: Path, adm: pd.DataFrame) -> pd.DataFrame:
        """Per admission: the last stored value of each lab of `LABS` and the number of results, in the window."""
        path = self._ehr_root(raw) / TABLES["labevents"][0]
        subjects = set(adm["subject_id"])
        parts = []
        for chunk in _read(path, TABLES["labevents"][1], chunksize=CHUNK):
            chunk = chunk[chunk["itemid"].isin(LABS.keys()) & chunk["subject_id"].isin(subjects)
                          & chunk["valuenum"].notna()]
            if len(chunk):
                chunk = _dates(chunk.copy(), ["charttime", "storetime"], path)
                parts.append(self._in_window(chunk, "charttime", adm))
        cols = ["labs_in_window", *(f"last_{n}" for n in LABS.values())]
        if not parts:
            return pd.DataFrame(columns=cols, dtype=float)
        labs = pd.concat(parts)
        labs = labs[labs["storetime"].notna() & (labs["storetime"] < labs["prediction_time"])]
        last = labs.sort_values(["hadm_id", "itemid", "charttime"]).groupby(["hadm_id", "itemid"])["valuenum"].last()
        wide = last.unstack("itemid").reindex(columns=list(LABS)).rename(columns=lambda i: f"last_{LABS[i]}")
        wide["labs_in_window"] = labs.groupby("hadm_id").size()
        return wide[cols]

    def _first_icu(self, raw: Path, adm: pd.DataFrame) -> pd.Series:
        path = self._ehr_root(raw) / TABLES["icustays"][0]
        icu = _read(path, TABLES["icustays"][1], ["intime"])
        icu = icu[icu["hadm_id"].isin(adm.index)]
        icu = icu[icu["intime"] < icu["hadm_id"].map(adm["prediction_time"])]
        return icu.groupby("hadm_id")["intime"].min()

    def _plan(self, raw: Path) -> pd.DataFrame:
        mortality = self.params["target"] == "mortality"
        mapper = self.label_mapper(OUTCOME if mortality else None, what="admission",
                                   source=self._ehr_root(raw) / TABLES["admissions"][0])
        adm = self._cohort(raw, mapper)
        cxr = self._latest_cxr(raw, adm)
        ecg = self._latest_ecg(raw, adm)
        no_cxr = ~adm.index.isin(cxr.index)
        no_ecg = ~adm.index.isin(ecg.index)
        for hadm in adm.index[no_cxr]:
            mapper.exclude("without a frontal chest X-ray in the window", f"hadm_id {hadm}")
        for hadm in adm.index[~no_cxr & no_ecg]:
            mapper.exclude("with a chest X-ray but without an ECG in the window", f"hadm_id {hadm}")
        adm = adm[~no_cxr & ~no_ecg]
        los = (adm["dischtime"] - adm["admittime"]).dt.total_seconds() / 86400
        adm = adm.assign(label=[mapper.one(flag, f"hadm_id {h}") if mortality else mapper.number(days, f"hadm_id {h}")
                                for h, flag, days in zip(adm.index, adm["hospital_expire_flag"], los)])
        mapper.finish()
        if adm.empty:
            raise PrepareError(raw, "no admission has a frontal chest X-ray and an ECG before the prediction time")
        adm = adm.join(cxr[["dicom_id", "study_id"]].rename(columns={"study_id": "cxr_study"}))
        adm = adm.join(ecg[["path"]].rename(columns={"path": "ecg_path"}))
        adm = adm.join(self._labs(raw, adm)).join(self._first_icu(raw, adm).rename("icu_intime"))
        return adm

    # ------------------------------------------------------------ samples

    def _cxr_file(self, raw: Path, row: pd.Series) -> Path:
        subject = str(int(row["subject_id"]))
        return (raw / "mimic-cxr-jpg" / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{int(row['cxr_study'])}"
                / f"{row['dicom_id']}.jpg")

    def _ecg(self, raw: Path, rel: str) -> np.ndarray:
        import wfdb

        record = raw / "mimic-iv-ecg" / rel.removesuffix(".hea")
        header = read_header(record)
        try:
            rec = wfdb.rdrecord(str(record))
        except Exception as e:  # wfdb raises many types for broken records
            raise PrepareError(record.with_suffix(".dat"),
                               f"unreadable WFDB signal ({type(e).__name__}: {e})") from None
        index = {n.lower(): i for i, n in enumerate(rec.sig_name)}
        missing = [lead for lead in LEADS12 if lead.lower() not in index]
        if missing or rec.p_signal is None:
            raise PrepareError(record.with_suffix(".hea"), f"missing lead(s) {missing}; header has {rec.sig_name}")
        sig = rec.p_signal.T[[index[lead.lower()] for lead in LEADS12]]
        if not np.isfinite(sig).all():
            if self.params["ecg_nan"] == "error":
                raise PrepareError(record.with_suffix(".dat"), "ECG has missing (NaN) samples; pass ecg_nan=zero to "
                                                               "fill them with 0 (counted in the card)")
            self.ecg_nan_filled += 1
            sig = np.nan_to_num(sig, nan=0.0)
        rate = int(self.params["ecg_rate"])
        return fit_length(resample(sig, float(header.fs), rate), int(round(rate * ECG_SECONDS))).astype(np.float32)

    def features(self, row: pd.Series) -> dict[str, float]:
        age = float(row["anchor_age"]) + (row["admittime"].year - float(row["anchor_year"]))
        info: dict[str, float] = {"age": age, "sex_male": float(row["gender"] == "M")}
        for name, values in (("admission_type", ADMISSION_TYPES), ("admission_location", ADMISSION_LOCATIONS)):
            if row[name] not in values:
                self.unlisted_categories[f"{name}={row[name]}"] += 1  # all-zero one-hot
            info.update({f"{name}={v}": float(row[name] == v) for v in values})
        ed = row["admittime"] - row["window_start"]
        info["ed_hours_before_admission"] = ed.total_seconds() / 3600 if ed.total_seconds() > 0 else float("nan")
        icu = row["icu_intime"]
        info["icu_in_window"] = float(pd.notna(icu))
        info["hours_to_icu"] = (max((icu - row["admittime"]).total_seconds() / 3600, 0.0)
                                if pd.notna(icu) else float("nan"))
        info["labs_in_window"] = float(row["labs_in_window"]) if pd.notna(row["labs_in_window"]) else 0.0
        for name in LABS.values():
            info[f"last_{name}"] = float(row[f"last_{name}"]) if pd.notna(row[f"last_{name}"]) else float("nan")
        return info

    def stratum(self, sample: dict[str, Any]) -> object:
        return sample["died"]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        plan = self._plan(raw)
        self.ecg_nan_filled = 0
        self.unlisted_categories.clear()
        size = int(self.params["size"])
        for hadm_id, row in plan.iterrows():
            info = self.features(row)
            yield {"sample_id": str(hadm_id), "patient_id": str(int(row["subject_id"])), "split": None,
                   "label": int(row["label"]) if self.view == "mortality48" else float(row["label"]),
                   "died": int(row["hospital_expire_flag"]),
                   "cxr": load_image(self._cxr_file(raw, row), size, 1),
                   "ecg": self._ecg(raw, str(row["ecg_path"])),
                   "tabular": np.array([info[n] for n in FEATURE_NAMES], dtype=np.float32),
                   "ehr_text": ehr_text(info, row)}


def ehr_text(info: dict[str, float], row: pd.Series) -> str:
    """The tabular information as short English sentences (for a text encoder)."""
    sex = "male" if info["sex_male"] else "female"
    parts = [f"{int(info['age'])}-year-old {sex}.",
             f"Admission type {str(row['admission_type']).lower()}, from {str(row['admission_location']).lower()}."]
    if not np.isnan(info["ed_hours_before_admission"]):
        parts.append(f"{info['ed_hours_before_admission']:.1f} hours in the emergency department before admission.")
    if info["icu_in_window"]:
        parts.append(f"ICU admission {info['hours_to_icu']:.1f} hours after hospital admission.")
    labs = [f"{name} {info[f'last_{name}']:g}" for name in LABS.values() if not np.isnan(info[f"last_{name}"])]
    parts.append(f"Latest labs: {', '.join(labs)}." if labs else "No lab results yet.")
    return " ".join(parts)


register_builder("mimic_iv_mortality48", target="mortality")(MIMICIV)
register_builder("mimic_iv_los", target="los")(MIMICIV)
