"""TUH Abnormal (TUAB) and TUH Events (TUEV) EEG corpora -> fixed windows on a standard montage.

TUAB layout (v2/v3)::

    edf/{train,eval}/{normal,abnormal}/01_tcp_ar/[.../]<subject>_s<session>_t<token>.edf

Label from the folder (normal 0, abnormal 1); each recording is cut into
non-overlapping `window_s` windows (the last partial window dropped).

TUEV layout (v2)::

    edf/{train,eval}/<subject>/<subject>_<n>.edf  + <same stem>.rec

Each `.rec` line is `channel,start,stop,code` (code 1 SPSW, 2 GPED, 3 PLED, 4 EYEM,
5 ARTF, 6 BCKG; channel = index in the TCP montage); each line becomes one sample: a
`window_s` window centred on the event (zero-padded at the recording's edges).

Both: patient id = the subject token before the first `_` of the file name; signals
are the 16-channel TCP bipolar montage (or 19 referential channels) resampled to
`rate` Hz. Official split: train -> train, eval -> test; a seeded 10 % of the train
patients (by hash of the patient id) becomes val.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.sleep import read_edf_channels

BIPOLAR = [("FP1", "F7"), ("F7", "T3"), ("T3", "T5"), ("T5", "O1"), ("FP2", "F8"), ("F8", "T4"),
           ("T4", "T6"), ("T6", "O2"), ("FP1", "F3"), ("F3", "C3"), ("C3", "P3"), ("P3", "O1"),
           ("FP2", "F4"), ("F4", "C4"), ("C4", "P4"), ("P4", "O2")]
REFERENTIAL = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T3", "C3", "CZ", "C4", "T4", "T5", "P3",
               "PZ", "P4", "T6", "O1", "O2"]
TUEV_CLASSES = ["SPSW", "GPED", "PLED", "EYEM", "ARTF", "BCKG"]
SPLIT_OF_FOLDER = {"train": "train", "eval": "test"}
VAL_FRACTION = 0.1


def electrode_aliases(electrode: str) -> list[str]:
    """EDF labels of a referential electrode in TUH files (average-reference and linked-ears)."""
    return [f"EEG {electrode}-REF", f"EEG {electrode}-LE", f"EEG {electrode}-AR", electrode]


def read_montage(path: Path, montage: str, rate: int) -> np.ndarray:
    """The recording on `montage` ('bipolar': 16 TCP pairs, 'referential': 19 electrodes)."""
    electrodes = sorted({e for pair in BIPOLAR for e in pair}) if montage == "bipolar" else REFERENTIAL
    data = read_edf_channels(path, {e: electrode_aliases(e) for e in electrodes}, rate)
    if montage != "bipolar":
        return data
    row = {e: i for i, e in enumerate(electrodes)}
    return np.stack([data[row[a]] - data[row[b]] for a, b in BIPOLAR]).astype(np.float32)


def montage_names(montage: str) -> list[str]:
    return [f"{a}-{b}" for a, b in BIPOLAR] if montage == "bipolar" else list(REFERENTIAL)


def patient_of(path: Path) -> str:
    return path.stem.split("_")[0]


def official_split(folder: str, patient: str, seed: int) -> str:
    """train/eval folder -> train/test; a seeded hash-chosen 10 % of train patients -> val."""
    split = SPLIT_OF_FOLDER[folder]
    if split == "train":
        h = int(hashlib.sha256(f"{seed}:{patient}".encode()).hexdigest()[:8], 16)
        if h / 0xFFFFFFFF < VAL_FRACTION:
            return "val"
    return split


class TUHBuilder(Builder):
    version = "1.0.0"
    fields = {"eeg": "eeg"}
    split_seed = 0
    default_params: dict[str, Any] = {"rate": 200, "window_s": 10.0, "montage": "bipolar"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["montage"] not in ("bipolar", "referential"):
            raise ValueError(f"montage must be 'bipolar' or 'referential', not {self.params['montage']!r}")

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"eeg": {"sampling_rate": self.params["rate"], "channel_names": montage_names(self.params["montage"]),
                        "montage": self.params["montage"], "window_seconds": self.params["window_s"],
                        "units": "as stored in the EDF (uV)"}}

    def _folder_files(self, raw: Path, pattern: str) -> list[tuple[str, Path]]:
        out = [(folder, p) for folder in SPLIT_OF_FOLDER for p in sorted((raw / "edf" / folder).glob(pattern))]
        if not out:
            raise PrepareError(raw / "edf", f"no EDF files found ({pattern} under train/ and eval/)")
        return out


@register_builder("tuab")
class TUAB(TUHBuilder):
    """TUAB recordings -> non-overlapping windows, binary normal/abnormal."""

    catalog_id = "tuab"
    FOLDERS = {"normal": "normal", "abnormal": "abnormal"}  # edf/<split>/<folder>/... -> class
    split_policy = ("official TUAB train/eval (eval -> test); val = a seeded hash-chosen 10 % of the "
                    "train patients")

    def recordings(self, raw: Path) -> list[tuple[str, int, Path]]:
        out = []
        for folder, path in self._folder_files(raw, "*/**/*.edf"):
            cls = path.relative_to(raw / "edf" / folder).parts[0]
            if cls not in self.FOLDERS:
                raise PrepareError(path, f"not below edf/{folder}/normal or edf/{folder}/abnormal")
            out.append((folder, self.label_names.index(self.FOLDERS[cls]), path))
        return out

    def source_files(self, raw: Path) -> list[Path]:
        return [p for _, _, p in self.recordings(raw)]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate, n = self.params["rate"], int(round(self.params["window_s"] * self.params["rate"]))
        for folder, label, path in self.recordings(raw):
            data = read_montage(path, self.params["montage"], rate)
            patient = patient_of(path)
            split = official_split(folder, patient, self.split_seed)
            if data.shape[1] < n:
                raise PrepareError(path, f"recording shorter than one {self.params['window_s']} s window")
            for w in range(data.shape[1] // n):
                yield {"sample_id": f"{path.stem}-{w:04d}", "patient_id": patient, "split": split,
                       "label": label, "eeg": data[:, w * n:(w + 1) * n]}


_REC_LINE = re.compile(r"^\s*(\d+)\s*,\s*([\d.eE+-]+)\s*,\s*([\d.eE+-]+)\s*,\s*(\d+)\s*$")


def read_rec(path: Path) -> list[tuple[int, float, float, str]]:
    """TUEV `.rec` -> [(channel, start s, stop s, class name)]."""
    events = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        m = _REC_LINE.match(line)
        if not m:
            raise PrepareError(path, f"line {no} is not 'channel,start,stop,code': {line!r}")
        ch, start, stop, code = int(m[1]), float(m[2]), float(m[3]), int(m[4])
        if not 1 <= code <= len(TUEV_CLASSES) or stop < start:
            raise PrepareError(path, f"line {no}: bad event (code {code} not in 1..6, or stop < start)")
        events.append((ch, start, stop, TUEV_CLASSES[code - 1]))
    if not events:
        raise PrepareError(path, "annotation file has no events")
    return events


def centred_window(data: np.ndarray, centre: int, n: int) -> np.ndarray:
    """`n` samples of `data` centred on sample `centre`, zero-padded outside the recording."""
    start = centre - n // 2
    out = np.zeros((data.shape[0], n), dtype=np.float32)
    lo, hi = max(start, 0), min(start + n, data.shape[1])
    out[:, lo - start:hi - start] = data[:, lo:hi]
    return out


@register_builder("tuev")
class TUEV(TUHBuilder):
    """TUEV recordings + `.rec` events -> one window per annotated event, 6 classes."""

    catalog_id = "tuev"
    fields = {"eeg": "eeg", "event_channel": "scalar"}
    split_policy = ("official TUEV train/eval (eval -> test); val = a seeded hash-chosen 10 % of the "
                    "train patients")
    default_params: dict[str, Any] = {"rate": 200, "window_s": 5.0, "montage": "bipolar"}

    def recordings(self, raw: Path) -> list[tuple[str, Path, Path]]:
        out = []
        for folder, edf in self._folder_files(raw, "**/*.edf"):
            rec = edf.with_suffix(".rec")
            if not rec.is_file():
                raise PrepareError(edf, f"no annotation file {rec.name} beside the recording")
            out.append((folder, edf, rec))
        return out

    def source_files(self, raw: Path) -> list[Path]:
        return [p for _, edf, rec in self.recordings(raw) for p in (edf, rec)]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate, n = self.params["rate"], int(round(self.params["window_s"] * self.params["rate"]))
        for folder, edf, rec in self.recordings(raw):
            events = read_rec(rec)
            data = read_montage(edf, self.params["montage"], rate)
            duration = data.shape[1] / rate
            patient = patient_of(edf)
            split = official_split(folder, patient, self.split_seed)
            for i, (ch, start, stop, cls) in enumerate(events):
                if stop > duration + 1.0 / rate:
                    raise PrepareError(rec, f"event {i + 1} ends at {stop} s, after the recording ({duration:.1f} s)")
                centre = int(round((start + stop) / 2 * rate))
                yield {"sample_id": f"{edf.stem}-{i:05d}", "patient_id": patient, "split": split,
                       "label": self.label_names.index(cls), "eeg": centred_window(data, centre, n),
                       "event_channel": ch}
