"""ABIDE I preprocessed (Craddock et al. 2013), AAL-116 ROI time series -> connectivity graphs.

Raw layout: `Phenotypic_V1_0b_preprocessed1.csv` (one row per subject, joined on
`SUB_ID`) and `Functional/<SUB_ID>.mat` (key `ROISignals`, T x 116). One sample per
subject with a .mat file:

* `node_features` (116, 116): the Pearson correlation matrix (row i = node i's features).
  ROIs whose signal is constant have an undefined correlation: their row and column
  are set to 0 (counted in the card: `fields.node_features.constant_roi_signals`).
* `edge_index` (2, E) / `edge_weight` (E,): per node the `top_k` strongest |r| (or, with
  `threshold`, every |r| > threshold), made symmetric so each edge is stored in both
  directions; weight = |r| (the sign stays in `node_features`).
* `tabular`: age, sex, handedness, FIQ/VIQ/PIQ (NaN where missing / -9999) and site
  one-hot. Diagnostic-instrument columns (DSM_IV_TR, ADI_R_*, ADOS_*, SRS_*, SCQ_TOTAL,
  AQ_TOTAL) encode the label and are never read.

Label: DX_GROUP, official coding 1 = autism / 2 = control (a file already recoded to
1 = autism / 0 = control is accepted), stored as 0 = control, 1 = autism.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.prepare.builder import Builder, PrepareError, register_builder

PHENOTYPE = "Phenotypic_V1_0b_preprocessed1.csv"
NUM_ROIS = 116
MISSING = -9999
ABIDE_SITES = ["CALTECH", "CMU", "KKI", "LEUVEN_1", "LEUVEN_2", "MAX_MUN", "NYU", "OHSU", "OLIN", "PITT", "SBL",
               "SDSU", "STANFORD", "TRINITY", "UCLA_1", "UCLA_2", "UM_1", "UM_2", "USM", "YALE"]
DX_OFFICIAL = {1: "autism", 2: "control"}  # ABIDE's DX_GROUP coding
DX_RECODED = {1: "autism", 0: "control"}  # files already recoded to 1 = autism / 0 = control
SEX_MALE = {1: 1.0, 2: 0.0}  # ABIDE: 1 = male, 2 = female
HANDEDNESS = {"R": "right", "L": "left", "Ambi": "mixed", "Mixed": "mixed", "L->R": "mixed"}
FORBIDDEN_PREFIXES = ("DSM_IV_TR", "ADI_R", "ADI_RRB", "ADOS", "SRS_", "SCQ_TOTAL", "AQ_TOTAL")
FEATURE_NAMES = (
    ["age", "sex_male", "handedness_right", "handedness_left", "handedness_mixed", "handedness_score",
     "fiq", "viq", "piq"] + [f"site={s}" for s in ABIDE_SITES]
)
REQUIRED = ["SUB_ID", "SITE_ID", "DX_GROUP", "AGE_AT_SCAN", "SEX", "HANDEDNESS_CATEGORY", "HANDEDNESS_SCORES",
            "FIQ", "VIQ", "PIQ"]


class ABIDE(Builder):
    """ABIDE I subjects with ROI time series -> correlation graph + phenotype samples."""

    version = "1.0.0"
    catalog_id = "abide"
    fields = {"node_features": "node_features", "edge_index": "edge_index", "edge_weight": "edge_weight",
              "tabular": "tabular"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = "seeded (seed 0) 70/10/20 split by subject, stratified by site and diagnosis"
    default_params: dict[str, Any] = {"top_k": 10, "threshold": None}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._stats: dict[str, int] = {}

    def _mats(self, raw: Path) -> list[Path]:
        return sorted((raw / "Functional").glob("*.mat"), key=lambda p: p.stem)

    def source_files(self, raw: Path) -> list[Path]:
        return [raw / PHENOTYPE, *self._mats(raw)]

    def _phenotype(self, raw: Path) -> pd.DataFrame:
        path = raw / PHENOTYPE
        if not path.is_file():
            raise PrepareError(path, "file not found")
        try:
            frame = pd.read_csv(path, usecols=lambda c: not c.startswith(FORBIDDEN_PREFIXES))
        except Exception as e:
            raise PrepareError(path, f"not a readable CSV ({type(e).__name__}: {e})") from None
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            raise PrepareError(path, f"missing column(s) {missing}")
        if not frame["SUB_ID"].is_unique:
            raise PrepareError(path, "SUB_ID is not unique")
        unknown_sites = set(frame["SITE_ID"]) - set(ABIDE_SITES)
        if unknown_sites:
            raise PrepareError(path, f"unknown SITE_ID value(s) {sorted(unknown_sites)}")
        mapper = self.label_mapper(_dx_table(frame["DX_GROUP"]), what="DX_GROUP", source=path)
        frame["label"] = [mapper.one(v, f"SUB_ID {s}") for s, v in zip(frame["SUB_ID"], frame["DX_GROUP"])]
        mapper.finish()
        return frame.set_index("SUB_ID")

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        pheno = self._phenotype(raw)
        mats = self._mats(raw)
        if not mats:
            raise PrepareError(raw / "Functional", "no <SUB_ID>.mat files")
        self._stats = {"subjects": len(mats), "constant_roi_signals": 0}
        for mat in mats:
            sub_id = int(mat.stem) if mat.stem.isdigit() else None
            if sub_id is None or sub_id not in pheno.index:
                raise PrepareError(mat, f"no row with SUB_ID {mat.stem} in {PHENOTYPE}")
            corr, constant = correlation(read_roi_signals(mat))
            self._stats["constant_roi_signals"] += constant
            edge_index, edge_weight = sparsify(corr, self.params["top_k"], self.params["threshold"])
            row = pheno.loc[sub_id]
            yield {
                "sample_id": str(sub_id), "patient_id": str(sub_id), "split": None,
                "label": int(row["label"]), "site": row["SITE_ID"],
                "node_features": corr, "edge_index": edge_index, "edge_weight": edge_weight,
                "tabular": phenotype_features(row),
            }

    def stratum(self, sample: dict[str, Any]) -> object:
        return (sample["site"], sample["label"])

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {
            "tabular": {"feature_names": FEATURE_NAMES, "missing": "NaN"},
            "node_features": {"meaning": "Pearson correlation rows of the AAL-116 ROI time series", **self._stats},
            "edge_index": {"rule": (f"|r| > {self.params['threshold']}" if self.params["threshold"] is not None
                                    else f"top {self.params['top_k']} |r| per node"), "symmetric": True},
            "edge_weight": {"meaning": "|r|"},
        }


def _dx_table(dx: pd.Series) -> dict[int, str]:
    """The official coding (1/2), or the recoded one (1/0) when the file has a 0 and no 2."""
    values = set(pd.to_numeric(dx, errors="coerce").dropna())
    return DX_RECODED if 0 in values and 2 not in values else DX_OFFICIAL


def read_roi_signals(path: Path) -> np.ndarray:
    """The (T, 116) ROI time series of one subject; PrepareError for anything else."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as e:
        raise PrepareError(path, f"not a readable .mat file ({type(e).__name__}: {e})") from None
    if "ROISignals" not in mat:
        keys = [k for k in mat if not k.startswith("__")]
        raise PrepareError(path, f"missing key 'ROISignals'; present: {keys}")
    signals = np.asarray(mat["ROISignals"], dtype=np.float64)
    if signals.ndim != 2 or signals.shape[1] != NUM_ROIS or signals.shape[0] < 3:
        raise PrepareError(path, f"ROISignals has shape {signals.shape}, expected (T >= 3, {NUM_ROIS})")
    if not np.isfinite(signals).all():
        raise PrepareError(path, "ROISignals has NaN or inf values")
    return signals


def correlation(signals: np.ndarray) -> tuple[np.ndarray, int]:
    """Pearson correlation (float32) with constant ROIs' rows/columns set to 0, and their count."""
    constant = signals.std(axis=0) == 0
    centred = signals - signals.mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    norms[constant] = 1.0
    unit = centred / norms
    corr = np.clip(unit.T @ unit, -1.0, 1.0)
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    return corr.astype(np.float32), int(constant.sum())


def sparsify(corr: np.ndarray, top_k: int, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric edge set without self loops: top-k |r| per node, or |r| > threshold."""
    strength = np.abs(corr).astype(np.float64)
    np.fill_diagonal(strength, 0.0)
    if threshold is not None:
        keep = strength > threshold
    else:
        keep = np.zeros_like(strength, dtype=bool)
        order = np.argsort(-strength, axis=1, kind="stable")[:, :top_k]
        np.put_along_axis(keep, order, True, axis=1)
        keep &= strength > 0
    keep |= keep.T
    src, dst = np.nonzero(keep)
    return np.stack([src, dst]).astype(np.int64), strength[src, dst].astype(np.float32)


def phenotype_features(row: pd.Series) -> np.ndarray:
    """age, sex, handedness (one-hot, NaN if unknown), handedness score, IQs, site one-hot."""
    def value(col: str) -> float:
        v = pd.to_numeric(row[col], errors="coerce")
        return float("nan") if pd.isna(v) or v == MISSING else float(v)

    hand = HANDEDNESS.get(str(row["HANDEDNESS_CATEGORY"]).strip())
    hand_hot = [float("nan")] * 3 if hand is None else [float(hand == h) for h in ("right", "left", "mixed")]
    sex = SEX_MALE.get(int(value("SEX")) if not np.isnan(value("SEX")) else -1, float("nan"))
    site = [float(row["SITE_ID"] == s) for s in ABIDE_SITES]
    features = [value("AGE_AT_SCAN"), sex, *hand_hot, value("HANDEDNESS_SCORES"),
                value("FIQ"), value("VIQ"), value("PIQ"), *site]
    return np.array(features, dtype=np.float32)


register_builder("abide")(ABIDE)
