"""Mammography builders (1 channel, DICOM): CBIS-DDSM (BI-RADS) and CMMD (benign/malignant).

Official layouts (TCIA, downloaded with the NBIA Data Retriever):

* CBIS-DDSM: the four case-description CSVs ``{mass,calc}_case_description_{train,test}_set.csv``
  (patient_id, left or right breast, image view, abnormality id, ..., assessment, pathology,
  ..., image file path, ...) at the raw root or in ``csv/``, and the DICOMs under
  ``CBIS-DDSM/``. The CSV's ``image file path`` is ``<Subject ID>/<Study UID>/<Series
  UID>/000000.dcm``; the "classic" NBIA layout stores exactly that path, the "descriptive"
  one renames the folders and writes ``metadata.csv`` (Subject ID, Study UID, Series UID,
  File Location), which is used to find the file. One sample per full mammogram (the
  first path component, e.g. ``Mass-Training_P_00001_LEFT_CC``); its label is the highest
  BI-RADS assessment among its abnormalities. Official train/test; a patient that appears
  in both (mass and calcification cases were split separately) keeps only its test images
  (the train images left out are counted in the card). Real CSVs (real_samples/cbis_ddsm):
  assessments 0-5 all occur; the density column is ``breast density`` in the calc CSVs and
  ``breast_density`` in the mass CSVs (not read).
* CMMD: ``CMMD_clinicaldata_revision.xlsx`` (ID1, LeftRight, Age, number, abnormality,
  classification, subtype; real_samples/cmmd: 1,872 rows, Benign 556 / Malignant 1,316,
  read with openpyxl; a ``.csv`` export is read too) and ``CMMD/<ID1>/<study>/<series>/
  1-N.dcm``. Each DICOM is matched to its breast's row by patient folder and the DICOM's
  ImageLaterality (a patient with a single row needs no laterality). No official split.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from climb.extras import require
from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import (DICOM_EXTS, Image2DBuilder, ImageRecord, read_table, read_xlsx,
                                              require_values)
from climb.prepare.labels.mammo import CBIS_ASSESSMENT_TO_BIRADS, CMMD_CLASSIFICATION

CBIS_CSVS = {
    "train": ("mass_case_description_train_set.csv", "calc_case_description_train_set.csv"),
    "test": ("mass_case_description_test_set.csv", "calc_case_description_test_set.csv"),
}
CBIS_COLUMNS = ["patient_id", "left or right breast", "image view", "assessment", "image file path"]


class Mammography(Image2DBuilder):
    channels = 1
    hash_images = False  # ~100 GB of full-field DICOMs: the card hashes the index files only


@register_builder("cbis_ddsm")
class CBISDDSM(Mammography):
    """CBIS-DDSM full mammograms with their image-level BI-RADS assessment (0-5)."""

    catalog_id = "cbis_ddsm"
    val_from_train = 0.1
    split_policy = ("official train/test case-description CSVs (10% of train patients carved out, "
                    "seeded and stratified, as val); patient = patient_id (P_NNNNN); train images of "
                    "patients who also have test images are dropped so that no patient is in two splits")

    def _csv(self, raw: Path, name: str) -> Path:
        for cand in (raw / name, raw / "csv" / name):
            if cand.is_file():
                return cand
        raise PrepareError(raw / name, "case-description CSV not found (looked in the raw root and csv/)")

    def source_files(self, raw: Path) -> list[Path]:
        self._records(raw)
        files = [self._csv(raw, n) for names in CBIS_CSVS.values() for n in names]
        return files + [raw / "metadata.csv"] * (raw / "metadata.csv").is_file()

    def records(self, raw: Path) -> list[ImageRecord]:
        series_dirs = _nbia_series_dirs(raw)
        images: dict[str, dict] = {}
        mapper = self.label_mapper(CBIS_ASSESSMENT_TO_BIRADS, what="assessment", source=raw)
        for split, names in CBIS_CSVS.items():
            for name in names:
                meta = self._csv(raw, name)
                df = read_table(meta, CBIS_COLUMNS)
                require_values(meta, df, [c for c in CBIS_COLUMNS if c != "assessment"])
                for i, row in enumerate(df.to_dict("records")):
                    rel = str(row["image file path"]).strip().strip('"').replace("\\", "/")
                    key = rel.split("/")[0]
                    label = mapper.one(row["assessment"], f"{name} row {i + 2} ({key})")
                    if label is None:
                        continue
                    if key in images:
                        images[key]["label"] = max(images[key]["label"], label)
                        continue
                    path = _cbis_dicom(raw, rel, series_dirs, meta, i)
                    images[key] = {"label": label, "path": path, "split": split,
                                   "patient": str(row["patient_id"]).strip()}
        mapper.finish()
        test_patients = {v["patient"] for v in images.values() if v["split"] == "test"}
        both = self.label_mapper(None, what="patients in both official splits", source=raw)
        out = []
        for k, v in sorted(images.items()):
            if v["split"] == "train" and v["patient"] in test_patients:
                both.exclude("train image of a patient who also has test images", k)
                continue
            out.append(ImageRecord(k, v["patient"], v["path"], v["label"], v["split"]))
        return out


def _nbia_series_dirs(raw: Path) -> dict[str, Path]:
    """NBIA `metadata.csv`: 'Subject ID/Study UID/Series UID' -> the folder it was saved in."""
    meta = raw / "metadata.csv"
    if not meta.is_file():
        return {}
    cols = ["Subject ID", "Study UID", "Series UID", "File Location"]
    df = read_table(meta, cols)
    require_values(meta, df, cols)
    return {f"{r['Subject ID']}/{r['Study UID']}/{r['Series UID']}":
            raw / str(r["File Location"]).strip().removeprefix("./").replace("\\", "/")
            for r in df.to_dict("records")}


def _cbis_dicom(raw: Path, rel: str, series_dirs: dict[str, Path], meta: Path, row: int) -> Path:
    for cand in (raw / "CBIS-DDSM" / rel, raw / rel):
        if cand.is_file():
            return cand
    folder = series_dirs.get("/".join(rel.split("/")[:3]))
    if folder is not None and folder.is_dir():
        dicoms = sorted(p for p in folder.iterdir() if p.suffix.lower() in DICOM_EXTS)
        if len(dicoms) == 1:
            return dicoms[0]
        if dicoms:
            raise PrepareError(meta, f"row {row + 2}: {len(dicoms)} DICOMs in {folder}, expected 1")
    raise PrepareError(meta, f"row {row + 2}: image {rel} not found (neither at that path under the raw "
                       "directory or CBIS-DDSM/, nor via metadata.csv)")


CMMD_TABLES = ("CMMD_clinicaldata_revision.xlsx", "CMMD_clinicaldata_revision.csv")
CMMD_COLUMNS = ["ID1", "LeftRight", "classification"]


@register_builder("cmmd")
class CMMD(Mammography):
    """CMMD: one sample per DICOM view, labelled benign / malignant from its breast's row."""

    catalog_id = "cmmd"
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = "seeded 70/10/20 split grouped by patient (ID1), stratified by label"
    index_files = CMMD_TABLES

    def records(self, raw: Path) -> list[ImageRecord]:
        table_path = next((raw / t for t in CMMD_TABLES if (raw / t).is_file()), None)
        if table_path is None:
            raise PrepareError(raw / CMMD_TABLES[0], "clinical data table not found")
        df = read_xlsx(table_path) if table_path.suffix == ".xlsx" else read_table(table_path, CMMD_COLUMNS)
        missing = [c for c in CMMD_COLUMNS if c not in df.columns]
        if missing:
            raise PrepareError(table_path, f"missing required column(s) {missing}; present: {list(df.columns)}")
        require_values(table_path, df, ["ID1", "LeftRight"])
        mapper = self.label_mapper(CMMD_CLASSIFICATION, what="classification", source=table_path)
        breasts: dict[str, dict[str, int]] = {}
        for i, row in enumerate(df.to_dict("records")):
            label = mapper.one(row["classification"], f"row {i + 2} ({row['ID1']} {row['LeftRight']})")
            if label is None:
                continue
            sides = breasts.setdefault(str(row["ID1"]).strip(), {})
            side = str(row["LeftRight"]).strip().upper()
            if sides.get(side, label) != label:
                raise PrepareError(table_path, f"row {i + 2}: {row['ID1']} {side} is listed twice with different "
                                               "classifications")
            sides[side] = label
        mapper.finish()
        recs = []
        for path in _dicoms(raw):
            patient = next((part for part in reversed(path.relative_to(raw).parts[:-1]) if part in breasts), None)
            if patient is None:
                raise PrepareError(path, f"not below a patient folder (ID1) listed in {table_path.name}")
            label = _cmmd_label(path, breasts[patient], table_path)
            sid = path.relative_to(raw).with_suffix("").as_posix()
            recs.append(ImageRecord(sid, patient, path, label))
        return recs


def _dicoms(raw: Path) -> Iterable[Path]:
    return sorted(p for p in raw.rglob("*") if p.suffix.lower() in DICOM_EXTS and p.is_file())


def _cmmd_label(path: Path, sides: dict[str, int], table: Path) -> int:
    pydicom = require("pydicom", "reading DICOM")
    try:
        side = str(pydicom.dcmread(path, stop_before_pixels=True).get("ImageLaterality", "")).strip().upper()
    except Exception as e:
        raise PrepareError(path, f"unreadable DICOM header ({type(e).__name__}: {e})") from None
    if side in sides:
        return sides[side]
    if not side and len(sides) == 1:
        return next(iter(sides.values()))
    raise PrepareError(path, f"no row in {table.name} for laterality {side or '(none in the file)'!r}; "
                       f"rows for this patient: {sorted(sides)}")
