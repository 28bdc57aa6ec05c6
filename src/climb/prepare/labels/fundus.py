"""Fundus labels -> the harmonised 5-grade diabetic retinopathy scale (DR5, ICDR 0-4).

APTOS 2019 `diagnosis` and Messidor-2 `adjudicated_dr_grade` (Krause et al. 2018) are
both already on the International Clinical DR scale, so their tables are the identity;
they are written out so that an unexpected code fails loudly instead of being cast.
"""

from __future__ import annotations

from climb.prepare.labels import DR5

ICDR_TO_DR5: dict[int, str] = dict(enumerate(DR5))  # 0 No DR, 1 Mild, 2 Moderate, 3 Severe, 4 Proliferative DR
APTOS_TO_DR5 = ICDR_TO_DR5
MESSIDOR2_TO_DR5 = ICDR_TO_DR5

__all__ = ["APTOS_TO_DR5", "DR5", "ICDR_TO_DR5", "MESSIDOR2_TO_DR5"]
