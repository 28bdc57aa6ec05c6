"""PTB-XL 1.0.3 (Wagner et al. 2020): 12-lead, 10 s ECGs with SCP-ECG statements.

Reads the official layout: `ptbxl_database.csv`, `scp_statements.csv` and the WFDB
records `records100/` (100 Hz) or `records500/` (500 Hz) named by `filename_lr` /
`filename_hr`. Registered names:

* `ptbxl` -- 100 Hz, diagnostic superclasses NORM/MI/STTC/CD/HYP, multilabel, the
  benchmark of Strodthoff et al. 2020 (every diagnostic code of a record counts,
  whatever its likelihood).
* `ptbxl_500hz` -- the same at 500 Hz. Works on any subset of `records500/`: rows whose
  record files are absent are skipped and counted (`field_meta` of `signal`).
* `ptbxl_climb7` -- 100 Hz, the CLIMB 7-class view (`ECG7`) through the explicit table in
  `climb.prepare.labels.ecg_scp`; still multilabel (a record with AFIB and MI is both).
* `ptbxl_with_report` -- `ptbxl` plus the free-text `report`, for text/signal fusion.

LABEL LEAK: the `report` was written by the cardiologist who assigned the SCP codes; a
model that reads it is reading the answer. It is therefore stored only in the clearly
named `ptbxl_with_report` variant (`with_report=True`), never in the default ones.

Records with no label in the chosen label space (no diagnostic statement for the
superclasses; only `SR` for ECG7) are excluded and counted (`field_meta` of `label`).
In `records100/` every row must have its record (the official release is complete): a
missing one is an error naming the file, unless `missing_records="skip"`.
Splits: the official `strat_fold` (patient-grouped by the authors), 1-8 train, 9 val,
10 test. Metadata scalars: `age` (years; 300 means > 89 in the official file), `sex`
(0 male, 1 female), `height` (cm), `weight` (kg); NaN = not recorded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.mitdb import read_wfdb
from climb.prepare.labels.ecg_scp import ALL_SCP_CODES, SCP_SUPERCLASS, SCP_TO_ECG7

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
DURATION_S = 10
REQUIRED_COLUMNS = ["patient_id", "age", "sex", "height", "weight", "report", "scp_codes", "strat_fold",
                    "filename_lr", "filename_hr"]
FOLD_TO_SPLIT = {**{f: "train" for f in range(1, 9)}, 9: "val", 10: "test"}
# label space -> (catalog view, SCP code -> class name or None); "climb7" is the entry's own ECG7 space
LABEL_SPACES: dict[str, tuple[str | None, dict[str, str | None]]] = {
    "superdiagnostic": ("superdiagnostic", {code: SCP_SUPERCLASS.get(code) for code in ALL_SCP_CODES}),
    "climb7": (None, SCP_TO_ECG7),
}


@dataclass
class _Row:
    ecg_id: int
    patient_id: str
    split: str
    label: np.ndarray
    record: Path  # record path without extension
    meta: dict[str, Any]


class PTBXL(Builder):
    """PTB-XL rows -> 12-lead `signal` (12, 10 * rate) in mV with a multi-hot label."""

    catalog_id = "ptbxl"
    version = "1.0.0"
    default_params: dict[str, Any] = {"sampling_rate": 100, "labels": "superdiagnostic",
                                      "missing_records": "error", "with_report": False}

    def __init__(self, **params: Any):
        super().__init__(**params)
        p = self.params
        if p["sampling_rate"] not in (100, 500):
            raise ValueError(f"ptbxl: sampling_rate must be 100 or 500, got {p['sampling_rate']!r}")
        if p["labels"] not in LABEL_SPACES:
            raise ValueError(f"ptbxl: labels must be one of {sorted(LABEL_SPACES)}, got {p['labels']!r}")
        if p["missing_records"] not in ("error", "skip"):
            raise ValueError(f"ptbxl: missing_records must be 'error' or 'skip', got {p['missing_records']!r}")
        self.view, self._table = LABEL_SPACES[p["labels"]]
        self.fields = {"signal": "signal", "age": "scalar", "sex": "scalar", "height": "scalar",
                       "weight": "scalar", **({"report": "text"} if p["with_report"] else {})}
        self.split_policy = ("official PTB-XL strat_fold (patient-grouped, label-stratified by the "
                             "authors): folds 1-8 train, 9 val, 10 test")
        self._rows: list[_Row] | None = None
        self._counts: dict[str, int] = {}

    # ------------------------------------------------------------ reading the tables

    def _record_column(self) -> str:
        return "filename_lr" if self.params["sampling_rate"] == 100 else "filename_hr"

    def _rows_for(self, raw: Path) -> list[_Row]:
        if self._rows is None:
            check_statements(raw / STATEMENTS)
            table = read_database(raw / DATABASE)
            self._rows = self._select(raw, table)
        return self._rows

    def _select(self, raw: Path, table: pd.DataFrame) -> list[_Row]:
        mapper = self.label_mapper(self._table, what="SCP code", source=raw / DATABASE)
        rows, missing = [], 0
        for ecg_id, rec in table.iterrows():
            names = mapper.many(parse_scp_codes(rec["scp_codes"], raw / DATABASE, int(ecg_id)), f"ecg_id {ecg_id}")
            if names is None:
                continue
            record = raw / str(rec[self._record_column()])
            absent = [p for p in (record.with_suffix(".hea"), record.with_suffix(".dat")) if not p.is_file()]
            if absent:
                if self.params["missing_records"] == "error":
                    raise PrepareError(absent[0], f"record of ecg_id {ecg_id} listed in {DATABASE} is missing "
                                       "(use missing_records=skip to prepare a partial download)")
                missing += 1
                continue
            rows.append(_Row(int(ecg_id), _patient(rec["patient_id"], raw / DATABASE, ecg_id),
                             _split(rec["strat_fold"], raw / DATABASE, ecg_id), mapper.multi_hot(names), record,
                             _meta(rec)))
        mapper.finish()
        self._counts = {"rows_in_database": len(table), "excluded_no_label": len(mapper.without_class),
                        "skipped_missing_records": missing}
        return rows

    # ------------------------------------------------------------ the builder contract

    def source_files(self, raw: Path) -> list[Path]:
        files = [raw / DATABASE, raw / STATEMENTS]
        for row in self._rows_for(raw):
            files += [row.record.with_suffix(".hea"), row.record.with_suffix(".dat")]
        return files

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._rows_for(raw))

    def parallel_records(self, raw: Path) -> list[_Row]:
        return self._rows_for(raw)

    def record_samples(self, raw: Path, row: _Row) -> Iterator[dict[str, Any]]:
        rate = self.params["sampling_rate"]
        signal, _ = read_wfdb(row.record, expect_rate=rate, expect_leads=LEADS, expect_length=rate * DURATION_S)
        sample = {"sample_id": str(row.ecg_id), "patient_id": row.patient_id, "split": row.split,
                  "label": row.label, "signal": signal, **row.meta}
        if not self.params["with_report"]:
            sample.pop("report")
        yield sample

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        self._rows_for(raw)
        meta: dict[str, dict[str, Any]] = {
            "label": {"space": self.params["labels"], "excluded_no_label": self._counts["excluded_no_label"],
                      "rows_in_database": self._counts["rows_in_database"],
                      "mapping": "climb.prepare.labels.ecg_scp"},
            "signal": {"sampling_rate": self.params["sampling_rate"], "lead_names": LEADS, "units": "mV",
                       "duration_s": DURATION_S, "record_dir": f"records{self.params['sampling_rate']}",
                       "skipped_missing_records": self._counts["skipped_missing_records"]},
            "age": {"units": "years", "note": "300 = older than 89 (official anonymisation); NaN = missing"},
            "sex": {"coding": {"0": "male", "1": "female"}},
            "height": {"units": "cm", "note": "NaN = not recorded"},
            "weight": {"units": "kg", "note": "NaN = not recorded"},
        }
        if self.params["with_report"]:
            meta["report"] = {"warning": "written by the labelling cardiologist: leaks the label"}
        return meta


# ---------------------------------------------------------------- table helpers


def read_database(path: Path) -> pd.DataFrame:
    """`ptbxl_database.csv` indexed by ecg_id, with its required columns checked."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        table = pd.read_csv(path, index_col="ecg_id")
    except (ValueError, pd.errors.ParserError) as e:
        raise PrepareError(path, f"not a readable PTB-XL database table ({e})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise PrepareError(path, f"missing column(s) {missing}")
    if table.index.has_duplicates:
        raise PrepareError(path, f"duplicate ecg_id(s) {sorted(set(table.index[table.index.duplicated()]))[:5]}")
    return table


def check_statements(path: Path) -> None:
    """Fail unless `scp_statements.csv` agrees with the explicit tables in `ecg_scp`."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        table = pd.read_csv(path, index_col=0)
    except (ValueError, pd.errors.ParserError) as e:
        raise PrepareError(path, f"not a readable SCP statements table ({e})") from None
    if not {"diagnostic", "diagnostic_class"} <= set(table.columns):
        raise PrepareError(path, "missing column(s) 'diagnostic' / 'diagnostic_class'")
    diagnostic = table[table["diagnostic"] == 1]["diagnostic_class"].to_dict()
    if diagnostic != SCP_SUPERCLASS or set(table.index) != ALL_SCP_CODES:
        raise PrepareError(path, "SCP statements differ from PTB-XL 1.0.3 (climb.prepare.labels.ecg_scp)")


def parse_scp_codes(text: str, path: Path, ecg_id: int) -> list[str]:
    """The SCP codes of one row (`"{'NORM': 100.0, 'SR': 0.0}"` -> `['NORM', 'SR']`).

    Codes outside the PTB-XL statements reach the label mapper, which fails naming them all.
    """
    try:
        codes = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        codes = None
    if not isinstance(codes, dict):
        raise PrepareError(path, f"ecg_id {ecg_id}: scp_codes is not a dict literal: {str(text)[:60]!r}")
    return list(codes)


def _patient(value: Any, path: Path, ecg_id: Any) -> str:
    if pd.isna(value):
        raise PrepareError(path, f"ecg_id {ecg_id}: patient_id is missing")
    return str(int(value))


def _split(value: Any, path: Path, ecg_id: Any) -> str:
    if pd.isna(value) or int(value) not in FOLD_TO_SPLIT:
        raise PrepareError(path, f"ecg_id {ecg_id}: strat_fold {value!r} is not in 1..10")
    return FOLD_TO_SPLIT[int(value)]


def _meta(rec: pd.Series) -> dict[str, Any]:
    return {"age": float(rec["age"]), "sex": float(rec["sex"]), "height": float(rec["height"]),
            "weight": float(rec["weight"]), "report": "" if pd.isna(rec["report"]) else str(rec["report"])}


register_builder("ptbxl")(PTBXL)
register_builder("ptbxl_500hz", sampling_rate=500, missing_records="skip")(PTBXL)
register_builder("ptbxl_climb7", labels="climb7")(PTBXL)
register_builder("ptbxl_with_report", with_report=True)(PTBXL)
