"""IIIC patterns (seizure, LPD, GPD, LRDA, GRDA, other) from the public HMS release of the IIIC annotations.

CLIMB's IIIC data is the BDSP SPaRCNet release (Jing et al. 2023), behind a BDSP data-use
agreement; its file layout is not documented publicly (the SPaRCNet code,
github.com/bdsp-core/IIIC-SPaRCNet, reads private ``.npy`` exports), so no builder reads
it. The same group released expert-annotated IIIC segments publicly as the Kaggle
competition "HMS - Harmful Brain Activity Classification" (Jing, Lin, Yang, Chow, Dane,
Sun, Westover 2024), with the same six classes; ``iiic_hms`` reads that release. Layout
from the competition's data description (quoted in public repositories, e.g.
michaelmikulec/Elektra ``diagrams/datasetDescription.md``) and the channel lists of
public solutions::

    train.csv    eeg_id, eeg_sub_id, eeg_label_offset_seconds, spectrogram_id, spectrogram_sub_id,
                 spectrogram_label_offset_seconds, label_id, patient_id, expert_consensus,
                 seizure_vote, lpd_vote, gpd_vote, lrda_vote, grda_vote, other_vote
    train_eegs/<eeg_id>.parquet   columns Fp1 F3 C3 P3 F7 T3 T5 O1 Fz Cz Pz Fp2 F4 C4 P4 F8 T4 T6 O2 EKG,
                                  200 samples per second

"The expert annotators reviewed 50 second long EEG samples ... and labeled the central 10
seconds"; each ``train.csv`` row (``label_id``) is one annotated 50 s subsample starting
``eeg_label_offset_seconds`` into its recording. One sample per row: ``eeg`` = the 19
EEG channels (EKG left out) of the central ``seconds`` (default 10, at most 50) of that
subsample, in the file's units; ``votes`` = the six vote counts; label =
``expert_consensus`` (``Seizure`` -> SZ), which must be one of the classes with the most
votes (else an error). Recordings contain NaN runs; a window with NaN is an error unless
``nan=zero`` fills them with 0 (the affected samples are counted in the card). The
competition's test labels are hidden: seeded 60/20/20 split grouped by patient_id (the
CLIMB protocol), stratified by label.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.images_2d import read_table, require_values

CLASSES = ["SZ", "LPD", "GPD", "LRDA", "GRDA", "Other"]
CONSENSUS = {"Seizure": "SZ", "LPD": "LPD", "GPD": "GPD", "LRDA": "LRDA", "GRDA": "GRDA", "Other": "Other"}
VOTES = ["seizure_vote", "lpd_vote", "gpd_vote", "lrda_vote", "grda_vote", "other_vote"]
EEG_CHANNELS = ["Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz",
                "Fp2", "F4", "C4", "P4", "F8", "T4", "T6", "O2"]
COLUMNS = ["eeg_id", "eeg_label_offset_seconds", "label_id", "patient_id", "expert_consensus", *VOTES]
RATE = 200
ANNOTATED_SECONDS = 50


@register_builder("iiic_hms")
class IIICHMS(Builder):
    """HMS competition EEG subsamples -> central window, six IIIC classes and the raters' votes."""

    version = "1.0.0"
    catalog_id = "iiic"
    task = Task.multiclass
    label_names = CLASSES
    fields = {"eeg": "eeg", "votes": "tabular"}
    split_fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    split_seed = 0
    split_policy = "seeded 60/20/20 split grouped by patient_id (never by segment), stratified by label"
    default_params: dict[str, Any] = {"seconds": 10.0, "nan": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if not 0 < float(self.params["seconds"]) <= ANNOTATED_SECONDS:
            raise ValueError(f"seconds must be in (0, {ANNOTATED_SECONDS}], not {self.params['seconds']!r}")
        if self.params["nan"] not in ("error", "zero"):
            raise ValueError(f"nan must be 'error' or 'zero', not {self.params['nan']!r}")
        self.nan_filled = 0  # samples whose NaN values nan=zero set to 0 (recorded in the card)

    def _table(self, raw: Path) -> pd.DataFrame:
        path = raw / "train.csv"
        df = read_table(path, COLUMNS)
        require_values(path, df, COLUMNS)
        if df["label_id"].duplicated().any():
            raise PrepareError(path, "label_id is not unique")
        ids = df["label_id"].astype(str).tolist()
        mapper = self.label_mapper(CONSENSUS, what="expert_consensus", source=path)
        labels = [mapper.one(v, f"label_id {i}") for i, v in zip(ids, df["expert_consensus"])]
        mapper.finish()
        df = df.assign(label=labels)
        votes = df[VOTES].to_numpy(float)
        top = votes[np.arange(len(df)), df["label"].to_numpy()] < votes.max(axis=1)
        if top.any():
            raise PrepareError(path, f"{int(top.sum())} row(s) whose expert_consensus is not a most-voted class, e.g. "
                                     f"label_id {df.loc[top, 'label_id'].iloc[0]}")
        return df

    def source_files(self, raw: Path) -> list[Path]:
        df = self._table(raw)
        files = [raw / "train_eegs" / f"{int(e)}.parquet" for e in sorted(df["eeg_id"].unique())]
        absent = [p for p in files if not p.is_file()]
        if absent:
            raise PrepareError(absent[0], f"{len(absent)} recording(s) listed in train.csv are missing, e.g. this one")
        return [raw / "train.csv", *files]

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._table(raw))

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"eeg": {"sampling_rate": RATE, "channel_names": EEG_CHANNELS, "window_seconds": self.params["seconds"],
                        "window": "centre of the annotated 50 s subsample", "units": "as stored (uV)",
                        "samples_with_nan_set_to_0": self.nan_filled},
                "votes": {"feature_names": VOTES, "meaning": "raters' votes per class (soft label)"},
                "label": {"definition": "expert_consensus"}}

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        df = self._table(raw)
        self.nan_filled = 0
        n = int(round(float(self.params["seconds"]) * RATE))
        for eeg_id, rows in df.groupby("eeg_id", sort=True):
            path = raw / "train_eegs" / f"{int(eeg_id)}.parquet"
            data = read_recording(path)
            for row in rows.itertuples():
                start = int(round((float(row.eeg_label_offset_seconds) + ANNOTATED_SECONDS / 2) * RATE)) - n // 2
                if start < 0 or start + n > data.shape[1]:
                    raise PrepareError(path, f"label_id {row.label_id}: window {start}..{start + n} is outside the "
                                             f"recording ({data.shape[1]} samples)")
                window = data[:, start:start + n]
                if not np.isfinite(window).all():
                    if self.params["nan"] == "error":
                        raise PrepareError(path, f"label_id {row.label_id}: NaN in the EEG window; pass nan=zero to "
                                                 "fill them with 0 (counted in the card)")
                    self.nan_filled += 1
                    window = np.nan_to_num(window, nan=0.0)
                yield {"sample_id": str(row.label_id), "patient_id": str(row.patient_id), "split": None,
                       "label": int(row.label), "eeg": np.ascontiguousarray(window, dtype=np.float32),
                       "votes": np.array([getattr(row, v) for v in VOTES], dtype=np.float32)}


def read_recording(path: Path) -> np.ndarray:
    """(19, samples) float32 EEG of one HMS parquet recording (EKG dropped)."""
    try:
        table = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for broken files
        raise PrepareError(path, f"unreadable parquet file ({type(e).__name__}: {e})") from None
    missing = [c for c in EEG_CHANNELS if c not in table.columns]
    if missing:
        raise PrepareError(path, f"missing EEG column(s) {missing}; present: {list(table.columns)}")
    return table[EEG_CHANNELS].to_numpy(np.float32).T
