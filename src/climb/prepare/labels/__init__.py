"""Harmonised label spaces shared across datasets (from the CLIMB spec).

Each dataset maps its native labels onto one of these with an explicit table in a
module beside this one (e.g. `ecg.py`, `derm.py`); a record with several positives
stays multilabel and no label is ever drawn at random.
"""

from __future__ import annotations

ECG7 = ["Normal", "CD", "HYP", "MI", "STTC", "AFib/AFlutter", "Other"]
PTBXL_SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]
CHEXPERT14 = [
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion",
    "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
    "Pleural Other", "Fracture", "Support Devices",
]
DERM5 = ["MEL", "NV", "BCC", "AKIEC", "OTHER"]
DR5 = ["No DR", "Mild", "Moderate", "Severe", "Proliferative DR"]
BIRADS = ["BI-RADS 0", "BI-RADS 1", "BI-RADS 2", "BI-RADS 3", "BI-RADS 4", "BI-RADS 5"]
SLEEP5 = ["W", "N1", "N2", "N3", "REM"]

__all__ = ["BIRADS", "CHEXPERT14", "DERM5", "DR5", "ECG7", "PTBXL_SUPERCLASSES", "SLEEP5"]
