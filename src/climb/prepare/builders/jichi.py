"""Jichi Medical University diabetic-retinopathy fundus photographs, modified Davis grading (RGB).

Layout of the figshare release (article 4879853, "Davis Grading of One and Concatenated
Figures"), from CLIMB's own loader (``src/datasets/fundus/jinchi.py``: ``list.csv`` with
columns 0 ``Image`` and 2 ``Davis_grading_of_one_figure``, values ``ndr``/``sdr``/``ppdr``/
``pdr``) and a third-party description of the same files (9,939 rows)::

    list.csv     Image, Davis_grading_of_concatenated_figures, Davis_grading_of_one_figure
    <folder>/<patient>_<n>_<L|R>.jpg        e.g. 1_1_R.jpg, 2663_2_L.jpg

The grades are the modified Davis scale: ``ndr`` no DR, ``sdr`` simple DR, ``ppdr``
pre-proliferative DR, ``pdr`` proliferative DR. The table has four grades, not the three
the CLIMB spec lists: ``ndr`` rows are real records, so they are a class, not dropped.
``grading`` chooses the column (``one_figure``, CLIMB's choice, or ``concatenated``, the
grade given with all of the visit's photographs side by side). An unknown grade is an
error unless ``unknown_codes=drop``, an empty one unless ``missing_labels=exclude`` (either
way counted in the card's ``label_mapping``).

Patient = the number before the first ``_`` of the file name (several photographs, both
eyes, per patient). No official split: seeded 70/10/20 split grouped by patient,
stratified by grade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.catalog.schema import Task
from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import (Image2DBuilder, ImageRecord, index_by_stem, lookup_image,
                                              read_table, require_values)
from climb.prepare.labels.mapping import MISSING_POLICIES, check_policy

DAVIS = ["NDR", "SDR", "PPDR", "PDR"]
DAVIS_CODES = {"ndr": "NDR", "sdr": "SDR", "ppdr": "PPDR", "pdr": "PDR"}
GRADING_COLUMNS = {"one_figure": "Davis_grading_of_one_figure",
                   "concatenated": "Davis_grading_of_concatenated_figures"}


@register_builder("jichi")
class Jichi(Image2DBuilder):
    """Jichi fundus photographs with their modified-Davis DR grade (4 classes)."""

    catalog_id = "jichi"
    task = Task.multiclass
    label_names = DAVIS
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = "seeded 70/10/20 split grouped by patient (file-name prefix), stratified by grade"
    default_params: dict[str, Any] = {"size": 224, "grading": "one_figure", "unknown_codes": "error",
                                      "missing_labels": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["grading"] not in GRADING_COLUMNS:
            raise ValueError(f"grading must be one of {list(GRADING_COLUMNS)}, not {self.params['grading']!r}")
        check_policy("unknown_codes", self.params["unknown_codes"], ("error", "drop"))
        check_policy("missing_labels", self.params["missing_labels"], MISSING_POLICIES)

    def _table(self, raw: Path) -> Path:
        found = sorted(raw.rglob("list.csv"), key=lambda p: len(p.parts))
        if not found:
            raise PrepareError(raw / "list.csv", "grading table not found")
        return found[0]

    def source_files(self, raw: Path) -> list[Path]:
        return [self._table(raw)] + [r.path for r in self._records(raw)]

    def records(self, raw: Path) -> list[ImageRecord]:
        table = self._table(raw)
        column = GRADING_COLUMNS[self.params["grading"]]
        df = read_table(table, ["Image", column])
        require_values(table, df, ["Image"])
        names = [str(n).strip() for n in df["Image"]]
        grades = [str(g).strip().lower() if isinstance(g, str) else g for g in df[column]]
        mapper = self.label_mapper(DAVIS_CODES, what=column, source=table, unknown=self.params["unknown_codes"],
                                   missing=self.params["missing_labels"],
                                   hint="unknown_codes=drop / missing_labels=exclude leave them out, counted in "
                                        "the card")
        index = index_by_stem(table.parent)
        recs = []
        for i, (name, grade) in enumerate(zip(names, grades)):
            label = mapper.one(grade, name)
            if label is None:
                continue
            patient = name.split("_")[0]
            if not patient.isdigit():
                raise PrepareError(table, f"row {i + 2}: image name {name!r} is not <patient>_<n>_<eye>.jpg")
            recs.append(ImageRecord(Path(name).stem, patient, lookup_image(index, name, table, i), label))
        mapper.finish()
        return recs

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {**super().field_meta(raw), "label": {"definition": GRADING_COLUMNS[self.params["grading"]]}}
