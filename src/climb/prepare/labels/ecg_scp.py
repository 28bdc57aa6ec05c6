"""PTB-XL SCP-ECG statements -> diagnostic superclasses and the CLIMB 7-class ECG space.

Two explicit tables over all 71 SCP codes of PTB-XL 1.0.3's `scp_statements.csv`:

* `SCP_SUPERCLASS`: the `diagnostic_class` of the 44 diagnostic statements
  (`diagnostic == 1`), exactly as in the CSV; the builder checks the CSV against it.
  As in Strodthoff et al. 2020, every listed diagnostic code counts, whatever its
  likelihood value (PTB-XL gives 0.0 for codes stated without a likelihood).
* `SCP_TO_ECG7`: the CLIMB view (`ECG7`). Diagnostic codes map to their superclass
  (NORM -> "Normal"), AFIB and AFLT to "AFib/AFlutter", every other rhythm or form
  statement to "Other" -- except SR (sinus rhythm), which maps to nothing: it is the
  default rhythm of ~80 % of records, not a finding, and mapping it to "Other" would
  make "Other" mean "has a rhythm statement".

A record keeps every class any of its codes maps to (multilabel); nothing is drawn at
random.
"""

from __future__ import annotations


# Diagnostic SCP statement -> diagnostic superclass (scp_statements.csv, diagnostic == 1).
SCP_SUPERCLASS: dict[str, str] = {
    # NORM
    "NORM": "NORM",
    # MI
    "IMI": "MI", "ASMI": "MI", "ILMI": "MI", "AMI": "MI", "ALMI": "MI", "INJAS": "MI", "LMI": "MI",
    "INJAL": "MI", "IPLMI": "MI", "IPMI": "MI", "INJIN": "MI", "INJLA": "MI", "PMI": "MI", "INJIL": "MI",
    # STTC
    "NDT": "STTC", "NST_": "STTC", "DIG": "STTC", "LNGQT": "STTC", "ISC_": "STTC", "ISCAL": "STTC",
    "ISCIN": "STTC", "ISCIL": "STTC", "ISCAS": "STTC", "ISCLA": "STTC", "ANEUR": "STTC", "EL": "STTC",
    "ISCAN": "STTC",
    # CD
    "LAFB": "CD", "IRBBB": "CD", "1AVB": "CD", "IVCD": "CD", "CRBBB": "CD", "CLBBB": "CD", "LPFB": "CD",
    "WPW": "CD", "ILBBB": "CD", "3AVB": "CD", "2AVB": "CD",
    # HYP
    "LVH": "HYP", "LAO/LAE": "HYP", "RVH": "HYP", "RAO/RAE": "HYP", "SEHYP": "HYP",
}

# Non-diagnostic (rhythm / form) statements of PTB-XL.
RHYTHM_CODES = ("SR", "AFIB", "STACH", "SARRH", "SBRAD", "PACE", "SVARR", "BIGU", "AFLT", "SVTAC",
                "PSVT", "TRIGU")
FORM_CODES = ("ABQRS", "PVC", "STD_", "VCLVH", "QWAVE", "LOWT", "NT_", "PAC", "LPR", "INVT", "LVOLT",
              "HVOLT", "TAB_", "STE_", "PRC(S)")

_SUPERCLASS_TO_ECG7 = {"NORM": "Normal", "MI": "MI", "STTC": "STTC", "CD": "CD", "HYP": "HYP"}

# Every SCP code -> CLIMB ECG7 class name, or None (no class: sinus rhythm).
SCP_TO_ECG7: dict[str, str | None] = {
    **{code: _SUPERCLASS_TO_ECG7[sup] for code, sup in SCP_SUPERCLASS.items()},
    **{code: "Other" for code in RHYTHM_CODES + FORM_CODES},
    "AFIB": "AFib/AFlutter",
    "AFLT": "AFib/AFlutter",
    "SR": None,
}

ALL_SCP_CODES = frozenset(SCP_TO_ECG7)


__all__ = ["ALL_SCP_CODES", "FORM_CODES", "RHYTHM_CODES", "SCP_SUPERCLASS", "SCP_TO_ECG7"]
