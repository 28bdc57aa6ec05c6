"""Dermoscopy labels -> the harmonised DERM5 space (MEL, NV, BCC, AKIEC, OTHER).

HAM10000 `dx` codes (Tschandl et al. 2018): akiec = actinic keratoses and intraepithelial
carcinoma (Bowen's disease), bcc, bkl = benign keratosis-like lesions, df = dermatofibroma,
mel, nv, vasc = vascular lesions. bkl, df and vasc become OTHER (CLIMB spec).

PAD-UFES-20 `diagnostic` codes (Pacheco et al. 2020): ACK = actinic keratosis -> AKIEC;
SCC = squamous cell carcinoma -> AKIEC (HAM10000's AKIEC class is the keratinocyte
(pre)cancer class: actinic keratosis and intraepithelial SCC / Bowen's disease; PAD-UFES
SCC also includes invasive SCC, which has no closer DERM5 class); SEK = seborrheic
keratosis -> OTHER (HAM10000 files it under bkl, which is OTHER); NEV -> NV; MEL, BCC as is.
"""

from __future__ import annotations

from climb.prepare.labels import DERM5

HAM10000_TO_DERM5: dict[str, str] = {
    "mel": "MEL", "nv": "NV", "bcc": "BCC", "akiec": "AKIEC",
    "bkl": "OTHER", "df": "OTHER", "vasc": "OTHER",
}
PAD_UFES_TO_DERM5: dict[str, str] = {
    "MEL": "MEL", "NEV": "NV", "BCC": "BCC", "ACK": "AKIEC", "SCC": "AKIEC", "SEK": "OTHER",
}
ISIC2020_TARGET: dict[int, str] = {0: "benign", 1: "malignant"}  # ISIC 2020 `target` column

__all__ = ["DERM5", "HAM10000_TO_DERM5", "ISIC2020_TARGET", "PAD_UFES_TO_DERM5"]
