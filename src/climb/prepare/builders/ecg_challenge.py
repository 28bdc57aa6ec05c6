"""Chapman-Shaoxing, Georgia and CPSC 2018 in the PhysioNet/CinC 2020/2021 challenge layout.

Each record is a WFDB header `<name>.hea` plus its signal file (`.mat` in the challenge
releases and PhysioNet `ecg-arrhythmia`, `.dat` elsewhere), anywhere below the raw folder
(e.g. `training/cpsc_2018/g1/A0001.hea`, `WFDB/E00009.hea`, `WFDBRecords/01/010/JS00001.hea`).
Records are told apart by their name prefix: CPSC 2018 `A`, Georgia `E`, Chapman `JS`.

The releases people download, as the real files show (real_samples/georgia, cpsc2018,
chapman and the public files cited):

* Challenge 2020 (1.0.2) Georgia: the record line names the signal file,
  `E00009.mat 12 500 5000 05-May-2020 14:50:55`, which the WFDB format (and wfdb) reject as a
  record name; the builder strips the suffix when it is exactly `<record>.mat|.dat` (counted
  in `fields.signal.record_lines_with_file_suffix`). Signal lines `E00009.mat 16+24 4880/mV`.
* Challenge 2021 (1.0.3) Georgia: `E00001 12 500 5000` and `E00001.mat 16x1+24 1000.0(0)/mV`
  (header quoted in a public test of physionet.org/files/challenge-2021/1.0.3/training/
  georgia/g1/E00001.hea). The digital values are those of 2020; the stated gain differs
  (1000 vs 4880 per mV), so the two releases give amplitudes 4.88x apart: the builder uses
  the gain each header states, and the card records it (`fields.signal.adc_gains`).
* CPSC 2018 in the 2020 release: `A5432 12 500 5000 12-May-2020 12:33:59`, gain 1000/mV,
  `#Dx:` SNOMED codes. Its pre-release headers wrote abbreviations (`#Dx: RBBB`), read
  through `CPSC2018_ABBREVIATIONS` for the `cpsc` builder only.
* Chapman (PhysioNet ecg-arrhythmia 1.0.0): `JS00001 12 500 5000` (no date), gain 1000/mV,
  `RECORDS` files list the records (JS00003 is absent in the real folder).

`.mat` signals are MATLAB v4 files holding `val` (leads x samples, int16), read with scipy as
the challenge's own loading code does and scaled with the header's gain and baseline by
wfdb (`Record.dac`); `.dat` records are read by wfdb.

Labels: the `#Dx:` tokens mapped to ECG7 by the explicit tables of
`climb.prepare.labels.ecg_snomed` (multilabel; several positives stay several). A token in no
table follows `unknown_codes`: `error` (default: one error naming the codes and records),
`other` (counted as Other) or `drop` (the code is ignored; a record left without any class is
left out); the card's `label_mapping` says how many records and which codes.
The challenge publishes no patient ids and its test sets are hidden, so each record is its
own patient and splits are seeded, stratified and grouped by record.
Signals: 12 leads in the standard order, resampled to `rate` Hz and cut (or zero-padded at
the end) to `seconds` s, in mV.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels.ecg_snomed import ecg7_names, ecg7_table, split_codes
from climb.prepare.labels.mapping import UNKNOWN_POLICIES, check_policy

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


def read_challenge_header(hea: Path):
    """The wfdb header of `hea` and whether its record line named the signal file (Georgia 2020).

    Such a header is parsed from a corrected copy in a temporary folder (the raw files are
    never changed); any other record name that is not the file's own is an error.
    """
    import wfdb

    try:
        lines = hea.read_text(encoding="ascii", errors="strict").splitlines()
        first = next(i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#"))
    except (OSError, UnicodeDecodeError, StopIteration) as e:
        raise PrepareError(hea, f"malformed WFDB header ({type(e).__name__}: no readable record line)") from None
    name = lines[first].split()[0]
    if name == hea.stem:
        return _rdheader(hea, hea.with_suffix("")), False
    if Path(name).stem != hea.stem or Path(name).suffix.lower() not in (".mat", ".dat"):
        raise PrepareError(hea, f"malformed WFDB header: the record line names {name!r}, not {hea.stem!r}")
    from climb.safeio import atomic_write_text

    lines[first] = lines[first].replace(name, hea.stem, 1)
    with tempfile.TemporaryDirectory(prefix="climb-wfdb-") as scratch:
        atomic_write_text(Path(scratch) / hea.name, "\n".join(lines) + "\n")
        return _rdheader(hea, Path(scratch) / hea.stem), True


def _rdheader(hea: Path, record: Path):
    import wfdb

    try:
        return wfdb.rdheader(str(record))
    except Exception as e:  # wfdb raises many types for bad headers
        raise PrepareError(hea, f"malformed WFDB header ({type(e).__name__}: {e})") from None


def read_challenge_signal(hea: Path, header) -> np.ndarray:
    """Physical signal (samples, leads) of a record whose header `header` was read from `hea`."""
    import wfdb

    if not header.file_name or not header.n_sig or not header.sig_len:
        raise PrepareError(hea, "malformed WFDB header: no signal lines or no length")
    data_file = hea.parent / header.file_name[0]
    if not data_file.is_file():
        raise PrepareError(data_file, "signal file named in the header is missing")
    try:
        if data_file.suffix.lower() == ".mat":
            from scipy.io import loadmat

            val = np.asarray(loadmat(str(data_file))["val"])
            if val.shape != (header.n_sig, header.sig_len) or val.dtype.kind not in "iu":
                raise ValueError(f"'val' is {val.dtype} {val.shape}, header says ({header.n_sig}, {header.sig_len})")
            digital = copy.copy(header)
            digital.d_signal = val.T.astype(np.int64)
            sig = digital.dac()
        else:
            sig = wfdb.rdrecord(str(hea.with_suffix(""))).p_signal
    except Exception as e:
        raise PrepareError(data_file, f"unreadable or truncated signal file ({type(e).__name__}: {e})") from None
    if sig is None or sig.shape != (header.sig_len, header.n_sig):
        raise PrepareError(data_file, f"signal shape {None if sig is None else sig.shape} != header's "
                                      f"({header.sig_len}, {header.n_sig})")
    return sig


@dataclass
class _Record:
    hea: Path
    label: np.ndarray
    age: float
    sex: float


class ChallengeECG(Builder):
    """One WFDB record of the challenge layout -> a (12, rate*seconds) signal, ECG7 multilabel."""

    version = "1.1.0"
    fields = {"signal": "signal", "age": "scalar", "sex": "scalar"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no official split (challenge test sets are hidden): seeded (0) 70/10/20 split "
                    "stratified by ECG7 label set; one record per patient (no patient ids published)")
    default_params: dict[str, Any] = {"source": "cpsc", "rate": 500, "seconds": 10.0, "unknown_codes": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["source"] not in PREFIX:
            raise ValueError(f"unknown source {self.params['source']!r}; known: {sorted(PREFIX)}")
        check_policy("unknown_codes", self.params["unknown_codes"], UNKNOWN_POLICIES)
        self.catalog_id = self.params["source"]
        self._cache: dict[Path, tuple[list[_Record], list[Path], dict[str, Any]]] = {}

    def headers(self, raw: Path) -> list[Path]:
        pattern = re.compile(rf"^{PREFIX[self.params['source']]}\d+$")
        found = sorted(p for p in raw.rglob("*.hea") if pattern.match(p.stem))
        if not found:
            raise PrepareError(raw, f"no {PREFIX[self.params['source']]}*.hea records found below this folder")
        return found

    def _scan(self, raw: Path) -> tuple[list[_Record], list[Path], dict[str, Any]]:
        """Every header read and its labels mapped, before any signal: (records, files, stats)."""
        key = Path(raw).resolve()
        if key in self._cache:
            return self._cache[key]
        mapper = self.label_mapper(
            ecg7_table(abbreviations=self.params["source"] == "cpsc"), what="Dx code", source=raw,
            unknown=self.params["unknown_codes"], other="Other",
            hint="unknown_codes=other counts them as Other, unknown_codes=drop ignores them")
        records, files, fixed, gains = [], [], 0, set()
        for hea in self.headers(raw):
            header, suffixed = read_challenge_header(hea)
            fixed += suffixed
            gains.update(float(g) for g in header.adc_gain or [])
            files += [hea, *(hea.parent / name for name in sorted(set(header.file_name or [])))]
            meta = parse_comments(list(header.comments or []))
            names = mapper.many(split_codes(meta.get("dx", "")), hea.relative_to(raw).as_posix())
            if names is not None:
                records.append(_Record(hea, mapper.multi_hot(ecg7_names(names)), _age(meta.get("age")),
                                       _sex(meta.get("sex"))))
        mapper.finish()
        stats = {"record_lines_with_file_suffix": fixed, "adc_gains": sorted(gains)}
        self._cache[key] = (records, files, stats)
        return self._cache[key]

    def records(self, raw: Path) -> list[_Record]:
        return self._scan(raw)[0]

    def source_files(self, raw: Path) -> list[Path]:
        return self._scan(raw)[1]  # every record read, also those a policy left out

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self.records(raw))

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"signal": {"sampling_rate": self.params["rate"], "lead_names": LEADS12, "units": "mV",
                           **self._scan(raw)[2]},
                "age": {"units": "years", "missing": "NaN"}, "sex": {"coding": "1 = male, 0 = female, NaN unknown"}}

    def _leads(self, sig: np.ndarray, names: list[str], hea: Path) -> np.ndarray:
        index = {n.lower(): i for i, n in enumerate(names)}
        missing = [lead for lead in LEADS12 if lead.lower() not in index]
        if missing:
            raise PrepareError(hea, f"missing lead(s) {missing}; header has {names}")
        return sig[[index[lead.lower()] for lead in LEADS12]]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        rate, seconds = self.params["rate"], float(self.params["seconds"])
        for rec in self.records(raw):
            header, _ = read_challenge_header(rec.hea)
            sig = self._leads(read_challenge_signal(rec.hea, header).T, list(header.sig_name), rec.hea)
            if not np.isfinite(sig).all():
                raise PrepareError(rec.hea, "signal has NaN (WFDB missing-sample) values")
            sig = fit_length(resample(sig, float(header.fs), rate), int(round(rate * seconds))).astype(np.float32)
            yield {"sample_id": rec.hea.stem, "patient_id": rec.hea.stem, "split": None, "label": rec.label,
                   "signal": sig, "age": rec.age, "sex": rec.sex}


for _source in PREFIX:
    register_builder(_source, source=_source)(ChallengeECG)
