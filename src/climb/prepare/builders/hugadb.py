"""HuGaDB (Human Gait Database, Chereshnev & Kertesz-Farkas 2017): activity windows from 6 IMUs + 2 EMGs.

Layout, from the publisher's README (github.com/romanchereshnev/HuGaDB) and checked on the
real file ``real_samples/hugadb/HuGaDB_v2_various_01_00.txt``::

    HuGaDB_v2_<activity>_<participant>_<counter>.txt
        #Activity<TAB>sitting standing_up standing sitting_down ...   (header lines start with '#')
        #ActivityID<TAB>5 7 8 6 ...
        #Date 10-26-17-47
        acc_rf_x<TAB>...<TAB>gyro_lt_z<TAB>EMG_r<TAB>EMG_l<TAB>act      39 columns
        -7684<TAB>-1200<TAB>...<TAB>5                                  one row per sample

Facts that differ from the README: the files are named ``HuGaDB_v2_...`` (the README's
template says ``HGD_vX_...``; both are read), the date line is ``#Date`` (README:
``#Date-Time``), and the column names are lower case ``acc_rf_x`` (README: ``RT_acc_z``).
36 inertial columns (accelerometer and gyroscope x/y/z on the right/left foot, shin and
thigh), 2 EMG columns, and ``act``, the activity ID of every row (README Table 1: 1
walking ... 12 sitting in car). The sampling rate is stated neither in the files nor in the
README, so windows are counted in rows.

Samples: every maximal run of rows with one ``act`` value is cut into non-overlapping
``window``-row windows (default 64 rows: the sit-to-stand transitions of the real file
last 91-126 rows, so longer windows would lose those classes) as ``signal`` (38, window),
raw sensor units, channels in file order. The rows left at the end of each run, and runs
shorter than one window (per activity), are counted in the card (``fields.label`` and
``label_mapping``). An
``act`` value that the file's ``#ActivityID`` header does not list is an error; one outside
1..12 is an error unless ``unknown_codes=drop`` leaves its run out (counted in the card's
``label_mapping``). Patient =
the participant number in the file name; no official split: seeded 70/10/20 split grouped
by participant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels.mapping import check_policy

ACTIVITIES = ["walking", "running", "going up", "going down", "sitting", "sitting down", "standing up", "standing",
              "bicycling", "up by elevator", "down by elevator", "sitting in car"]
ACTIVITY_IDS = {i + 1: name for i, name in enumerate(ACTIVITIES)}  # README Table 1 ID -> activity
FILE_NAME = re.compile(
    r"^(?:HuGaDB|HGD)_v\d+_(?P<activity>.+)_(?P<participant>\d+)_(?P<counter>\d+)\.txt$")
SENSORS = [f"{kind}_{place}_{axis}" for place in ("rf", "rs", "rt", "lf", "ls", "lt")
           for kind in ("acc", "gyro") for axis in "xyz"]
CHANNELS = [*SENSORS, "EMG_r", "EMG_l"]
LEFTOVER_ROWS = "rows at the end of an activity run, shorter than one window"


def read_recording(path: Path) -> tuple[list[int], pd.DataFrame]:
    """The ``#ActivityID`` list and the 39-column table of one HuGaDB file."""
    try:
        with open(path, encoding="utf-8") as f:
            header = []
            for line in f:
                if not line.startswith("#"):
                    break
                header.append(line.rstrip("\n"))
        ids_line = next((h for h in header if h.startswith("#ActivityID")), None)
        if ids_line is None:
            raise PrepareError(path, "no '#ActivityID' header line")
        listed = [int(v) for v in ids_line.split(None, 1)[1].split()] if len(ids_line.split()) > 1 else []
        table = pd.read_csv(path, sep="\t", skiprows=len(header))
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as e:
        raise PrepareError(path, f"not a readable HuGaDB file ({type(e).__name__}: {e})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if list(table.columns) != [*CHANNELS, "act"]:
        raise PrepareError(path, f"columns {list(table.columns)} are not the 38 sensor columns + act "
                                 f"({CHANNELS[0]} ... {CHANNELS[-1]}, act)")
    if table.isna().any().any() or not all(np.issubdtype(t, np.number) for t in table.dtypes):
        raise PrepareError(path, "empty or non-numeric values in the data rows")
    return listed, table


def runs(act: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every maximal run of equal values."""
    edges = np.flatnonzero(np.diff(act)) + 1
    bounds = [0, *edges.tolist(), len(act)]
    return list(zip(bounds[:-1], bounds[1:]))


@register_builder("hugadb")
class HuGaDB(Builder):
    """HuGaDB recordings -> fixed-length windows labelled with the 12 HuGaDB activities."""

    version = "1.0.0"
    catalog_id = "hugadb"
    task = Task.multiclass
    label_names = ACTIVITIES
    fields = {"signal": "signal"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = "seeded 70/10/20 split grouped by participant (from the file name), stratified by activity"
    default_params: dict[str, Any] = {"window": 64, "unknown_codes": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("unknown_codes", self.params["unknown_codes"], ("error", "drop"))
        if int(self.params["window"]) < 1:
            raise ValueError(f"window must be a positive number of rows, not {self.params['window']!r}")
        self.leftover_rows = 0  # rows at the end of a run that no window covers (recorded in the card)

    def _files(self, raw: Path) -> list[tuple[Path, str]]:
        out = []
        for path in sorted(raw.rglob("*.txt")):
            m = FILE_NAME.match(path.name)
            if m:
                out.append((path, m["participant"]))
        if not out:
            raise PrepareError(raw, "no HuGaDB_v<N>_<activity>_<participant>_<counter>.txt files found")
        return out

    def source_files(self, raw: Path) -> list[Path]:
        return [p for p, _ in self._files(raw)]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"signal": {"channel_names": CHANNELS, "window_rows": int(self.params["window"]),
                           "units": "raw sensor counts (int16 IMU, uint8 EMG)",
                           "sampling_rate": "not published (windows are counted in rows)"},
                "label": {"definition": "the act column (README Table 1 IDs 1-12)",
                          "excluded": {LEFTOVER_ROWS: self.leftover_rows} if self.leftover_rows else {}}}

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        window = int(self.params["window"])
        self.leftover_rows = 0
        mapper = self.label_mapper(ACTIVITY_IDS, what="act", source=raw, unknown=self.params["unknown_codes"],
                                   hint="unknown_codes=drop leaves their runs out, counted in the card")
        for path, participant in self._files(raw):
            listed, table = read_recording(path)
            act = table["act"].to_numpy()
            unlisted = sorted(set(act.tolist()) - set(listed))
            if unlisted:
                raise PrepareError(path, f"act value(s) {unlisted} not listed in the #ActivityID header {listed}")
            data = table[CHANNELS].to_numpy(np.float32).T
            spans = runs(act)
            records = [f"{path.name} rows {start}..{stop - 1}" for start, stop in spans]
            labels = [mapper.one(act[start], r) for (start, _), r in zip(spans, records)]
            mapper.finish()  # before any window of this file is yielded
            for (start, stop), label, record in zip(spans, labels, records):
                if label is None:
                    continue
                n = (stop - start) // window
                if n == 0:
                    mapper.exclude(f"{ACTIVITIES[label]} run shorter than one window (no sample)", record, mapped=True)
                self.leftover_rows += (stop - start) % window
                for w in range(n):
                    a = start + w * window
                    yield {"sample_id": f"{path.stem}-{a:07d}", "patient_id": participant, "split": None,
                           "label": label, "signal": data[:, a:a + window]}
