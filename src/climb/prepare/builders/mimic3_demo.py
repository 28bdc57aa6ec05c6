"""MIMIC-III Clinical Database Demo 1.4: in-hospital mortality from the first 24 h of an admission.

One sample per admission (ADMISSIONS; the shared mirror's copy is named
`ADMISSIONS.MODIFIED_missing_hadm168674.csv` and lacks one row; either name is read).
Label: `HOSPITAL_EXPIRE_FLAG` (0 = survived, 1 = died). Prediction time = ADMITTIME + 24 h.

Cohort: admissions that ended (discharge or death) within the first `min_stay_hours`
(24) are excluded: their outcome is already known at prediction time and their event
counts are cut short by it. DISCHTIME/DEATHTIME are read for this cohort rule only.

Features use only what is known by the prediction time: age at admission (ages > 89
are shifted by MIMIC; clipped to 90), gender, admission type / location / insurance
one-hot, hours spent in the ED before admission, the first ICU stay if it began within
24 h (care unit, database), and counts/sums of OUTPUTEVENTS, PRESCRIPTIONS,
INPUTEVENTS_MV, PROCEDUREEVENTS_MV and MICROBIOLOGYEVENTS specimens in [ADMITTIME,
ADMITTIME + 24 h). Date-only times (PRESCRIPTIONS.STARTDATE, MICROBIOLOGY rows without
CHARTTIME) count only on calendar days that end before the 24-h mark (or the admission
day). Microbiology *organisms* are not used (culture results arrive days later).
Never used: DEATHTIME/DISCHTIME as features, DISCHARGE_LOCATION, diagnoses/procedure
ICD codes, DRG codes, notes, the flag itself. The same information is serialised to the
`ehr_text` field (plus the free-text admitting diagnosis written at admission).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.prepare.builder import Builder, PrepareError, register_builder

EXPIRE_FLAG = {0: "survived", 1: "died in hospital"}  # HOSPITAL_EXPIRE_FLAG
ADMISSIONS_NAMES = ("ADMISSIONS.csv", "ADMISSIONS.MODIFIED_missing_hadm168674.csv")
ADMISSION_TYPES = ["EMERGENCY", "ELECTIVE", "URGENT", "NEWBORN"]
ADMISSION_LOCATIONS = ["EMERGENCY ROOM ADMIT", "TRANSFER FROM HOSP/EXTRAM", "CLINIC REFERRAL/PREMATURE",
                       "PHYS REFERRAL/NORMAL DELI", "TRANSFER FROM SKILLED NUR", "TRANSFER FROM OTHER HEALT",
                       "HMO REFERRAL/SICK", "TRSF WITHIN THIS FACILITY", "** INFO NOT AVAILABLE **"]
INSURANCES = ["Medicare", "Private", "Medicaid", "Government", "Self Pay"]
CARE_UNITS = ["MICU", "SICU", "CCU", "CSRU", "TSICU", "NICU"]
MAX_AGE = 90.0
# table -> (time column, date-only time column or None, required columns)
EVENT_TABLES: dict[str, tuple[str | None, str | None, list[str]]] = {
    "OUTPUTEVENTS": ("charttime", None, ["hadm_id", "charttime", "value", "valueuom"]),
    "PRESCRIPTIONS": (None, "startdate", ["hadm_id", "startdate", "drug"]),
    "INPUTEVENTS_MV": ("starttime", None, ["hadm_id", "starttime", "amount", "amountuom", "statusdescription"]),
    "PROCEDUREEVENTS_MV": ("starttime", None, ["hadm_id", "starttime", "itemid"]),
    "MICROBIOLOGYEVENTS": ("charttime", "chartdate", ["hadm_id", "chartdate", "charttime", "spec_itemid",
                                                      "spec_type_desc"]),
}
ADMISSION_COLUMNS = ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type",
                     "admission_location", "insurance", "edregtime", "edouttime", "diagnosis",
                     "hospital_expire_flag"]
FEATURE_NAMES = (
    ["age", "gender_male"]
    + [f"admission_type={t}" for t in ADMISSION_TYPES]
    + [f"admission_location={loc}" for loc in ADMISSION_LOCATIONS]
    + [f"insurance={i}" for i in INSURANCES]
    + ["ed_hours_before_admission", "icu_within_24h", "hours_to_icu", "icu_metavision"]
    + [f"icu_first_careunit={u}" for u in CARE_UNITS]
    + ["output_events_24h", "output_ml_24h", "prescriptions_24h", "distinct_drugs_24h",
       "input_events_mv_24h", "input_ml_mv_24h", "procedure_events_mv_24h",
       "micro_specimens_24h", "blood_culture_specimens_24h"]
)


class MIMIC3DemoMortality(Builder):
    """MIMIC-III demo admissions -> early (first 24 h) tabular + text samples, mortality label."""

    version = "1.0.0"
    catalog_id = "mimic3_demo"
    fields = {"tabular": "tabular", "ehr_text": "text"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("seeded (seed 0) 70/10/20 split grouped by SUBJECT_ID, stratified by label; admissions that "
                    "ended within the first 24 h (min_stay_hours) are excluded")
    default_params: dict[str, Any] = {"min_stay_hours": 24}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._stats: dict[str, int] = {}

    # ------------------------------------------------------------ files

    def _admissions_file(self, raw: Path) -> Path:
        for name in ADMISSIONS_NAMES:
            if (raw / name).is_file():
                return raw / name
        raise PrepareError(raw / ADMISSIONS_NAMES[0], f"file not found (accepted names: {list(ADMISSIONS_NAMES)})")

    def source_files(self, raw: Path) -> list[Path]:
        tables = ["PATIENTS", "ICUSTAYS", *EVENT_TABLES]
        return [self._admissions_file(raw), *(raw / f"{t}.csv" for t in tables)]

    def _read(self, path: Path, required: list[str], times: list[str] = ()) -> pd.DataFrame:
        if not path.is_file():
            raise PrepareError(path, "file not found")
        try:
            frame = pd.read_csv(path, low_memory=False)
        except Exception as e:
            raise PrepareError(path, f"not a readable CSV ({type(e).__name__}: {e})") from None
        frame.columns = [c.lower() for c in frame.columns]  # the demo is lower case, full MIMIC-III upper
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise PrepareError(path, f"missing column(s) {missing}")
        for col in times:
            try:
                frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d %H:%M:%S")
            except (ValueError, TypeError) as e:
                raise PrepareError(path, f"column {col!r} has malformed timestamps ({e})") from None
        return frame

    # ------------------------------------------------------------ cohort

    def _cohort(self, raw: Path) -> pd.DataFrame:
        path = self._admissions_file(raw)
        adm = self._read(path, ADMISSION_COLUMNS, ["admittime", "dischtime", "deathtime", "edregtime", "edouttime"])
        mapper = self.label_mapper(EXPIRE_FLAG, what="hospital_expire_flag", source=path)
        adm["label"] = [mapper.one(f, f"hadm_id {h}") for h, f in zip(adm["hadm_id"], adm["hospital_expire_flag"])]
        mapper.finish()
        if adm["admittime"].isna().any() or adm["dischtime"].isna().any():
            raise PrepareError(path, "admissions without admittime or dischtime")
        if not adm["hadm_id"].is_unique:
            raise PrepareError(path, "hadm_id is not unique")
        stay_hours = (adm["dischtime"] - adm["admittime"]).dt.total_seconds() / 3600
        keep = stay_hours >= self.params["min_stay_hours"]
        self._stats = {"admissions_found": int(len(adm)), "patients_found": int(adm["subject_id"].nunique()),
                       "excluded_stay_under_min_hours": int((~keep).sum()),
                       "excluded_died_under_min_hours": int((~keep & (adm["hospital_expire_flag"] == 1)).sum()),
                       "admissions_kept": int(keep.sum())}
        adm = adm[keep].copy()
        adm["window_end"] = adm["admittime"] + pd.Timedelta(hours=24)
        return adm.sort_values("hadm_id").set_index("hadm_id")

    def _patients(self, raw: Path, adm: pd.DataFrame) -> pd.DataFrame:
        path = raw / "PATIENTS.csv"
        pats = self._read(path, ["subject_id", "gender", "dob"]).set_index("subject_id")
        unknown = set(adm["subject_id"]) - set(pats.index)
        if unknown:
            raise PrepareError(path, f"{len(unknown)} admitted subject(s) missing, e.g. {sorted(unknown)[:3]}")
        return pats

    def _events(self, raw: Path, table: str, adm: pd.DataFrame) -> pd.DataFrame:
        """Rows of `table` inside each admission's first-24-h window (see module docstring)."""
        time_col, date_col, required = EVENT_TABLES[table]
        path = raw / f"{table}.csv"
        frame = self._read(path, required, [c for c in (time_col, date_col) if c])
        frame = frame[frame["hadm_id"].isin(adm.index)].copy()
        start = frame["hadm_id"].map(adm["admittime"])
        end = frame["hadm_id"].map(adm["window_end"])
        inside = pd.Series(False, index=frame.index)
        if time_col:
            t = frame[time_col]
            inside |= t.notna() & (t >= start) & (t < end)
        if date_col:
            d = frame[date_col].dt.normalize()
            date_only = frame[time_col].isna() if time_col else pd.Series(True, index=frame.index)
            inside |= date_only & (d >= start.dt.normalize()) & (d < end.dt.normalize())
        return frame[inside]

    # ------------------------------------------------------------ samples

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        adm = self._cohort(raw)
        pats = self._patients(raw, adm)
        icu = self._first_icu(raw, adm)
        events = {t: self._events(raw, t, adm) for t in EVENT_TABLES}
        grouped = {t: dict(iter(e.groupby("hadm_id"))) for t, e in events.items()}
        empty = {t: e.iloc[:0] for t, e in events.items()}
        for hadm_id, row in adm.iterrows():
            patient = pats.loc[row["subject_id"]]
            ev = {t: grouped[t].get(hadm_id, empty[t]) for t in EVENT_TABLES}
            info = _early_info(row, patient, icu.get(hadm_id), ev)
            yield {
                "sample_id": str(hadm_id), "patient_id": str(row["subject_id"]), "split": None,
                "label": int(row["label"]),
                "tabular": np.array([info[n] for n in FEATURE_NAMES], dtype=np.float32),
                "ehr_text": _text(info, row, ev),
            }

    def _first_icu(self, raw: Path, adm: pd.DataFrame) -> dict[int, pd.Series]:
        path = raw / "ICUSTAYS.csv"
        icu = self._read(path, ["hadm_id", "intime", "first_careunit", "dbsource"], ["intime"])
        icu = icu[icu["hadm_id"].isin(adm.index)].sort_values("intime")
        icu = icu[icu["intime"] < icu["hadm_id"].map(adm["window_end"])]
        return {int(h): g.iloc[0] for h, g in icu.groupby("hadm_id")}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {
            "tabular": {"feature_names": FEATURE_NAMES, "window": "[ADMITTIME, ADMITTIME + 24 h)",
                        "missing": "NaN (ed_hours_before_admission, hours_to_icu when not applicable)"},
            "ehr_text": {"content": "the tabular information plus drug names, specimen types and the admitting "
                                    "diagnosis, as English text"},
            "label": {"definition": "HOSPITAL_EXPIRE_FLAG", **self._stats},
        }


def _age(admit: pd.Timestamp, dob: pd.Timestamp) -> float:
    """Age in whole years by calendar arithmetic (MIMIC shifts DOB of patients > 89 by ~300 years)."""
    years = admit.year - dob.year - ((admit.month, admit.day) < (dob.month, dob.day))
    return float(min(years, MAX_AGE))


def _early_info(adm: pd.Series, patient: pd.Series, icu: pd.Series | None,
                ev: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Every tabular feature of one admission, by name."""
    info: dict[str, float] = {
        "age": _age(adm["admittime"], pd.Timestamp(patient["dob"])),
        "gender_male": float(patient["gender"] == "M"),
    }
    info.update({f"admission_type={t}": float(adm["admission_type"] == t) for t in ADMISSION_TYPES})
    info.update({f"admission_location={x}": float(adm["admission_location"] == x) for x in ADMISSION_LOCATIONS})
    info.update({f"insurance={i}": float(adm["insurance"] == i) for i in INSURANCES})
    ed_end = min(adm["edouttime"], adm["window_end"]) if pd.notna(adm["edouttime"]) else pd.NaT
    ed = (ed_end - adm["edregtime"]).total_seconds() / 3600 if pd.notna(adm["edregtime"]) else np.nan
    info["ed_hours_before_admission"] = float(ed) if pd.notna(ed) else np.nan
    info["icu_within_24h"] = float(icu is not None)
    info["hours_to_icu"] = (max((icu["intime"] - adm["admittime"]).total_seconds() / 3600, 0.0)
                            if icu is not None else np.nan)
    info["icu_metavision"] = float(icu is not None and icu["dbsource"] == "metavision")
    info.update({f"icu_first_careunit={u}": float(icu is not None and icu["first_careunit"] == u)
                 for u in CARE_UNITS})
    out, rx, inp, proc, micro = (ev[t] for t in EVENT_TABLES)
    ml = out["valueuom"].astype(str).str.lower() == "ml"
    info["output_events_24h"] = float(len(out))
    info["output_ml_24h"] = float(pd.to_numeric(out.loc[ml, "value"], errors="coerce").sum())
    info["prescriptions_24h"] = float(len(rx))
    info["distinct_drugs_24h"] = float(rx["drug"].nunique())
    inp = inp[inp["statusdescription"] != "Rewritten"]  # rewritten orders are superseded duplicates
    info["input_events_mv_24h"] = float(len(inp))
    info["input_ml_mv_24h"] = float(inp.loc[inp["amountuom"].astype(str).str.lower() == "ml", "amount"].sum())
    info["procedure_events_mv_24h"] = float(len(proc))
    specimens = micro.assign(t=micro["charttime"].fillna(micro["chartdate"])).drop_duplicates(["spec_itemid", "t"])
    info["micro_specimens_24h"] = float(len(specimens))
    info["blood_culture_specimens_24h"] = float((specimens["spec_type_desc"] == "BLOOD CULTURE").sum())
    return info


def _text(info: dict[str, float], adm: pd.Series, ev: dict[str, pd.DataFrame]) -> str:
    """The early information as short English sentences (for a text encoder)."""
    sex = "male" if info["gender_male"] else "female"
    parts = [f"{int(info['age'])}-year-old {sex}.",
             f"{str(adm['admission_type']).lower()} admission, location: {str(adm['admission_location']).lower()}, "
             f"insurance: {adm['insurance']}."]
    if pd.notna(adm["diagnosis"]):
        parts.append(f"Admitting diagnosis: {str(adm['diagnosis']).strip()}.")
    if not np.isnan(info["ed_hours_before_admission"]):
        parts.append(f"{info['ed_hours_before_admission']:.1f} hours in the emergency department before admission.")
    if info["icu_within_24h"]:
        unit = next((u for u in CARE_UNITS if info[f"icu_first_careunit={u}"]), "ICU")
        parts.append(f"ICU admission ({unit}) {info['hours_to_icu']:.1f} hours after hospital admission.")
    else:
        parts.append("No ICU admission in the first 24 hours.")
    parts.append(f"First 24 hours: {int(info['output_events_24h'])} output measurements "
                 f"({info['output_ml_24h']:.0f} ml).")
    if info["icu_metavision"]:  # inputs/procedures are only recorded for MetaVision ICU stays in the demo
        parts.append(f"{int(info['input_events_mv_24h'])} recorded inputs ({info['input_ml_mv_24h']:.0f} ml); "
                     f"{int(info['procedure_events_mv_24h'])} procedures.")
    drugs = list(dict.fromkeys(ev["PRESCRIPTIONS"]["drug"].dropna().astype(str)))
    if drugs:
        more = f" and {len(drugs) - 20} more" if len(drugs) > 20 else ""
        parts.append(f"{int(info['prescriptions_24h'])} prescriptions: {', '.join(drugs[:20])}{more}.")
    specimens = sorted(set(ev["MICROBIOLOGYEVENTS"]["spec_type_desc"].dropna().astype(str)))
    if specimens:
        parts.append(f"{int(info['micro_specimens_24h'])} microbiology specimens sent: {', '.join(specimens)}.")
    return " ".join(parts)


register_builder("mimic3_demo")(MIMIC3DemoMortality)
