"""Mammography labels: BI-RADS assessment categories and CMMD benign/malignant.

CBIS-DDSM `assessment` is the BI-RADS assessment category 0-5 of each abnormality; an
image with several abnormalities takes the highest (most suspicious) category, as a
radiologist's overall assessment does. CMMD `classification` is Benign / Malignant.
"""

from __future__ import annotations

from climb.prepare.labels import BIRADS

CBIS_ASSESSMENT_TO_BIRADS: dict[int, str] = {k: f"BI-RADS {k}" for k in range(6)}
CMMD_CLASSIFICATION: dict[str, str] = {"Benign": "benign", "Malignant": "malignant"}

__all__ = ["BIRADS", "CBIS_ASSESSMENT_TO_BIRADS", "CMMD_CLASSIFICATION"]
