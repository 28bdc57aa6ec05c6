"""Colour fundus photographs graded for diabetic retinopathy (DR5, RGB): APTOS 2019, Messidor-2.

Official layouts:

* APTOS 2019 Blindness Detection (Kaggle competition): ``train.csv`` (id_code,
  diagnosis 0-4) and ``train_images/<id_code>.png``. The competition's test set has no
  public labels; no patient ids are published, so each image is its own patient.
* Messidor-2: images from ADCIS (``IMAGES/*.png|*.JPG`` and ``messidor-2.csv``, the
  ``left;right`` image pairs of each examination) plus the adjudicated grades of Krause
  et al. 2018 (Kaggle google-brain/messidor2-dr-grades: ``messidor_data.csv`` with
  image_id, adjudicated_dr_grade, adjudicated_dme, adjudicated_gradable; header as quoted
  by public loaders of that file). A common re-saved variant renames the first two columns
  ``id_code, diagnosis`` (APTOS style) and keeps only the 1,744 gradable rows
  (real_samples/messidor2/third_party_variant: 1,744 rows, .png and .JPG names); both
  headers are read and the card says which (`fields.label.columns`). Images marked
  ungradable (adjudicated_gradable = 0, no grade) are left out and counted. Patient = the
  examination (both eyes of one visit) when ``messidor-2.csv`` is present, else the image.

Neither has an official labelled split: the store makes seeded 70/10/20 splits grouped
by patient and stratified by grade.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import (IMAGE_EXTS, Image2DBuilder, ImageRecord, find_file,
                                              index_by_stem, lookup_image, read_table, require_values)
from climb.prepare.labels.fundus import APTOS_TO_DR5, MESSIDOR2_TO_DR5

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


@register_builder("aptos2019")
class APTOS2019(Image2DBuilder):
    """APTOS 2019 training images with their DR grade (`diagnosis`)."""

    catalog_id = "aptos2019"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split stratified by grade; APTOS publishes no patient ids, so each "
                    "image is its own patient (both eyes of one person may fall in different splits)")
    index_files = ("train.csv",)

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, self.index_files)
        df = read_table(meta, ["id_code", "diagnosis"])
        require_values(meta, df, ["id_code"])
        mapper = self.label_mapper(APTOS_TO_DR5, what="diagnosis", source=meta)
        images = raw / "train_images"
        index = index_by_stem(images if images.is_dir() else raw)
        recs = []
        for i, row in enumerate(df.to_dict("records")):
            image_id = str(row["id_code"]).strip()
            label = mapper.one(row["diagnosis"], f"row {i + 2} ({image_id})")
            if label is not None:
                recs.append(ImageRecord(image_id, image_id, lookup_image(index, image_id, meta, i), label))
        mapper.finish()
        return recs


def read_messidor_pairs(path: Path) -> dict[str, str]:
    """`messidor-2.csv` (``left;right`` per examination) -> image stem -> examination id."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise PrepareError(path, f"unreadable examination list ({type(e).__name__}: {e})") from None
    exam_of: dict[str, str] = {}
    for n, row in enumerate(rows):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if not all(Path(c).suffix.lower() in IMAGE_EXTS for c in cells):
            if n == 0:
                continue  # header line
            raise PrepareError(path, f"line {n + 1}: expected 'left;right' image names, got {row!r}")
        exam = Path(cells[0]).stem
        for c in cells:
            exam_of[Path(c).stem] = exam
    return exam_of


MESSIDOR2_COLUMNS = {  # (image column, grade column) -> which file it is
    ("image_id", "adjudicated_dr_grade"): "official (Kaggle google-brain/messidor2-dr-grades)",
    ("id_code", "diagnosis"): "re-saved variant with APTOS-style column names",
}
GRADABLE = {0: "ungradable", 1: "gradable"}  # adjudicated_gradable


@register_builder("messidor2")
class Messidor2(Image2DBuilder):
    """Messidor-2 with the adjudicated DR grades; patient = examination (left/right pair)."""

    catalog_id = "messidor2"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split grouped by examination (the two eyes of one visit, from "
                    "messidor-2.csv; else by image), stratified by adjudicated grade")
    index_files = ("messidor_data.csv", "messidor-2.csv")

    def _columns(self, meta: Path) -> tuple[str, str]:
        header = read_table(meta, [], nrows=0).columns
        for columns in MESSIDOR2_COLUMNS:
            if set(columns) <= set(header):
                return columns
        raise PrepareError(meta, f"neither the official columns image_id, adjudicated_dr_grade nor the "
                                 f"variant's id_code, diagnosis; present: {list(header)}")

    def records(self, raw: Path) -> list[ImageRecord]:
        meta = find_file(raw, ("messidor_data.csv",))
        image_col, grade_col = self._columns(meta)
        df = read_table(meta, [image_col, grade_col])
        require_values(meta, df, [image_col])
        mapper = self.label_mapper(MESSIDOR2_TO_DR5, what="adjudicated DR grade", source=meta)
        gradable = self.label_mapper(GRADABLE, what="adjudicated_gradable", source=meta, space=list(GRADABLE.values()))
        pairs = raw / "messidor-2.csv"
        exam_of = read_messidor_pairs(pairs) if pairs.is_file() else {}
        images = raw / "IMAGES"
        index = index_by_stem(images if images.is_dir() else raw)
        recs = []
        for i, row in zip(df.index, df.to_dict("records")):
            stem = Path(str(row[image_col]).strip()).stem
            record = f"row {int(i) + 2} ({stem})"
            if "adjudicated_gradable" in row and gradable.one(row["adjudicated_gradable"], record) != 1:
                mapper.exclude("not gradable (adjudicated_gradable 0 or unreadable)", record)
                continue
            label = mapper.one(row[grade_col], record)
            if label is not None:
                path = lookup_image(index, row[image_col], meta, int(i))
                recs.append(ImageRecord(stem, exam_of.get(stem, stem), path, label))
        gradable.finish()
        mapper.finish()
        return recs

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        columns = self._columns(find_file(raw, ("messidor_data.csv",)))
        return {**super().field_meta(raw), "label": {"columns": list(columns), "file": MESSIDOR2_COLUMNS[columns]}}
