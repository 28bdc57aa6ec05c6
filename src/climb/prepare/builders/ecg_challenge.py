"""Chapman-Shaoxing, Georgia and CPSC 2018 in the PhysioNet/CinC 2020/2021 challenge layout.

Each record is a WFDB header `<name>.hea` plus its signal file (`.mat` in the challenge
release, `.dat` elsewhere), anywhere below the raw folder (e.g.
`training/cpsc_2018/g1/A0001.hea`, `WFDBRecords/01/010/JS00001.hea`). The header
comments carry `#Age`, `#Sex` and `#Dx: <SNOMED-CT codes>`. Records are told apart
by their name prefix: CPSC 2018 `A`, Georgia `E`, Chapman-Shaoxing `JS`.

Labels: the Dx codes mapped to ECG7 by the explicit table in
`climb.prepare.labels.ecg_snomed` (multilabel; several positives stay several).
The challenge publishes no patient ids and its test sets are hidden, so each record
is its own patient and splits are seeded, stratified and grouped by record.
Signals: 12 leads in the standard order, resampled to `rate` Hz and cut (or
zero-padded at the end) to `seconds` s, in mV.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels import ECG7
from climb.prepare.labels.ecg_snomed import snomed_to_ecg7

LEADS12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
PREFIX = {"cpsc": "A", "georgia": "E", "chapman": "JS"}


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = -1) -> np.ndarray:
    """Polyphase resampling of `x` along `axis` from `fs_in` to `fs_out` Hz."""
    if np.isclose(fs_in, fs_out):
        return x
    from scipy.signal import resample_poly

    ratio = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, axis=axis)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Cut the last axis to `n` samples, or zero-pad it at the end."""
    if x.shape[-1] >= n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad)


def parse_comments(comments: list[str]) -> dict[str, str]:
    """`['Age: 53', 'Sex: Male', 'Dx: 1,2']` -> {'age': '53', 'sex': 'Male', 'dx': '1,2'}."""
    out = {}
    for line in comments:
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _age(text: str | None) -> float:
    try:
        return float(text) if text is not None else float("nan")
    except ValueError:
        return float("nan")


def _sex(text: str | None) -> float:
    return {"male": 1.0, "m": 1.0, "female": 0.0, "f": 0.0}.get((text or "").strip().lower(), float("nan"))


class ChallengeECG(Builder):
    """One WFDB record of the challenge layout -> a (12, rate*seconds) signal, ECG7 multilabel."""

    version = "1.0.0"
    task = Task.multilabel
    label_names = list(ECG7)
    fields = {"signal": "signal", "age": "scalar", "sex": "scalar"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no official split (challenge test sets are hidden): seeded (0) 70/10/20 split "
                    "stratified by ECG7 label set; one record per patient (no patient ids published)")
    default_params: dict[str, Any] = {"source": "cpsc", "rate": 500, "seconds": 10.0}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["source"] not in PREFIX:
            raise ValueError(f"unknown source {self.params['source']!r}; known: {sorted(PREFIX)}")
        self.catalog_id = self.params["source"]

    def headers(self, raw: Path) -> list[Path]:
        pattern = re.compile(rf"^{PREFIX[self.params['source']]}\d+$")
        found = sorted(p for p in raw.rglob("*.hea") if pattern.match(p.stem))
        if not found:
            raise PrepareError(raw, f"no {PREFIX[self.params['source']]}*.hea records found below this folder")
        return found

    def source_files(self, raw: Path) -> list[Path]:
        files: list[Path] = []
        for hea in self.headers(raw):
            files.append(hea)
            files.extend(hea.parent / name for name in sorted(set(self._header(hea).file_name or [])))
        return files

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self.headers(raw))

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"signal": {"sampling_rate": self.params["rate"], "lead_names": LEADS12, "units": "mV"},
                "age": {"units": "years", "missing": "NaN"}, "sex": {"coding": "1 = male, 0 = female, NaN unknown"}}

    @staticmethod
    def _header(hea: Path):
        import wfdb

        try:
            return wfdb.rdheader(str(hea.with_suffix("")))
        except Exception as e:
            raise PrepareError(hea, f"malformed WFDB header ({type(e).__name__}: {e})") from None

    def _read(self, hea: Path) -> tuple[np.ndarray, float, list[str], list[str]]:
        import wfdb

        header = self._header(hea)
        data_file = hea.parent / (header.file_name[0] if header.file_name else hea.stem + ".dat")
        if not data_file.is_file():
            raise PrepareError(data_file, "signal file named in the header is missing")
        try:
            rec = wfdb.rdrecord(str(hea.with_suffix("")))
        except Exception as e:
            raise PrepareError(data_file, f"unreadable or truncated signal file ({type(e).__name__}: {e})") from None
        sig = rec.p_signal
        if sig is None or sig.shape != (header.sig_len, header.n_sig):
            raise PrepareError(data_file, f"signal shape {None if sig is None else sig.shape} != header's "
                                          f"({header.sig_len}, {header.n_sig})")
        return sig.T, float(rec.fs), list(rec.sig_name), list(rec.comments)

    def _leads(self, sig: np.ndarray, names: list[str], hea: Path) -> np.ndarray:
        index = {n.lower(): i for i, n in enumerate(names)}
        missing = [lead for lead in LEADS12 if lead.lower() not in index]
        if missing:
            raise PrepareError(hea, f"missing lead(s) {missing}; header has {names}")
        return sig[[index[lead.lower()] for lead in LEADS12]]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate, seconds = self.params["rate"], float(self.params["seconds"])
        for hea in self.headers(raw):
            sig, fs, names, comments = self._read(hea)
            meta = parse_comments(comments)
            if not meta.get("dx"):
                raise PrepareError(hea, "header has no '#Dx:' comment with SNOMED codes")
            sig = self._leads(sig, names, hea)
            if not np.isfinite(sig).all():
                raise PrepareError(hea, "signal has NaN (WFDB missing-sample) values")
            sig = fit_length(resample(sig, fs, rate), int(round(rate * seconds))).astype(np.float32)
            yield {
                "sample_id": hea.stem, "patient_id": hea.stem, "split": None,
                "label": snomed_to_ecg7(meta["dx"]), "signal": sig,
                "age": _age(meta.get("age")), "sex": _sex(meta.get("sex")),
            }


for _source in PREFIX:
    register_builder(_source, source=_source)(ChallengeECG)
