"""SNOMED-CT diagnosis codes of 12-lead ECG releases -> the ECG7 label space (explicit tables).

Sources of the codes (every code that occurs in the releases climb reads):

* the PhysioNet/CinC Challenge 2021 lists `dx_mapping_scored.csv` and `dx_mapping_unscored.csv`
  (github.com/physionetchallenges/evaluation-2021 @ 09de852, 133 codes; a superset of the
  2020 lists in evaluation-2020), which count every code of CPSC, CPSC-Extra, St Petersburg,
  PTB, PTB-XL, Georgia, Chapman-Shaoxing and Ningbo;
* `ConditionNames_SNOMED-CT.csv` of PhysioNet `ecg-arrhythmia` 1.0.0 (the Chapman-Shaoxing /
  Ningbo release climb's `chapman` reads; copy in bakiemrebulut/ECG2HRV_analysis @ d081a5e),
  which adds four codes the challenge lists do not have (`ECG_ARRHYTHMIA_EXTRA`);
* the pre-release CPSC 2018 headers of the 2020 Challenge wrote abbreviations (`#Dx: RBBB`)
  instead of codes; `CPSC2018_ABBREVIATIONS` maps its 9 classes (Normal, AF, I-AVB, LBBB,
  RBBB, PAC, PVC, STD, STE; challenge 2020 README, physionetchallenges.github.io) to the codes
  the final SNOMED release gave the same records (the CPSC column of the dx mapping lists:
  PVC became 164884008 "ventricular ectopics").

Groups follow PTB-XL's diagnostic superclasses (Wagner et al. 2020), as the CLIMB spec asks:
conduction disturbances -> CD, hypertrophy and atrial enlargement -> HYP, infarction -> MI,
ST/T changes and ischaemia -> STTC, atrial fibrillation/flutter -> AFib/AFlutter; every other
rhythm, ectopy, axis, voltage, pacing or morphology statement -> Other (as PTB-XL's rhythm and
form statements are in `ecg_scp`). Rules (documented, never random):

* a record is multi-hot over ECG7; several positives stay several positives;
* "Normal" (sinus rhythm) is set only when no other class is positive: sinus rhythm beside a
  block is a block (`ecg7_names`);
* a code in none of the tables is unknown: the builder's `unknown_codes` policy decides
  (error by default; `other` or `drop`, counted in the card).
"""

from __future__ import annotations

from collections.abc import Iterable

from climb.prepare.labels import ECG7

NORMAL, CD, HYP, MI, STTC, AFIB, OTHER = ECG7

# code -> (abbreviation, description, ECG7 group): the 133 codes of the Challenge 2021 lists.
SNOMED_ECG7: dict[str, tuple[str, str, str]] = {
    # sinus rhythm (Normal only when no abnormal group is positive)
    "426783006": ("NSR", "sinus rhythm", NORMAL),
    # atrial fibrillation / flutter
    "164889003": ("AF", "atrial fibrillation", AFIB),
    "195080001": ("AFAFL", "atrial fibrillation and flutter", AFIB),
    "164890007": ("AFL", "atrial flutter", AFIB),
    "426749004": ("CAF", "chronic atrial fibrillation", AFIB),
    "282825002": ("PAF", "paroxysmal atrial fibrillation", AFIB),
    "314208002": ("RAF", "rapid atrial fibrillation", AFIB),
    # conduction disturbance: bundle branch and fascicular blocks, AV and SA blocks, PR interval, pre-excitation
    "233917008": ("AVB", "av block", CD),
    "50799005": ("AVD", "atrioventricular dissociation", CD),
    "6374002": ("BBB", "bundle branch block", CD),
    "27885002": ("CHB", "complete heart block", CD),
    "204384007": ("CIAHB", "congenital incomplete atrioventricular heart block", CD),
    "733534002": ("CLBBB", "complete left bundle branch block", CD),
    "713427006": ("CRBBB", "complete right bundle branch block", CD),
    "82226007": ("DIB", "diffuse intraventricular block", CD),
    "270492004": ("IAVB", "1st degree av block", CD),
    "195042002": ("IIAVB", "2nd degree av block", CD),
    "426183003": ("IIAVBII", "mobitz type II atrioventricular block", CD),
    "251120003": ("ILBBB", "incomplete left bundle branch block", CD),
    "713426002": ("IRBBB", "incomplete right bundle branch block", CD),
    "445118002": ("LAnFB", "left anterior fascicular block", CD),
    "164909002": ("LBBB", "left bundle branch block", CD),
    "445211001": ("LPFB", "left posterior fascicular block", CD),
    "164947007": ("LPR", "prolonged pr interval", CD),
    "54016002": ("MoI", "mobitz type i wenckebach atrioventricular block", CD),
    "698252002": ("NSIVCB", "nonspecific intraventricular conduction disorder", CD),
    "59118001": ("RBBB", "right bundle branch block", CD),
    "65778007": ("SAB", "sinoatrial block", CD),
    "49578007": ("SPRI", "shortened pr interval", CD),
    "195060002": ("VPEx", "ventricular pre excitation", CD),
    "74390002": ("WPW", "wolff parkinson white pattern", CD),
    # hypertrophy / atrial enlargement or abnormality (PTB-XL files LAO/LAE, RAO/RAE under HYP)
    "195126007": ("AH", "atrial hypertrophy", HYP),
    "253352002": ("LAA", "left atrial abnormality", HYP),
    "67741000119109": ("LAE", "left atrial enlargement", HYP),
    "446813000": ("LAH", "left atrial hypertrophy", HYP),
    "164873001": ("LVH", "left ventricular hypertrophy", HYP),
    "253339007": ("RAAb", "right atrial abnormality", HYP),
    "446358003": ("RAH", "right atrial hypertrophy", HYP),
    "67751000119106": ("RAHV", "right atrial high voltage", HYP),
    "89792004": ("RVH", "right ventricular hypertrophy", HYP),
    "266249003": ("VH", "ventricular hypertrophy", HYP),
    # myocardial infarction
    "57054005": ("AMI", "acute myocardial infarction", MI),
    "54329005": ("AnMI", "anterior myocardial infarction", MI),
    "164865005": ("MI", "myocardial infarction", MI),
    "164867002": ("OldMI", "old myocardial infarction", MI),
    # ST/T change and ischaemia, QT interval, repolarisation (PTB-XL's STTC)
    "413444003": ("AMIs", "acute myocardial ischemia", STTC),
    "426434006": ("AnMIs", "anterior ischemia", STTC),
    "418818005": ("BRU", "brugada", STTC),
    "413844008": ("CMI", "chronic myocardial ischemia", STTC),
    "428417006": ("ERe", "early repolarization", STTC),
    "425419005": ("IIs", "inferior ischaemia", STTC),
    "704997005": ("ISTD", "inferior ST segment depression", STTC),
    "425623009": ("LIs", "lateral ischaemia", STTC),
    "111975006": ("LQT", "prolonged qt interval", STTC),
    "370365005": ("LVS", "left ventricular strain", STTC),
    "164861001": ("MIs", "myocardial ischemia", STTC),
    "428750005": ("NSSTTA", "nonspecific st t abnormality", STTC),
    "77867006": ("SQT", "decreased qt interval", STTC),
    "55930002": ("STC", "s t changes", STTC),
    "429622005": ("STD", "st depression", STTC),
    "164931005": ("STE", "st elevation", STTC),
    "164930006": ("STIAb", "st interval abnormal", STTC),
    "164934002": ("TAb", "t wave abnormal", STTC),
    "59931005": ("TInv", "t wave inversion", STTC),
    # rhythm, ectopy, axis, voltage, pacing, QRS/P-wave morphology, non-ECG diagnoses
    "233892002": ("AAR", "accelerated atrial escape rhythm", OTHER),
    "251173003": ("AB", "atrial bigeminy", OTHER),
    "164951009": ("abQRS", "abnormal QRS", OTHER),
    "251187003": ("AED", "atrial escape beat", OTHER),
    "61277005": ("AIVR", "accelerated idioventricular rhythm", OTHER),
    "426664006": ("AJR", "accelerated junctional rhythm", OTHER),
    "251139008": ("ALR", "suspect arm ecg leads reversed", OTHER),
    "251268003": ("AP", "atrial pacing pattern", OTHER),
    "106068003": ("ARH", "atrial rhythm", OTHER),
    "713422000": ("ATach", "atrial tachycardia", OTHER),
    "29320008": ("AVJR", "atrioventricular junctional rhythm", OTHER),
    "251166008": ("AVNRT", "atrioventricular node reentrant tachycardia", OTHER),
    "233897008": ("AVRT", "atrioventricular reentrant tachycardia", OTHER),
    "251170000": ("BPAC", "blocked premature atrial contraction", OTHER),
    "426627000": ("Brady", "bradycardia", OTHER),
    "74615001": ("BTS", "brady tachy syndrome", OTHER),
    "251199005": ("CCR", "countercolockwise rotation", OTHER),
    "698247007": ("CD", "cardiac dysrhythmia", OTHER),
    "53741008": ("CHD", "coronary heart disease", OTHER),
    "251198002": ("CR", "clockwise rotation", OTHER),
    "61721007": ("CVCL/CCVCL", "clockwise or counterclockwise vectorcardiographic loop", OTHER),
    "13640000": ("FB", "fusion beats", OTHER),
    "164942001": ("FQRS", "fqrs wave", OTHER),
    "84114007": ("HF", "heart failure", OTHER),
    "251259000": ("HTV", "high t-voltage", OTHER),
    "368009": ("HVD", "heart valve disorder", OTHER),
    "251200008": ("ICA", "indeterminate cardiac axis", OTHER),
    "49260003": ("IR", "idioventricular rhythm", OTHER),
    "426995002": ("JE", "junctional escape", OTHER),
    "251164006": ("JPC", "junctional premature complex", OTHER),
    "426648003": ("JTach", "junctional tachycardia", OTHER),
    "39732003": ("LAD", "left axis deviation", OTHER),
    "251146004": ("LQRSV", "low qrs voltages", OTHER),
    "55827005": ("LVHV", "left ventricular high voltage", OTHER),
    "284470004": ("PAC", "premature atrial contraction", OTHER),
    "251205003": ("PPW", "prolonged P wave", OTHER),
    "10370003": ("PR", "pacing rhythm", OTHER),
    "365413008": ("PRWP", "poor R wave Progression", OTHER),
    "67198005": ("PSVT", "paroxysmal supraventricular tachycardia", OTHER),
    "427172004": ("PVC", "premature ventricular contractions", OTHER),
    "425856008": ("PVT", "paroxysmal ventricular tachycardia", OTHER),
    "164912004": ("PWC", "p wave change", OTHER),
    "164917005": ("QAb", "qwave abnormal", OTHER),
    "164921003": ("RAb", "r wave abnormal", OTHER),
    "47665007": ("RAD", "right axis deviation", OTHER),
    "427393009": ("SA", "sinus arrhythmia", OTHER),
    "17366009": ("SAAWR", "sinus atrium to atrial wandering rhythm", OTHER),
    "5609005": ("SARR", "sinus arrest", OTHER),
    "426177001": ("SB", "sinus bradycardia", OTHER),
    "60423000": ("SND", "sinus node dysfunction", OTHER),
    "427084000": ("STach", "sinus tachycardia", OTHER),
    "251168009": ("SVB", "supraventricular bigeminy", OTHER),
    "63593006": ("SVPB", "supraventricular premature beats", OTHER),
    "426761007": ("SVT", "supraventricular tachycardia", OTHER),
    "266257000": ("TIA", "transient ischemic attack", OTHER),
    "251223006": ("TPW", "tall p wave", OTHER),
    "164937009": ("UAb", "u wave abnormal", OTHER),
    "11157007": ("VBig", "ventricular bigeminy", OTHER),
    "164884008": ("VEB", "ventricular ectopics", OTHER),
    "75532003": ("VEsB", "ventricular escape beat", OTHER),
    "81898007": ("VEsR", "ventricular escape rhythm", OTHER),
    "164896001": ("VF", "ventricular fibrillation", OTHER),
    "111288001": ("VFL", "ventricular flutter", OTHER),
    "17338001": ("VPB", "ventricular premature beats", OTHER),
    "251266004": ("VPP", "ventricular pacing pattern", OTHER),
    "251182009": ("VPVC", "paired ventricular premature complexes", OTHER),
    "164895002": ("VTach", "ventricular tachycardia", OTHER),
    "251180001": ("VTrig", "ventricular trigeminy", OTHER),
    "195101003": ("WAP", "wandering atrial pacemaker", OTHER),
}

# Codes of PhysioNet ecg-arrhythmia 1.0.0 (ConditionNames_SNOMED-CT.csv) absent from the challenge lists.
ECG_ARRHYTHMIA_EXTRA: dict[str, tuple[str, str, str]] = {
    "28189009": ("2AVB2", "2 degree atrioventricular block (type two)", CD),
    "233896004": ("AVNRT", "atrioventricular node reentrant tachycardia", OTHER),
    "251147008": ("LVQRSLL", "lower voltage QRS in limb lead", OTHER),
    "251148003": ("LVQRSCL", "lower voltage QRS in chest lead", OTHER),
}

# Pre-release CPSC 2018 header abbreviation -> the SNOMED code of the final release.
CPSC2018_ABBREVIATIONS: dict[str, str] = {
    "Normal": "426783006", "AF": "164889003", "I-AVB": "270492004", "LBBB": "164909002", "RBBB": "59118001",
    "PAC": "284470004", "PVC": "164884008", "STD": "429622005", "STE": "164931005",
}

ALL_CODES: dict[str, tuple[str, str, str]] = {**SNOMED_ECG7, **ECG_ARRHYTHMIA_EXTRA}


def ecg7_table(abbreviations: bool = False) -> dict[str, str]:
    """Dx token -> ECG7 class name: every SNOMED code, plus the CPSC 2018 abbreviations if asked."""
    table = {code: group for code, (_, _, group) in ALL_CODES.items()}
    if abbreviations:
        table.update({abbr: ALL_CODES[code][2] for abbr, code in CPSC2018_ABBREVIATIONS.items()})
    return table


def ecg7_names(names: Iterable[str]) -> list[str]:
    """The ECG7 classes of a record, with Normal dropped when any other class is positive."""
    out = set(names)
    if out - {NORMAL}:
        out.discard(NORMAL)
    return [n for n in ECG7 if n in out]


def split_codes(text: str) -> list[str]:
    """`"164889003, 59118001"` -> `["164889003", "59118001"]` (the `#Dx:` comma list)."""
    return [c.strip() for c in text.split(",") if c.strip()]


__all__ = ["ALL_CODES", "CPSC2018_ABBREVIATIONS", "ECG_ARRHYTHMIA_EXTRA", "SNOMED_ECG7", "ecg7_names",
           "ecg7_table", "split_codes"]
