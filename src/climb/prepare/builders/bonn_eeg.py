"""Bonn University epilepsy EEG (Andrzejak et al. 2001): 5 sets x 100 single-channel segments.

Official layout: one folder per set, `Z/ O/ N/ F/ S/`, holding `<set><NNN>.txt` (N uses
`.TXT`), each 4097 integer samples (23.6 s at 173.61 Hz), one per line. Values are stored
as published (float32, amplitude units of the text files, no rescaling). The sets:

    Z (A)  healthy volunteers, surface EEG, eyes open
    O (B)  healthy volunteers, surface EEG, eyes closed
    N (C)  epilepsy patients, seizure-free interval, hippocampal formation opposite the focus
    F (D)  epilepsy patients, seizure-free interval, within the epileptogenic zone
    S (E)  epilepsy patients, seizure activity (ictal), all recording sites

Registered names: `bonn_eeg` (5 classes Z, O, N, F, S) and `bonn_eeg_seizure` (binary:
S vs the other four sets).

Splits: Bonn publishes no subject id per segment (the sets come from 5 healthy
volunteers and 5 patients), so each segment is its own patient_id and the splits are
seeded, stratified by set, at segment level. Segments of one subject can therefore land
in different splits; scores on this dataset are optimistic for that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import Builder, PrepareError, register_builder

SETS = ["Z", "O", "N", "F", "S"]
SET_DESCRIPTIONS = {
    "Z": "set A: healthy volunteers, surface EEG, eyes open",
    "O": "set B: healthy volunteers, surface EEG, eyes closed",
    "N": "set C: patients, seizure-free interval, hippocampal formation opposite the epileptogenic zone",
    "F": "set D: patients, seizure-free interval, within the epileptogenic zone",
    "S": "set E: patients, seizure activity (ictal)",
}
SAMPLING_RATE = 173.61
SEGMENT_SAMPLES = 4097
SEIZURE_LABELS = ["non-seizure", "seizure"]


class BonnEEG(Builder):
    """Bonn text segments -> `eeg` (1, 4097) float32 with the set (or seizure) label."""

    catalog_id = "bonn_eeg"
    version = "1.0.0"
    fields = {"eeg": "eeg"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no subject ids per segment: patient_id = segment id; seeded (0) split stratified by "
                    "set Z/O/N/F/S at segment level, 70/10/20 % train/val/test (segments of one subject "
                    "may share splits -- optimistic)")
    default_params: dict[str, Any] = {"labels": "sets"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["labels"] not in ("sets", "seizure"):
            raise ValueError(f"bonn_eeg: labels must be 'sets' or 'seizure', got {self.params['labels']!r}")
        self.view = "seizure" if self.params["labels"] == "seizure" else None

    def source_files(self, raw: Path) -> list[Path]:
        return [f for s in SETS for f in segment_files(raw, s)]

    def num_samples_hint(self, raw: Path) -> int | None:
        return 500

    def label_of(self, set_name: str) -> int:
        """The set's class in the catalog's label order (seizure view: S vs the rest)."""
        if self.params["labels"] == "seizure":
            return self.label_names.index(SEIZURE_LABELS[set_name == "S"])
        return self.label_names.index(set_name)

    def stratum(self, sample: dict[str, Any]) -> object:
        return sample["sample_id"][0]  # the set letter: both variants get the same splits

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        for set_name in SETS:
            for path in segment_files(raw, set_name):
                segment_id = path.stem.upper()
                yield {"sample_id": segment_id, "patient_id": segment_id, "split": None,
                       "label": self.label_of(set_name), "eeg": read_segment(path)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        counts = {s: len(segment_files(raw, s)) for s in SETS}
        return {"eeg": {"sampling_rate": SAMPLING_RATE, "channel_names": ["EEG"], "units": "as published",
                        "duration_s": round(SEGMENT_SAMPLES / SAMPLING_RATE, 2)},
                "label": {"sets": SET_DESCRIPTIONS, "segments_per_set": counts}}


def segment_files(raw: Path, set_name: str) -> list[Path]:
    """The segment files of one set (`<set>/<set>NNN.txt`, any case), sorted; none -> error."""
    folder = raw / set_name
    if not folder.is_dir():
        raise PrepareError(folder, f"set folder {set_name}/ not found")
    pattern = re.compile(rf"{set_name}\d{{3}}\.txt", re.IGNORECASE)
    files = sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))
    if not files:
        raise PrepareError(folder, f"no segment files {set_name}NNN.txt")
    return files


def read_segment(path: Path) -> np.ndarray:
    """One segment as (1, 4097) float32; wrong length or non-numbers -> PrepareError."""
    try:
        values = np.asarray(path.read_text().split(), dtype=np.float32)
    except (ValueError, UnicodeDecodeError) as e:
        raise PrepareError(path, f"not a column of numbers ({e})") from None
    if values.size != SEGMENT_SAMPLES:
        raise PrepareError(path, f"{values.size} samples, expected {SEGMENT_SAMPLES}")
    if not np.isfinite(values).all():
        raise PrepareError(path, "NaN or inf values")
    return values[None, :]


register_builder("bonn_eeg")(BonnEEG)
register_builder("bonn_eeg_seizure", labels="seizure")(BonnEEG)
