"""Sleep staging: SHHS (NSRR) and ISRUC-Sleep -> 30 s C3/C4 epochs at 125 Hz, stages W/N1/N2/N3/REM.

SHHS (NSRR download layout)::

    polysomnography/edfs/shhs1/shhs1-200001.edf
    polysomnography/annotations-events-nsrr/shhs1/shhs1-200001-nsrr.xml

The EDF holds C4-A1 as `EEG` and C3-A2 as `EEG(sec)` (also spelt `EEG2`, `EEG 2`,
`EEG sec`); stages are the XML `ScoredEvent`s whose `EventType` is `Stages|Stages`
with `EventConcept` `<name>|<code>` (0 W, 1-4 stage 1-4, 5 REM, 6 movement, 9 unscored).
Patient id = the NSRR subject id (`200001`), shared by the shhs1 and shhs2 visits.

ISRUC-Sleep (official archives, extracted)::

    <subgroup>/<subject>/<subject>.rec          (an EDF file with a .rec suffix)
    <subgroup>/<subject>/<subject>_1.txt        (scorer 1: one stage code per 30 s epoch)

Codes 0 W, 1 N1, 2 N2, 3 N3, 4 (old S4) -> N3, 5 REM; anything else is dropped. The
scorer files of ISRUC list up to 30 epochs more than the EEG holds (a known quirk of
the release); those trailing labels are ignored, a larger mismatch is an error.
Patient id = the subject folder (subgroup II nests sessions: `<subject>/<session>/`).

Both: N4 -> N3; unscored/movement epochs dropped (SHHS 6 and 9: left out and counted per
code in the card); SHHS epochs no stage event covers are left out and counted; ISRUC's
trailing scored epochs beyond the EEG are counted; a stage code in neither table is an
error naming the file, epoch and code. C3 and C4 resampled to `rate` Hz; no official split,
so seeded splits grouped by subject and stratified by stage.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from climb.extras import require
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.ecg_challenge import resample

EPOCH_S = 30
SHHS_STAGE = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "N3", 5: "REM", 6: None, 9: None}  # 6 movement, 9 unscored
ISRUC_STAGE = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "N3", 5: "REM"}
ISRUC_LABEL_EXCESS = 30  # trailing scorer epochs beyond the EEG that the release is known to carry


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip().upper())


class _EdfFile:
    """Labels, rates and lazy channel reads of an EDF file (pyedflib; mne as a fallback).

    pyedflib reads any suffix (ISRUC's `.rec`); mne is used for `.edf` files whose
    headers pyedflib rejects (mne reads every channel at the highest rate, in V).
    """

    def __init__(self, path: Path):
        pyedflib = require("pyedflib", "EDF recordings")

        self.path, self._edf, self._mne = path, None, None
        try:
            self._edf = pyedflib.EdfReader(str(path))
            self.labels = list(self._edf.getSignalLabels())
            self.rates = [float(self._edf.getSampleFrequency(i)) for i in range(len(self.labels))]
            return
        except Exception as first:
            problem = f"{type(first).__name__}: {first}"
        if path.suffix.lower() != ".edf":
            raise PrepareError(path, f"not a readable EDF file ({problem})")
        mne = require("mne", "EDF recordings pyedflib rejects")
        try:
            self._mne = mne.io.read_raw_edf(str(path), preload=False, verbose="error")
        except Exception as e:
            raise PrepareError(path, f"not a readable EDF file ({type(e).__name__}: {e})") from None
        self.labels = list(self._mne.ch_names)
        self.rates = [float(self._mne.info["sfreq"])] * len(self.labels)

    def read(self, index: int) -> np.ndarray:
        try:
            if self._edf is not None:
                return np.asarray(self._edf.readSignal(index), dtype=np.float64)
            return self._mne.get_data(picks=[index])[0] * 1e6
        except Exception as e:
            problem = f"channel {self.labels[index]} unreadable ({type(e).__name__}: {e})"
            raise PrepareError(self.path, problem) from None

    def close(self) -> None:
        if self._edf is not None:
            self._edf.close()


def read_edf_channels(path: Path, wanted: dict[str, Sequence[str]], rate: float) -> np.ndarray:
    """Read the channels `wanted` (output name -> accepted EDF labels) resampled to `rate` Hz.

    Returns (len(wanted), samples) float32, trimmed to the shortest channel. Raises
    PrepareError naming the file when it cannot be read or a channel is missing.
    """
    edf = _EdfFile(path)
    try:
        normed = [_norm(lab) for lab in edf.labels]
        rows = []
        for name, aliases in wanted.items():
            idx = next((normed.index(_norm(a)) for a in aliases if _norm(a) in normed), None)
            if idx is None:
                raise PrepareError(path, f"required channel {name} (one of {list(aliases)}) is missing; "
                                         f"EDF has {edf.labels}")
            rows.append(resample(edf.read(idx), edf.rates[idx], rate))
    finally:
        edf.close()
    n = min(len(r) for r in rows)
    data = np.stack([r[:n] for r in rows]).astype(np.float32)
    if not np.isfinite(data).all():
        raise PrepareError(path, "signal has NaN or inf values")
    return data


def epochs_of(data: np.ndarray, stages: Sequence[int | None], rate: int) -> Iterator[tuple[int, np.ndarray, int]]:
    """Yield (epoch index, (C, 30*rate) window, class index) for every epoch with a class."""
    n = EPOCH_S * rate
    for i, stage in enumerate(stages):
        if stage is not None:
            yield i, data[:, i * n:(i + 1) * n], stage


class SleepBuilder(Builder):
    """Shared parts: task, fields, split policy; subclasses find recordings and stages."""

    version = "1.0.0"
    fields = {"eeg": "eeg"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = "no official split: seeded (0) 70/10/20 split grouped by subject, stratified by stage"
    default_params: dict[str, Any] = {"rate": 125}
    channel_names = ["C3", "C4"]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"eeg": {"sampling_rate": self.params["rate"], "channel_names": self.channel_names,
                        "epoch_seconds": EPOCH_S, "units": "as stored in the EDF (uV)"}}

    def stage_mapper(self, table: dict[int, str | None], raw: Path):
        """The label mapper of the stage codes (epochs without a code are left out, counted)."""
        return self.label_mapper(table, what="sleep stage code", source=raw, missing="exclude")

    def _samples(self, record: str, patient: str, data: np.ndarray, stages: list[int | None]):
        for i, window, stage in epochs_of(data, stages, self.params["rate"]):
            yield {"sample_id": f"{record}-{i:05d}", "patient_id": patient, "split": None,
                   "label": stage, "eeg": window}


@register_builder("shhs")
class SHHS(SleepBuilder):
    """SHHS EDF + NSRR XML -> C3-A2 / C4-A1 30 s epochs."""

    catalog_id = "shhs"
    channel_names = ["C3-A2", "C4-A1"]
    CHANNELS = {"C3-A2": ["EEG(sec)", "EEG2", "EEG 2", "EEG sec", "EEG(SEC)"], "C4-A1": ["EEG"]}

    def pairs(self, raw: Path) -> list[tuple[Path, Path]]:
        edfs = sorted((raw / "polysomnography" / "edfs").rglob("*.edf"))
        if not edfs:
            raise PrepareError(raw / "polysomnography" / "edfs", "no SHHS EDF files found")
        ann = raw / "polysomnography" / "annotations-events-nsrr"
        out = []
        for edf in edfs:
            xml = ann / edf.parent.name / f"{edf.stem}-nsrr.xml"
            if not xml.is_file():
                raise PrepareError(edf, f"no matching NSRR annotation file {xml}")
            out.append((edf, xml))
        return out

    def source_files(self, raw: Path) -> list[Path]:
        return [p for pair in self.pairs(raw) for p in pair]

    @staticmethod
    def stage_codes(xml: Path, n_epochs: int) -> list[int | None]:
        """Per-epoch NSRR stage code (None where no stage event covers the epoch) from an XML file."""
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError as e:
            raise PrepareError(xml, f"malformed XML ({e})") from None
        codes: list[int | None] = [None] * n_epochs
        found = False
        for ev in root.iter("ScoredEvent"):
            if not (ev.findtext("EventType") or "").startswith("Stages"):
                continue
            found = True
            try:
                code = int((ev.findtext("EventConcept") or "").rsplit("|", 1)[-1])
                start, dur = float(ev.findtext("Start")), float(ev.findtext("Duration"))
            except (TypeError, ValueError):
                raise PrepareError(xml, f"stage event without a valid concept/start/duration: "
                                        f"{ET.tostring(ev, encoding='unicode')[:200]}") from None
            first, count = int(round(start / EPOCH_S)), int(round(dur / EPOCH_S))
            if first + count > n_epochs:
                raise PrepareError(xml, f"stage events reach epoch {first + count}, but the EDF holds "
                                        f"only {n_epochs} epochs")
            codes[first:first + count] = [code] * count
        if not found:
            raise PrepareError(xml, "no sleep stage events (EventType 'Stages|Stages')")
        return codes

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate = self.params["rate"]
        mapper = self.stage_mapper(SHHS_STAGE, raw)
        for edf, xml in self.pairs(raw):
            data = read_edf_channels(edf, self.CHANNELS, rate)
            codes = self.stage_codes(xml, data.shape[1] // (EPOCH_S * rate))
            stages = [mapper.one(c, f"{xml.name} epoch {i}") for i, c in enumerate(codes)]
            patient = edf.stem.split("-")[-1]
            yield from self._samples(edf.stem, patient, data, stages)
        mapper.finish()


@register_builder("isruc")
class ISRUC(SleepBuilder):
    """ISRUC-Sleep .rec (EDF) + scorer text file -> C3 / C4 30 s epochs."""

    catalog_id = "isruc"
    channel_names = ["C3-A2", "C4-A1"]
    CHANNELS = {"C3-A2": ["C3-A2", "C3-M2", "EEG C3-A2", "C3"], "C4-A1": ["C4-A1", "C4-M1", "EEG C4-A1", "C4"]}
    default_params: dict[str, Any] = {"rate": 125, "scorer": 1}

    def pairs(self, raw: Path) -> list[tuple[Path, Path]]:
        recs = sorted(raw.rglob("*.rec"))
        if not recs:
            raise PrepareError(raw, "no ISRUC .rec recordings found")
        out = []
        for rec in recs:
            txt = rec.with_name(f"{rec.stem}_{self.params['scorer']}.txt")
            if not txt.is_file():
                raise PrepareError(rec, f"no scorer file {txt.name} beside the recording")
            out.append((rec, txt))
        return out

    def source_files(self, raw: Path) -> list[Path]:
        return [p for pair in self.pairs(raw) for p in pair]

    @staticmethod
    def stage_codes(txt: Path, n_epochs: int) -> list[int]:
        """The scorer's codes, one per 30 s epoch (possibly up to ISRUC_LABEL_EXCESS more than the EEG)."""
        try:
            codes = [int(line) for line in txt.read_text().split()]
        except ValueError as e:
            raise PrepareError(txt, f"scorer file has a non-integer stage code ({e})") from None
        if not codes or len(codes) > n_epochs + ISRUC_LABEL_EXCESS:
            raise PrepareError(txt, f"{len(codes)} scored epochs do not match the recording's {n_epochs} "
                                    f"(at most {ISRUC_LABEL_EXCESS} trailing extra epochs are tolerated)")
        return codes

    @staticmethod
    def patient(raw: Path, rec: Path) -> str:
        parts = rec.parent.relative_to(raw).parts
        if len(parts) >= 2 and parts[-1].isdigit() and parts[-2].isdigit():  # <subject>/<session>/
            parts = parts[:-1]
        return "/".join(parts) or rec.stem

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate = self.params["rate"]
        mapper = self.stage_mapper(ISRUC_STAGE, raw)
        for rec, txt in self.pairs(raw):
            data = read_edf_channels(rec, self.CHANNELS, rate)
            n_epochs = data.shape[1] // (EPOCH_S * rate)
            codes = self.stage_codes(txt, n_epochs)
            stages = [mapper.one(c, f"{txt.name} epoch {i}") for i, c in enumerate(codes[:n_epochs])]
            for i in range(n_epochs, len(codes)):
                mapper.exclude("scored epoch after the end of the EEG (known ISRUC quirk)", f"{txt.name} epoch {i}")
            patient = self.patient(raw, rec)
            yield from self._samples(f"{patient}/{rec.stem}", patient, data, stages)
        mapper.finish()
