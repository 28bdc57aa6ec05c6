"""Head CT slices with or without intracranial hemorrhage (1 channel): CT-ICH and Kaggle head_ct.

``hemorrhage`` -- CT-ICH (Hssayeni et al. 2020), the 2,501 slices of 82 patients CLIMB
uses. Layout of the JPEG releases (PhysioNet ct-ich 1.0.0-1.2.0, and the Kaggle copy
``vbookshelf/computed-tomography-ct-images`` that CLIMB's own loader downloads), as the
publisher's README.txt describes it and a real ``hemorrhage_diagnosis.csv`` shows
(github.com/user17359/hemorrhage_classification, 2,501 rows)::

    hemorrhage_diagnosis.csv   PatientNumber, SliceNumber, Intraventricular, Intraparenchymal,
                               Subarachnoid, Epidural, Subdural, No_Hemorrhage, Fracture_Yes_No
    Patients_CT/<patient>/brain/<slice>.jpg        brain-window slice, 1-based (650 x 650)
    Patients_CT/<patient>/brain/<slice>_HGE_Seg.jpg  hemorrhage mask (not read)
    Patients_CT/<patient>/bone/<slice>.jpg         bone window (not read)

(possibly nested one or two folders deep, as the Kaggle archive is). Label: hemorrhage =
``No_Hemorrhage == 0``; a row whose ``No_Hemorrhage`` contradicts its five subtype
columns is an error (the real table has none). Patient = PatientNumber; the patient
folders are zero-padded to three digits in the Kaggle copy (``049``), so both spellings
are looked up. PhysioNet's restricted 1.3.x releases ship the CT volumes as NIfTI
(``ct_scans/NNN.nii``) whose slice order relative to ``SliceNumber`` is not documented
publicly; that layout is refused with a message rather than guessed.

``hemorrhage_head_ct`` -- the smaller Kaggle set ``felipekitamura/head-ct-hemorrhage``
(200 images), a different collection often given the same name. Its layout, checked on
the real files in ``real_samples/hemorrhage``::

    labels.csv              header ``id, hemorrhage`` (a space after the comma); ids 0..199
    head_ct/head_ct/NNN.png zero-padded to three digits (``000.png``), RGB PNGs of varying size

It publishes no patient ids, so each image is its own patient.

Both have no official split: seeded 70/10/20 splits grouped by patient, stratified by label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.catalog.schema import Task
from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import (Image2DBuilder, ImageRecord, find_dir, read_table,
                                              require_values)

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}
LABELS = ["no hemorrhage", "hemorrhage"]
CTICH_TABLE = "hemorrhage_diagnosis.csv"
CTICH_SUBTYPES = ["Intraventricular", "Intraparenchymal", "Subarachnoid", "Epidural", "Subdural"]
CTICH_COLUMNS = ["PatientNumber", "SliceNumber", *CTICH_SUBTYPES, "No_Hemorrhage"]
NO_HEMORRHAGE = {0: "hemorrhage", 1: "no hemorrhage"}  # No_Hemorrhage -> class
HEAD_CT_LABELS = {0: "no hemorrhage", 1: "hemorrhage"}


def unique_ids(table: Path, ids: list[str]) -> list[str]:
    """`ids`, or PrepareError naming the first ids listed twice in `table`."""
    seen: set[str] = set()
    twice = [i for i in ids if i in seen or seen.add(i)]
    if twice:
        raise PrepareError(table, f"{len(twice)} id(s) listed more than once, e.g. {twice[:5]}")
    return ids


def _find(raw: Path, name: str, max_depth: int = 3) -> Path | None:
    """`raw/<...>/name` (a file) at most `max_depth` folders down."""
    for depth in range(max_depth + 1):
        hits = sorted(raw.glob("/".join(["*"] * depth + [name])))
        files = [h for h in hits if h.is_file()]
        if files:
            return files[0]
    return None


@register_builder("hemorrhage")
class CTICH(Image2DBuilder):
    """CT-ICH brain-window slices, hemorrhage yes / no (JPEG release layout)."""

    catalog_id = "hemorrhage"
    task = Task.binary
    label_names = LABELS
    channels = 1
    split_fractions = FRACTIONS
    split_policy = "seeded 70/10/20 split grouped by PatientNumber (never by slice), stratified by label"

    def _table(self, raw: Path) -> Path:
        table = _find(raw, CTICH_TABLE)
        if table is None:
            if _find(raw, "hemorrhage_diagnosis_raw_ct.csv") is not None:
                raise PrepareError(raw, "this is the NIfTI release of CT-ICH (ct_scans/*.nii, PhysioNet 1.3.x), whose "
                                        "slice order is not documented publicly; use the JPEG release (PhysioNet "
                                        "ct-ich 1.2.0 or the Kaggle copy vbookshelf/computed-tomography-ct-images)")
            raise PrepareError(raw / CTICH_TABLE, "label table not found (looked up to 3 folders down)")
        return table

    def source_files(self, raw: Path) -> list[Path]:
        return [self._table(raw)] + [r.path for r in self._records(raw)]

    def records(self, raw: Path) -> list[ImageRecord]:
        table = self._table(raw)
        slices = find_dir(table.parent, "Patients_CT", max_depth=1) or find_dir(raw, "Patients_CT")
        if slices is None:
            raise PrepareError(raw, "Patients_CT/ folder not found beside the label table")
        df = read_table(table, CTICH_COLUMNS)
        require_values(table, df, CTICH_COLUMNS)
        ids = unique_ids(table, [f"{int(p):03d}/{int(s)}" for p, s in zip(df["PatientNumber"], df["SliceNumber"])])
        mapper = self.label_mapper(NO_HEMORRHAGE, what="No_Hemorrhage", source=table)
        labels = {sid: mapper.one(v, sid) for sid, v in zip(ids, df["No_Hemorrhage"])}
        mapper.finish()
        subtype = df[CTICH_SUBTYPES].astype(int).sum(axis=1) > 0
        contradictions = [sid for sid, sub in zip(ids, subtype) if bool(labels[sid]) != bool(sub)]
        if contradictions:
            raise PrepareError(table, f"{len(contradictions)} slice(s) whose No_Hemorrhage contradicts the subtype "
                                      f"columns, e.g. {contradictions[:5]}")
        recs = []
        for i, sid in enumerate(ids):
            patient, number = sid.split("/")
            path = self._slice(slices, patient, number)
            if path is None:
                raise PrepareError(table, f"row {i + 2}: slice {number} of patient {patient} not found under "
                                          f"{slices}/<patient>/brain/")
            recs.append(ImageRecord(sid, patient, path, labels[sid]))
        return recs

    @staticmethod
    def _slice(root: Path, patient: str, number: str) -> Path | None:
        for folder in dict.fromkeys((patient, str(int(patient)))):
            for ext in (".jpg", ".png"):
                path = root / folder / "brain" / f"{number}{ext}"
                if path.is_file():
                    return path
        return None

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        meta = super().field_meta(raw)
        meta["image"]["window"] = "brain window, as exported by the publisher (Patients_CT/*/brain)"
        return meta


@register_builder("hemorrhage_head_ct")
class HeadCT(Image2DBuilder):
    """Kaggle head_ct: 200 head CT images, hemorrhage yes / no (labels.csv)."""

    catalog_id = "hemorrhage"
    task = Task.binary
    label_names = LABELS
    channels = 1
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split stratified by label; the Kaggle head_ct set publishes no patient ids, so "
                    "each image is its own patient")
    index_files = ("labels.csv",)

    def records(self, raw: Path) -> list[ImageRecord]:
        table = _find(raw, "labels.csv")
        if table is None:
            raise PrepareError(raw / "labels.csv", "label table not found (looked up to 3 folders down)")
        df = read_table(table, ["id", "hemorrhage"], skipinitialspace=True)
        require_values(table, df, ["id"])
        ids = unique_ids(table, [f"{int(i):03d}" for i in df["id"]])
        mapper = self.label_mapper(HEAD_CT_LABELS, what="hemorrhage", source=table)
        labels = {sid: mapper.one(v, sid) for sid, v in zip(ids, df["hemorrhage"])}
        mapper.finish()
        images = find_dir(table.parent, "head_ct") or find_dir(raw, "head_ct")
        if images is None:
            raise PrepareError(raw, "head_ct/ image folder not found beside labels.csv")
        if (images / "head_ct").is_dir():
            images = images / "head_ct"
        recs = []
        for i, sid in enumerate(ids):
            path = images / f"{sid}.png"
            if not path.is_file():
                raise PrepareError(table, f"row {i + 2}: image {path.relative_to(raw)} not found")
            recs.append(ImageRecord(sid, sid, path, labels[sid]))
        return recs
