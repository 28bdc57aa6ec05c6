"""Dermoscopy / skin photographs: HAM10000, PAD-UFES-20, ISIC 2020 (RGB images).

Official layouts (raw directory = the unzipped download):

* HAM10000 (Harvard Dataverse / ISIC 2018 task 3): ``HAM10000_metadata.csv``
  (lesion_id, image_id, dx, dx_type, age, sex, localization) and the images
  ``HAM10000_images_part_1/ISIC_*.jpg``, ``HAM10000_images_part_2/ISIC_*.jpg``.
* PAD-UFES-20 (Mendeley Data): ``metadata.csv`` (patient_id, lesion_id, ...,
  diagnostic, ..., img_id, biopsed) and ``images/imgs_part_{1,2,3}/PAT_*.png``.
* ISIC 2020 (ISIC archive): ``ISIC_2020_Training_GroundTruth_v2.csv`` (duplicates
  removed) or ``ISIC_2020_Training_GroundTruth.csv`` (image_name, patient_id, ...,
  benign_malignant, target) with ``train/ISIC_*.jpg``; the Kaggle mirror's
  ``train.csv`` + ``jpeg/train/`` works too.

None has a public labelled test split, so the store makes seeded 70/10/20 splits
grouped by patient (HAM10000: by lesion, its only subject-level id) and stratified by label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.prepare.builder import register_builder
from climb.prepare.builders.images_2d import (Image2DBuilder, ImageRecord, find_file, index_by_stem,
                                              lookup_image, read_table, require_values)
from climb.prepare.labels.derm import HAM10000_TO_DERM5, ISIC2020_TARGET, PAD_UFES_TO_DERM5

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def _csv_records(builder: Image2DBuilder, raw: Path, meta: Path, image_col: str, patient_col: str,
                 label_col: str, table: dict[Any, str], what: str) -> list[ImageRecord]:
    """One record per CSV row: its image found below `raw`, its label mapped through `table`."""
    df = read_table(meta, [image_col, patient_col, label_col])
    require_values(meta, df, [image_col, patient_col])
    mapper = builder.label_mapper(table, what=what, source=meta)
    index = index_by_stem(raw)
    recs = []
    for i, row in enumerate(df.to_dict("records")):
        image_id = str(row[image_col]).strip()
        label = mapper.one(row[label_col], f"row {i + 2} ({image_id})")
        if label is not None:
            recs.append(ImageRecord(Path(image_id).stem, str(row[patient_col]).strip(),
                                    lookup_image(index, image_id, meta, i), label))
    mapper.finish()
    return recs


@register_builder("ham10000")
class HAM10000(Image2DBuilder):
    """HAM10000: 7 dx codes -> DERM5; patient = lesion_id (several images per lesion)."""

    catalog_id = "ham10000"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split grouped by lesion_id (HAM10000 publishes no patient id; "
                    "all images of a lesion stay together), stratified by label")
    index_files = ("HAM10000_metadata.csv", "HAM10000_metadata")

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, self.index_files)
        return _csv_records(self, raw, meta, "image_id", "lesion_id", "dx", HAM10000_TO_DERM5, "dx code")


@register_builder("pad_ufes20")
class PADUFES20(Image2DBuilder):
    """PAD-UFES-20 smartphone images: 6 diagnostic codes -> DERM5; patient = patient_id."""

    catalog_id = "pad_ufes20"
    split_fractions = FRACTIONS
    split_policy = "seeded 70/10/20 split grouped by patient_id, stratified by label"
    index_files = ("metadata.csv",)

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, self.index_files)
        return _csv_records(self, raw, meta, "img_id", "patient_id", "diagnostic", PAD_UFES_TO_DERM5,
                            "diagnostic code")


@register_builder("isic2020")
class ISIC2020(Image2DBuilder):
    """ISIC 2020 training set: benign/malignant (`target`); patient = patient_id."""

    catalog_id = "isic2020"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split grouped by patient_id, stratified by label (the official "
                    "test set has no public labels)")
    index_files = ("ISIC_2020_Training_GroundTruth_v2.csv", "ISIC_2020_Training_GroundTruth.csv", "train.csv")

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, self.index_files)
        return _csv_records(self, raw, meta, "image_name", "patient_id", "target", ISIC2020_TARGET, "target")

    def source_files(self, raw: Path) -> list[Path]:
        meta = find_file(raw, self.index_files)  # only the index actually read
        return [meta] + [r.path for r in self._records(raw)]
