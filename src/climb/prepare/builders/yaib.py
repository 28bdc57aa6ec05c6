"""YAIB demo cohorts (van de Water et al., ICLR 2024): MIMIC-IV demo and eICU demo ICU stays.

Raw layout: `demo_data/<task>/<source>_demo/{sta,dyn,outc}.parquet` (`sta`: stay_id, age,
sex, height, weight; `dyn`: stay_id, hourly `time`, 48 features, one row per hour from
hour 0; `outc`: stay_id [, time], label). Registered names `yaib_<task>_<source>` for
task in mortality24, aki, sepsis, kidney_function, los and source in mimic, eicu; the two
sources are separate prepared datasets so a model can be trained on one and tested on
the other (cross-site transfer).

Per-stay samples: `tabular` (age, sex_male, height, weight; NaN = missing) and
`timeseries` (T, 48) for the first T hours (NaN = not measured). Labels:

* mortality24 (binary), kidney_function (regression): one label per stay; every stay has
  exactly hours 0..24, so T = 25 and nothing is excluded.
* aki, sepsis: YAIB labels every hour; in these files the positive hours are one run of
  ~12 h that ends where the stay's data end (data are cut at onset), so an hour is
  positive when onset follows within ~12 h. The per-stay label here is "any positive
  hour within the first T = 24 h". Only stays with data beyond the window (last hour
  >= T) are kept, so onset is always after the window and the end of a stay (which
  would reveal the onset time) is never visible inside it.
* los: YAIB's per-hour target is the remaining length of stay in hours (capped at 168).
  The per-stay label is that target at the last window hour (T - 1 = 23), for stays
  with data beyond the window (same cohort rule as aki/sepsis: a padded window would
  reveal the length of stay).

The demo files carry no patient id (only stay_id), so splits are grouped by stay: a
patient with two ICU stays could land in two splits (a limitation of the demo data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder

TASKS = ("mortality24", "aki", "sepsis", "kidney_function", "los")  # catalog entries yaib_<task>
WINDOW_HOURS = {"mortality24": 25, "kidney_function": 25, "aki": 24, "sepsis": 24, "los": 24}
PER_HOUR_LABEL = {"aki", "sepsis", "los"}
SOURCES = ("mimic", "eicu")
STATIC_FEATURES = ["age", "sex_male", "height", "weight"]
NUM_DYNAMIC = 48
SEX_CODES = {"Male": 1.0, "Female": 0.0}
REGRESSION_BINS = 4  # quantile bins the split stratifies on for regression tasks


class YAIB(Builder):
    """One YAIB demo task from one source -> per-stay static + hourly samples."""

    version = "1.0.0"
    fields = {"tabular": "tabular", "timeseries": "timeseries"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    default_params: dict[str, Any] = {"task": "mortality24", "source": "mimic"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        task, source = self.params["task"], self.params["source"]
        if task not in TASKS or source not in SOURCES:
            raise ValueError(f"unknown YAIB task/source {task!r}/{source!r}; tasks {list(TASKS)}, sources {SOURCES}")
        self.catalog_id = f"yaib_{task}"
        self.hours = WINDOW_HOURS[task]
        self.split_policy = (
            f"seeded (seed {self.split_seed}) 70/10/20 split grouped by stay_id (no patient id in the demo), "
            + ("stratified by label" if self.task == Task.binary
               else f"stratified by {REGRESSION_BINS} label quantile bins")
        )
        self._bin_edges: np.ndarray | None = None
        self._stats: dict[str, int] = {}

    # ------------------------------------------------------------ files

    def _dir(self, raw: Path) -> Path:
        task, source = self.params["task"], self.params["source"]
        for name in (f"{source}_demo", source):
            folder = raw / "demo_data" / task / name
            if folder.is_dir():
                return folder
        return raw / "demo_data" / task / f"{source}_demo"

    def source_files(self, raw: Path) -> list[Path]:
        folder = self._dir(raw)
        return [folder / f"{part}.parquet" for part in ("sta", "dyn", "outc")]

    def _read(self, path: Path, required: list[str]) -> pd.DataFrame:
        if not path.is_file():
            raise PrepareError(path, "file not found")
        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # truncated or foreign file
            raise PrepareError(path, f"not a readable parquet file ({type(e).__name__}: {e})") from None
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise PrepareError(path, f"missing column(s) {missing}; present: {list(frame.columns)}")
        return frame

    # ------------------------------------------------------------ tables

    def _tables(self, raw: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
        sta_path, dyn_path, outc_path = self.source_files(raw)
        sta = self._read(sta_path, ["stay_id", "age", "sex", "height", "weight"]).set_index("stay_id")
        dyn = self._read(dyn_path, ["stay_id", "time"])
        features = [c for c in dyn.columns if c not in ("stay_id", "time")]
        if len(features) != NUM_DYNAMIC:
            raise PrepareError(dyn_path, f"expected {NUM_DYNAMIC} dynamic features, found {len(features)}")
        per_hour = self.params["task"] in PER_HOUR_LABEL
        outc = self._read(outc_path, ["stay_id", "label", *(["time"] if per_hour else [])])
        if outc["label"].isna().any():
            raise PrepareError(outc_path, f"{int(outc['label'].isna().sum())} missing label value(s)")
        for frame in (dyn, outc):
            if "time" in frame:
                frame["hour"] = _hours(frame["time"], dyn_path if frame is dyn else outc_path)
        if dyn.duplicated(["stay_id", "hour"]).any():
            raise PrepareError(dyn_path, "more than one row for the same stay_id and hour")
        for path, frame in ((dyn_path, dyn), (outc_path, outc)):
            unknown = set(frame["stay_id"]) - set(sta.index)
            if unknown:
                raise PrepareError(path, f"{len(unknown)} stay_id(s) not in sta.parquet, e.g. {sorted(unknown)[:3]}")
        return sta, dyn, outc, features

    def _labels(self, outc: pd.DataFrame, last_hour: pd.Series) -> pd.Series:
        """Per-stay label for the stays kept (see module docstring)."""
        task, window = self.params["task"], self.hours
        if task not in PER_HOUR_LABEL:
            return outc.set_index("stay_id")["label"]
        keep = last_hour[last_hour >= window].index
        in_window = outc[outc["stay_id"].isin(keep) & (outc["hour"] < window)]
        if task == "los":
            at_end = in_window[in_window["hour"] == window - 1].set_index("stay_id")["label"]
            return at_end.astype(float)
        return in_window.groupby("stay_id")["label"].any().astype(int)

    # ------------------------------------------------------------ samples

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        sta, dyn, outc, features = self._tables(raw)
        last_hour = dyn.groupby("stay_id")["hour"].max()
        labels = self._labels(outc, last_hour).sort_index()
        self._stats = {"stays_in_files": int(len(sta)), "stays_kept": int(len(labels)),
                       "stays_excluded_short": int(len(sta) - len(labels))}
        if self.task == Task.regression:
            self._bin_edges = np.quantile(labels.to_numpy(float), np.linspace(0, 1, REGRESSION_BINS + 1)[1:-1])
        if self.task != Task.regression:  # YAIB's outcome 0/1 = the catalog's first/second class
            mapper = self.label_mapper(dict(enumerate(self.label_names)), what="outcome",
                                       source=self.source_files(raw)[2])
            classes = {stay: mapper.one(v, f"stay_id {stay}") for stay, v in labels.items()}
            mapper.finish()
        window = dyn[dyn["hour"] < self.hours]
        by_stay = dict(iter(window.groupby("stay_id")))
        for stay_id, label in labels.items():
            series = np.full((self.hours, len(features)), np.nan, dtype=np.float32)
            rows = by_stay.get(stay_id)
            if rows is not None:
                series[rows["hour"].to_numpy(int)] = rows[features].to_numpy(np.float32)
            yield {
                "sample_id": str(stay_id),
                "patient_id": str(stay_id),
                "split": None,
                "label": float(label) if self.task == Task.regression else classes[stay_id],
                "tabular": _static(sta.loc[stay_id]),
                "timeseries": series,
            }

    def stratum(self, sample: dict[str, Any]) -> object:
        if self.task != Task.regression:
            return sample["label"]
        return int(np.searchsorted(self._bin_edges, sample["label"], side="right"))

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        dyn_path = self.source_files(raw)[1]
        import pyarrow.parquet as pq

        try:
            names = [n for n in pq.read_schema(dyn_path).names if n not in ("stay_id", "time")]
        except Exception as e:
            raise PrepareError(dyn_path, f"not a readable parquet file ({type(e).__name__}: {e})") from None
        label_def = {
            "mortality24": "death in the ICU (YAIB mortality24), one label per stay",
            "kidney_function": "YAIB kidney_function target (creatinine, mg/dL), one label per stay",
            "aki": f"1 if any hour < {self.hours} is AKI-positive in YAIB's hourly labels",
            "sepsis": f"1 if any hour < {self.hours} is sepsis-positive in YAIB's hourly labels",
            "los": f"YAIB remaining length of stay (hours, capped at 168) at hour {self.hours - 1}",
        }[self.params["task"]]
        return {
            "tabular": {"feature_names": STATIC_FEATURES, "missing": "NaN"},
            "timeseries": {"feature_names": names, "sampling": "hourly from ICU admission (hour 0)",
                           "hours": self.hours, "missing": "NaN (not measured or after the stay ended)"},
            "label": {"definition": label_def, **self._stats},
        }


def _hours(time: pd.Series, path: Path) -> pd.Series:
    if not pd.api.types.is_timedelta64_dtype(time):
        raise PrepareError(path, f"column 'time' is {time.dtype}, expected a duration since admission")
    hours = time.dt.total_seconds() / 3600
    if hours.isna().any() or (hours < 0).any() or (hours % 1 != 0).any():
        raise PrepareError(path, "column 'time' has missing, negative or non-hourly values")
    return hours.astype(int)


def _static(row: pd.Series) -> np.ndarray:
    sex = SEX_CODES.get(row["sex"], np.nan) if isinstance(row["sex"], str) else np.nan
    return np.array([row["age"], sex, row["height"], row["weight"]], dtype=np.float32)


for _task in TASKS:
    for _source in SOURCES:
        register_builder(f"yaib_{_task}_{_source}", task=_task, source=_source)(YAIB)
