"""SNOMED-CT diagnosis codes of the PhysioNet/CinC 2020/2021 challenge -> the ECG7 label space.

The table is explicit: every code below names its ECG7 group, with the challenge's
abbreviation and description beside it (from `dx_mapping_scored.csv` /
`dx_mapping_unscored.csv`). Rules (documented, never random):

* A record is multi-hot over ECG7; several positives stay several positives.
* "Normal" (sinus rhythm, 426783006) is set only when no abnormal group (CD, HYP,
  MI, STTC, AFib/AFlutter, Other) is positive: sinus rhythm next to a block is a block.
* A code absent from the table is a diagnosis outside the first six groups, so it
  counts as "Other"; `unmapped_codes` lists such codes so a build can report them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from climb.prepare.labels import ECG7

NORMAL, CD, HYP, MI, STTC, AFIB, OTHER = ECG7

# code -> (abbreviation, description, ECG7 group)
SNOMED_ECG7: dict[str, tuple[str, str, str]] = {
    # rhythm: normal
    "426783006": ("NSR", "sinus rhythm", NORMAL),
    # atrial fibrillation / flutter
    "164889003": ("AF", "atrial fibrillation", AFIB),
    "164890007": ("AFL", "atrial flutter", AFIB),
    "195080001": ("AFAFL", "atrial fibrillation and flutter", AFIB),
    # conduction disturbance
    "6374002": ("BBB", "bundle branch block", CD),
    "733534002": ("CLBBB", "complete left bundle branch block", CD),
    "713427006": ("CRBBB", "complete right bundle branch block", CD),
    "164909002": ("LBBB", "left bundle branch block", CD),
    "59118001": ("RBBB", "right bundle branch block", CD),
    "713426002": ("IRBBB", "incomplete right bundle branch block", CD),
    "251120003": ("ILBBB", "incomplete left bundle branch block", CD),
    "445118002": ("LAnFB", "left anterior fascicular block", CD),
    "445211001": ("LPFB", "left posterior fascicular block", CD),
    "698252002": ("NSIVCB", "nonspecific intraventricular conduction disorder", CD),
    "270492004": ("IAVB", "1st degree av block", CD),
    "195042002": ("IIAVB", "2nd degree av block", CD),
    "54016002": ("MoI", "mobitz type i wenckebach atrioventricular block", CD),
    "28189009": ("MoII", "mobitz type ii atrioventricular block", CD),
    "27885002": ("CHB", "complete heart block", CD),
    "233917008": ("AVB", "atrioventricular block", CD),
    "164947007": ("LPR", "prolonged pr interval", CD),
    "74390002": ("WPW", "wolff parkinson white pattern", CD),
    "65778007": ("SAB", "sinoatrial block", CD),
    "50799005": ("AVD", "atrioventricular dissociation", CD),
    # hypertrophy / enlargement
    "164873001": ("LVH", "left ventricular hypertrophy", HYP),
    "89792004": ("RVH", "right ventricular hypertrophy", HYP),
    "266249003": ("VH", "ventricular hypertrophy", HYP),
    "446358003": ("RAH", "right atrial hypertrophy", HYP),
    "446813000": ("LAH", "left atrial hypertrophy", HYP),
    "67741000119109": ("LAE", "left atrial enlargement", HYP),
    "67751000119106": ("RAE", "right atrial enlargement", HYP),
    # myocardial infarction
    "164865005": ("MI", "myocardial infarction", MI),
    "57054005": ("AMI", "acute myocardial infarction", MI),
    "54329005": ("AnMI", "anterior myocardial infarction", MI),
    "164867002": ("OldMI", "old myocardial infarction", MI),
    # ST/T change
    "164934002": ("TAb", "t wave abnormal", STTC),
    "59931005": ("TInv", "t wave inversion", STTC),
    "111975006": ("LQT", "prolonged qt interval", STTC),
    "164930006": ("STIAb", "st interval abnormal", STTC),
    "164931005": ("STE", "st elevation", STTC),
    "429622005": ("STD", "st depression", STTC),
    "55930002": ("STC", "s t changes", STTC),
    "428750005": ("NSSTTA", "nonspecific st t abnormality", STTC),
    "164861001": ("MIs", "myocardial ischemia", STTC),
    "413444003": ("AMIs", "acute myocardial ischemia", STTC),
    "426434006": ("AnMIs", "anterior ischemia", STTC),
    "425623009": ("LIs", "lateral ischaemia", STTC),
    "425419005": ("IIs", "inferior ischaemia", STTC),
    # other rhythms, ectopy, axis, voltage, pacing
    "426627000": ("Brady", "bradycardia", OTHER),
    "426177001": ("SB", "sinus bradycardia", OTHER),
    "427084000": ("STach", "sinus tachycardia", OTHER),
    "427393009": ("SA", "sinus arrhythmia", OTHER),
    "284470004": ("PAC", "premature atrial contraction", OTHER),
    "63593006": ("SVPB", "supraventricular premature beats", OTHER),
    "427172004": ("PVC", "premature ventricular contractions", OTHER),
    "17338001": ("VPB", "ventricular premature beats", OTHER),
    "164884008": ("VEB", "ventricular ectopics", OTHER),
    "11157007": ("VBig", "ventricular bigeminy", OTHER),
    "251180001": ("VTrig", "ventricular trigeminy", OTHER),
    "164895002": ("VTach", "ventricular tachycardia", OTHER),
    "426761007": ("SVT", "supraventricular tachycardia", OTHER),
    "67198005": ("PSVT", "paroxysmal supraventricular tachycardia", OTHER),
    "713422000": ("ATach", "atrial tachycardia", OTHER),
    "426648003": ("JTach", "junctional tachycardia", OTHER),
    "426995002": ("JE", "junctional escape", OTHER),
    "426664006": ("AJR", "accelerated junctional rhythm", OTHER),
    "75532003": ("VEsB", "ventricular escape beat", OTHER),
    "81898007": ("VEsR", "ventricular escape rhythm", OTHER),
    "39732003": ("LAD", "left axis deviation", OTHER),
    "47665007": ("RAD", "right axis deviation", OTHER),
    "251146004": ("LQRSV", "low qrs voltages", OTHER),
    "365413008": ("PRWP", "poor R wave Progression", OTHER),
    "164917005": ("QAb", "qwave abnormal", OTHER),
    "10370003": ("PR", "pacing rhythm", OTHER),
    "251268003": ("AP", "atrial pacing pattern", OTHER),
    "251266004": ("VPP", "ventricular pacing pattern", OTHER),
    "164912004": ("PWC", "p wave change", OTHER),
    "164942001": ("FQRS", "fragmented qrs", OTHER),
    "5609005": ("SARR", "sinus arrest", OTHER),
    "60423000": ("SND", "sinus node dysfunction", OTHER),
}


def _split_codes(codes: Iterable[str] | str) -> list[str]:
    if isinstance(codes, str):
        codes = codes.split(",")
    return [c.strip() for c in codes if c.strip()]


def unmapped_codes(codes: Iterable[str] | str) -> list[str]:
    """The codes of a record that the table does not list (they count as Other)."""
    return [c for c in _split_codes(codes) if c not in SNOMED_ECG7]


def snomed_to_ecg7(codes: Iterable[str] | str) -> np.ndarray:
    """Multi-hot ECG7 vector (float32, len 7) for a record's SNOMED codes ("a,b,c" or a list)."""
    groups = {SNOMED_ECG7[c][2] if c in SNOMED_ECG7 else OTHER for c in _split_codes(codes)}
    if groups - {NORMAL}:
        groups.discard(NORMAL)
    out = np.zeros(len(ECG7), dtype=np.float32)
    for g in groups:
        out[ECG7.index(g)] = 1.0
    return out


__all__ = ["SNOMED_ECG7", "snomed_to_ecg7", "unmapped_codes"]
