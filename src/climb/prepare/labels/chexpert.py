"""Chest X-ray labels: the 14 CheXpert observations with an explicit uncertainty policy,
and the 6 image-level VinDr-CXR diagnoses.

CheXpert / MIMIC-CXR label files code each observation as 1 (positive), 0 (negative),
-1 (uncertain) or blank (not mentioned). Policies (Irvin et al. 2019):

* ``u_zeros`` (default): uncertain -> 0;  * ``u_ones``: uncertain -> 1.

Blank is always 0. A study with several positives stays multilabel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from climb.prepare.labels import CHEXPERT14

UNCERTAINTY_POLICIES: dict[str, float] = {"u_zeros": 0.0, "u_ones": 1.0}
DEFAULT_UNCERTAINTY = "u_zeros"
CHEXPERT_CODES = (1.0, 0.0, -1.0)  # plus blank

# VinDr-CXR image-level "global" labels (Nguyen et al. 2022): catalog label name -> the
# column name(s) of the official annotation files.
VINDR6_COLUMNS: dict[str, tuple[str, ...]] = {
    "lung tumor": ("Lung tumor",),
    "pneumonia": ("Pneumonia",),
    "tuberculosis": ("Tuberculosis",),
    "COPD": ("COPD",),
    "other": ("Other diseases", "Other disease"),
    "no finding": ("No finding",),
}


def chexpert_vector(values: Sequence[float], policy: str) -> np.ndarray:
    """Raw CheXpert codes (1, 0, -1, NaN) of the 14 observations -> float32 0/1 vector."""
    if policy not in UNCERTAINTY_POLICIES:
        raise ValueError(f"unknown uncertainty policy {policy!r}; known: {sorted(UNCERTAINTY_POLICIES)}")
    v = np.asarray(values, dtype=np.float64)
    out = np.where(np.isnan(v), 0.0, v)
    out = np.where(out == -1.0, UNCERTAINTY_POLICIES[policy], out)
    return out.astype(np.float32)


__all__ = ["CHEXPERT14", "CHEXPERT_CODES", "DEFAULT_UNCERTAINTY", "UNCERTAINTY_POLICIES", "VINDR6_COLUMNS",
           "chexpert_vector"]
