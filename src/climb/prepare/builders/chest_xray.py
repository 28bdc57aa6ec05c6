"""Chest X-ray builders (1 channel): COVID-19, CoronaHack, VinDr-CXR, MIMIC-CXR, CheXpert.

Official layouts (raw directory = the unzipped / mirrored download):

* covid19_cxr (Kaggle darshan1504/covid19-detection-xray-dataset, the CLIMB source):
  ``TrainData/`` and ``ValData/``, each with ``{Normal,BacterialPneumonia,ViralPneumonia,
  COVID-19}/*``; official TrainData -> train, ValData -> test.
* covid19_radiography (Kaggle tawsifurrahman/covid19-radiography-database, second update; a
  separate catalog entry, not the CLIMB set): ``COVID-19_Radiography_Dataset/{COVID,
  Lung_Opacity,Normal,Viral Pneumonia}/images/<class>-N.png`` with lung masks in ``<class>/
  masks/`` (not read); layout and counts (3,616 / 6,012 / 10,192 / 1,345) as its README and
  public loaders of it state. No split, no patient ids: each image is its own patient.
* CoronaHack (Kaggle praveengovi/coronahack-chest-xraydataset): ``Chest_xray_Corona_
  Metadata.csv`` (X_ray_image_name, Label, Dataset_type, Label_2_Virus_category,
  Label_1_Virus_category) and ``Coronahack-Chest-XRay-Dataset/Coronahack-Chest-XRay-Dataset/
  {train,test}/``. Normal -> normal, Pnemonia+bacteria -> bacterial, Pnemonia+Virus ->
  viral; the 2 "Stress-Smoking" (ARDS) images fit none of the 3 classes and are left out.
* VinDr-CXR 1.0.0 (PhysioNet): ``annotations/image_labels_{train,test}.csv`` and
  ``{train,test}/<image_id>.dicom``. Train images were labelled by 3 radiologists (one row
  each): a label is positive when a majority of them marked it (param ``rater_vote``:
  ``majority`` | ``any``); test labels are the 5-radiologist consensus.
* MIMIC-CXR-JPG 2.0.0 (PhysioNet): ``mimic-cxr-2.0.0-split.csv[.gz]`` (dicom_id, study_id,
  subject_id, split), ``mimic-cxr-2.0.0-chexpert.csv[.gz]`` (labels per study) and
  ``files/p<NN>/p<subject_id>/s<study_id>/<dicom_id>.jpg`` (``.dcm`` of MIMIC-CXR also read).
  Images of studies without a row in the label file are left out.
* CheXpert v1.0 (Stanford AIMI; full or "-small"): ``CheXpert-v1.0[-small]/{train,valid}.csv``
  whose ``Path`` column (``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``)
  is relative to the raw directory. train.csv -> train (+ carved val), valid.csv (the
  radiologist-labelled set) -> test.

Labels: CheXpert/MIMIC-CXR use the 14 CheXpert observations (multilabel) with the
uncertainty policy param ``uncertainty`` (``u_zeros`` default, ``u_ones``; registered
variants ``chexpert_u_ones`` and ``mimic_cxr_u_ones``); VinDr-CXR its 6 image-level labels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import (IMAGE_EXTS, Image2DBuilder, ImageRecord, class_folder_records,
                                              find_dir, find_file, read_table, require_values)
from climb.prepare.labels.chexpert import DEFAULT_UNCERTAINTY, UNCERTAINTY_POLICIES, VINDR6_COLUMNS, chexpert_vector

VAL_FROM_TRAIN = 0.1

COVID19_FOLDERS = {"Normal": "normal", "BacterialPneumonia": "bacterial", "COVID-19": "COVID-19",
                   "ViralPneumonia": "viral"}

RADIOGRAPHY_FOLDERS = {"COVID": "COVID", "Lung_Opacity": "Lung Opacity", "Normal": "Normal",
                       "Viral Pneumonia": "Viral Pneumonia"}

# "Label/Label_1_Virus_category" -> class; Label is spelled "Pnemonia" in the official file
# (real_samples/coronahack: 6,197 rows, these four combinations and no other).
CORONAHACK_TABLE: dict[str, str | None] = {
    "Normal/": "normal",
    "Pnemonia/bacteria": "bacterial",
    "Pnemonia/Virus": "viral",  # includes the COVID-19 and SARS images (Label_2_Virus_category)
    "Pnemonia/Stress-Smoking": None,  # ARDS from smoking: none of the 3 classes, left out and counted
}
CORONAHACK_SPLITS = {"TRAIN": "train", "TEST": "test"}


class ChestXRay(Image2DBuilder):
    channels = 1


@register_builder("covid19_cxr")
class Covid19CXR(ChestXRay):
    """COVID-19 detection X-rays: normal / bacterial / COVID-19 / viral; official Train/Val data."""

    catalog_id = "covid19_cxr"
    val_from_train = VAL_FROM_TRAIN
    split_policy = ("official TrainData -> train (10% carved out, seeded and stratified, as val), "
                    "ValData -> test; no patient ids are published, so each image is its own patient")

    def records(self, raw: Path) -> list[ImageRecord]:
        recs = []
        for folder, split in (("TrainData", "train"), ("ValData", "test")):
            root = find_dir(raw, folder)
            if root is None:
                raise PrepareError(raw / folder, "folder not found (up to 3 levels down)")
            recs += class_folder_records(root, self.class_index(COVID19_FOLDERS), split, id_prefix=f"{folder}/",
                                         skip="")
        return recs


@register_builder("covid19_radiography")
class Covid19Radiography(ChestXRay):
    """COVID-19 Radiography Database: COVID / Lung Opacity / Normal / Viral Pneumonia (no official split)."""

    catalog_id = "covid19_radiography"
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = ("no official split: seeded (0) 70/10/20 split stratified by class; no patient ids are "
                    "published, so each image is its own patient")

    def records(self, raw: Path) -> list[ImageRecord]:
        root = find_dir(raw, "COVID-19_Radiography_Dataset")
        if root is None:
            raise PrepareError(raw / "COVID-19_Radiography_Dataset", "folder not found (up to 3 levels down)")
        unknown = sorted(d.name for d in root.iterdir()
                         if d.is_dir() and not d.name.startswith(".") and d.name not in RADIOGRAPHY_FOLDERS)
        if unknown:
            raise PrepareError(root, f"folder(s) {unknown} are not class folders; "
                                     f"expected {sorted(RADIOGRAPHY_FOLDERS)}")
        recs = []
        for folder, label in self.class_index(RADIOGRAPHY_FOLDERS).items():
            images = root / folder / "images"
            if not images.is_dir():
                raise PrepareError(images, "class folder without images/ (the second update's layout)")
            for p in sorted(images.iterdir()):
                if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."):
                    recs.append(ImageRecord(f"{folder}/{p.name}", f"{folder}/{p.name}", p, label))
        return recs


@register_builder("coronahack")
class CoronaHack(ChestXRay):
    """CoronaHack: normal / bacterial / viral pneumonia, official TRAIN/TEST from the metadata."""

    catalog_id = "coronahack"
    val_from_train = VAL_FROM_TRAIN
    split_policy = ("official Dataset_type TRAIN -> train (10% carved out, seeded and stratified, as "
                    "val), TEST -> test; each image is its own patient (no patient ids published)")
    index_files = ("Chest_xray_Corona_Metadata.csv",)

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, self.index_files)
        cols = ["X_ray_image_name", "Label", "Dataset_type", "Label_1_Virus_category"]
        df = read_table(meta, cols)
        require_values(meta, df, [cols[0], cols[2]])
        mapper = self.label_mapper(CORONAHACK_TABLE, what="Label/Label_1_Virus_category", source=meta)
        image_root = next((d for d in (raw / "Coronahack-Chest-XRay-Dataset" / "Coronahack-Chest-XRay-Dataset",
                                       raw / "Coronahack-Chest-XRay-Dataset", raw) if d.is_dir()))
        recs = []
        for i, row in enumerate(df.to_dict("records")):
            split = CORONAHACK_SPLITS.get(str(row["Dataset_type"]).strip().upper())
            if split is None:
                raise PrepareError(meta, f"row {i + 2}: unknown Dataset_type {row['Dataset_type']!r}")
            name = str(row["X_ray_image_name"]).strip()
            virus = "" if pd.isna(row["Label_1_Virus_category"]) else str(row["Label_1_Virus_category"]).strip()
            label = mapper.one(None if pd.isna(row["Label"]) else f"{str(row['Label']).strip()}/{virus}",
                               f"row {i + 2} ({name})")
            if label is None:
                continue
            path = image_root / split / name
            if not path.is_file():
                raise PrepareError(meta, f"row {i + 2}: image {split}/{name} not found under {image_root}")
            recs.append(ImageRecord(f"{split}/{name}", f"{split}/{name}", path, label, split))
        mapper.finish()
        return recs


@register_builder("vindr_cxr")
class VinDrCXR(ChestXRay):
    """VinDr-CXR: 6 image-level diagnoses (multilabel), official train/test."""

    catalog_id = "vindr_cxr"
    default_params: ClassVar[dict[str, Any]] = {"size": 224, "rater_vote": "majority"}
    val_from_train = VAL_FROM_TRAIN
    hash_images = False
    split_policy = ("official train -> train (10% carved out, seeded, as val), test -> test; VinDr-CXR "
                    "publishes no patient ids, so each image is its own patient")
    index_files = ("annotations/image_labels_train.csv", "annotations/image_labels_test.csv")

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["rater_vote"] not in ("majority", "any"):
            raise ValueError(f"rater_vote must be 'majority' or 'any', got {self.params['rater_vote']!r}")

    def records(self, raw: Path) -> list[ImageRecord]:
        recs = []
        for split in ("train", "test"):
            meta = find_file(raw, (f"annotations/image_labels_{split}.csv",))
            for image_id, label in self._labels(meta).items():
                path = raw / split / f"{image_id}.dicom"
                if not path.is_file():
                    raise PrepareError(meta, f"image {image_id!r}: {split}/{image_id}.dicom not found")
                recs.append(ImageRecord(image_id, image_id, path, label, split))
        return recs

    def _labels(self, meta: Path) -> dict[str, np.ndarray]:
        df = read_table(meta, ["image_id"])
        columns = []
        for name in self.label_names:
            col = next((c for c in VINDR6_COLUMNS[name] if c in df.columns), None)
            if col is None:
                raise PrepareError(meta, f"missing required column {VINDR6_COLUMNS[name][0]!r}")
            columns.append(col)
        require_values(meta, df, ["image_id", *columns])
        votes = df.groupby("image_id", sort=False)[columns].mean()
        if self.params["rater_vote"] == "majority":
            positive = votes.to_numpy() > 0.5
        else:
            positive = votes.to_numpy() > 0
        return {str(i): positive[k].astype(np.float32) for k, i in enumerate(votes.index)}


class CheXpertLabelled(ChestXRay):
    """Shared by CheXpert and MIMIC-CXR: 14 observations under an explicit uncertainty policy."""

    default_params: ClassVar[dict[str, Any]] = {"size": 224, "uncertainty": DEFAULT_UNCERTAINTY}
    hash_images = False

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["uncertainty"] not in UNCERTAINTY_POLICIES:
            raise ValueError(f"uncertainty must be one of {sorted(UNCERTAINTY_POLICIES)}, "
                             f"got {self.params['uncertainty']!r}")

    def _label_matrix(self, meta: Path, df: pd.DataFrame) -> np.ndarray:
        names = self.label_names
        values = df[names].apply(pd.to_numeric, errors="coerce")
        bad = ~(values.isin([1.0, 0.0, -1.0]) | df[names].isna())
        if bad.to_numpy().any():
            rows, cols = np.nonzero(bad.to_numpy())
            shown = ", ".join(f"row {r + 2} {names[c]} = {df[names[c]].iloc[r]}" for r, c in zip(rows[:5], cols[:5]))
            raise PrepareError(meta, f"{len(set(rows))} row(s) with values other than 1, 0, -1 or blank: {shown}")
        return chexpert_vector(values.to_numpy(), self.params["uncertainty"]).reshape(len(df), len(names))


MIMIC_SPLITS = {"train": "train", "validate": "val", "test": "test"}


@register_builder("mimic_cxr")
@register_builder("mimic_cxr_u_ones", uncertainty="u_ones")
class MIMICCXR(CheXpertLabelled):
    """MIMIC-CXR-JPG: CheXpert labels per study, official split per image, patient = subject_id."""

    catalog_id = "mimic_cxr"
    split_policy = ("official mimic-cxr-2.0.0-split.csv (train / validate -> val / test), which is by "
                    "patient (subject_id)")
    index_files = ("mimic-cxr-2.0.0-split.csv.gz", "mimic-cxr-2.0.0-split.csv",
                   "mimic-cxr-2.0.0-chexpert.csv.gz", "mimic-cxr-2.0.0-chexpert.csv")

    def records(self, raw: Path) -> list[ImageRecord]:
        split_file = find_file(raw, self.index_files[:2])
        label_file = find_file(raw, self.index_files[2:])
        splits = read_table(split_file, ["dicom_id", "study_id", "subject_id", "split"])
        require_values(split_file, splits, ["dicom_id", "study_id", "subject_id", "split"])
        labels = read_table(label_file, ["subject_id", "study_id", *self.label_names])
        matrix = self._label_matrix(label_file, labels)
        by_study = {int(s): matrix[k] for k, s in enumerate(labels["study_id"])}
        unlabelled = self.label_mapper(None, what="study label row", source=label_file)
        recs = []
        for i, row in enumerate(splits.to_dict("records")):
            split = MIMIC_SPLITS.get(str(row["split"]).strip())
            if split is None:
                raise PrepareError(split_file, f"row {i + 2}: unknown split {row['split']!r}")
            study, subject = int(row["study_id"]), int(row["subject_id"])
            if study not in by_study:  # a study without a report label row (documented above): counted
                unlabelled.exclude("image of a study without a row in the CheXpert label file",
                                   f"{split_file.name} row {i + 2} (study {study})")
                continue
            path = self._image(raw, subject, study, str(row["dicom_id"]).strip(), split_file, i)
            recs.append(ImageRecord(str(row["dicom_id"]).strip(), str(subject), path, by_study[study], split))
        return recs

    @staticmethod
    def _image(raw: Path, subject: int, study: int, dicom_id: str, index: Path, row: int) -> Path:
        folder = raw / "files" / f"p{str(subject)[:2]}" / f"p{subject}" / f"s{study}"
        for ext in (".jpg", ".dcm"):
            if (folder / f"{dicom_id}{ext}").is_file():
                return folder / f"{dicom_id}{ext}"
        raise PrepareError(index, f"row {row + 2}: image {folder.relative_to(raw)}/{dicom_id}.jpg not found")


CHEXPERT_DIRS = ("CheXpert-v1.0-small", "CheXpert-v1.0")


@register_builder("chexpert")
@register_builder("chexpert_u_ones", uncertainty="u_ones")
class CheXpert(CheXpertLabelled):
    """CheXpert v1.0: train.csv -> train (+ carved val), valid.csv -> test; patient from the path."""

    catalog_id = "chexpert"
    val_from_train = VAL_FROM_TRAIN
    split_policy = ("official train.csv -> train (10% of patients carved out, seeded, as val), "
                    "valid.csv (radiologist-labelled) -> test; patient = patientNNNNN from the path")

    def _root(self, raw: Path) -> Path:
        for name in CHEXPERT_DIRS:
            if (raw / name / "train.csv").is_file():
                return raw / name
        raise PrepareError(raw / CHEXPERT_DIRS[0] / "train.csv", "index file not found "
                           f"(looked in {', '.join(CHEXPERT_DIRS)})")

    def source_files(self, raw: Path) -> list[Path]:
        self._records(raw)
        root = self._root(raw)
        return [root / "train.csv", root / "valid.csv"]

    def records(self, raw: Path) -> list[ImageRecord]:
        root = self._root(raw)
        recs = []
        for csv_name, split in (("train.csv", "train"), ("valid.csv", "test")):
            meta = root / csv_name
            df = read_table(meta, ["Path", *self.label_names])
            require_values(meta, df, ["Path"])
            matrix = self._label_matrix(meta, df)
            for i, rel in enumerate(df["Path"].astype(str).str.strip()):
                patient = re.search(r"(patient\d+)", rel)
                if patient is None:
                    raise PrepareError(meta, f"row {i + 2}: no patientNNNNN in Path {rel!r}")
                path = raw / rel
                if not path.is_file():
                    raise PrepareError(meta, f"row {i + 2}: image {rel} not found")
                sid = rel.split("/", 1)[1] if "/" in rel else rel
                recs.append(ImageRecord(sid, patient.group(1), path, matrix[i], split))
        return recs
