"""RSPECT, the RSNA STR Pulmonary Embolism CT set (Kaggle competition): CT slices, no PE / chronic / acute.

Layout of the competition download (``rsna-str-pulmonary-embolism-detection``), from
public notebooks and solutions reading the same files (column list as printed from
``train.csv`` in them; ``train/<StudyInstanceUID>/...`` listed by ``os.listdir``)::

    train.csv    StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, pe_present_on_image,
                 negative_exam_for_pe, qa_motion, qa_contrast, flow_artifact, rv_lv_ratio_gte_1,
                 rv_lv_ratio_lt_1, leftsided_pe, chronic_pe, true_filling_defect_not_pe,
                 rightsided_pe, acute_and_chronic_pe, central_pe, indeterminate
    train/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm     one CT slice each

Only the training studies have labels (the competition's test labels are hidden). The
exam-level columns are repeated on every slice of the study.

One sample per slice, CLIMB's three classes: ``pe_present_on_image == 0`` -> no PE; a slice
with PE in a study with ``chronic_pe == 1`` -> chronic; any other slice with PE (acute, or
``acute_and_chronic_pe``) -> acute. Studies flagged ``indeterminate`` (the QA readers could
not decide) are an error unless ``indeterminate=drop`` leaves their slices out (counted in
the card's ``label_mapping``); a slice with PE in a study marked ``negative_exam_for_pe``
contradicts itself and is an error.
Pixels: rescale slope/intercept to HU, ``hu_window`` (centre, width; default the PE window
400/1000 of the CLIMB spec) mapped to 0..255, long side resized to ``size``, 1 channel.

Patient = StudyInstanceUID: RSPECT has one study per patient (12,195 of each, INSPECT
README's comparison table). No labelled official test set: seeded 70/10/20 split grouped by
study (never by slice: CLIMB's original random slice split leaked patients), stratified.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.ct3d import hu_window
from climb.prepare.builders.images_2d import read_dicom_pixels, read_table, require_values, square
from climb.prepare.labels.mapping import RULE_POLICIES, check_policy

LABELS = ["no PE", "chronic", "acute"]
COLUMNS = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "pe_present_on_image",
           "negative_exam_for_pe", "chronic_pe", "acute_and_chronic_pe", "indeterminate"]
SLICE_CLASSES = {"no PE on the slice": "no PE", "PE, study chronic_pe=1": "chronic",
                 "PE, study chronic_pe=0": "acute"}  # the rule of the module docstring, as a label table
FLAGS = ["pe_present_on_image", "negative_exam_for_pe", "chronic_pe", "acute_and_chronic_pe", "indeterminate"]


def read_ct_slice(path: Path, centre: float, width: float) -> np.ndarray:
    """One CT DICOM slice -> uint8 (H, W): rescaled to HU, windowed."""
    ds, pixels = read_dicom_pixels(path)
    pixels = pixels.astype(np.float32)
    if pixels.ndim != 2:
        raise PrepareError(path, f"expected one 2D slice, got pixel array {pixels.shape}")
    hu = pixels * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
    return np.round(hu_window(hu, centre, width) * 255).astype(np.uint8)


@register_builder("rspect")
class RSPECT(Builder):
    """RSPECT training slices with CLIMB's three PE classes."""

    version = "1.0.0"
    catalog_id = "rspect"
    task = Task.multiclass
    label_names = LABELS
    fields = {"image": "image"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no labelled official test set: seeded 70/10/20 split grouped by StudyInstanceUID (one study per "
                    "patient), never by slice, stratified by label")
    default_params: dict[str, Any] = {"size": 224, "hu_window": (400.0, 1000.0), "indeterminate": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("indeterminate", self.params["indeterminate"], RULE_POLICIES)
        self._tables: dict[Path, pd.DataFrame] = {}

    def _table(self, raw: Path) -> pd.DataFrame:
        """The labelled slices of train.csv (read once per raw directory; ~1.8 M rows)."""
        key = Path(raw).resolve()
        if key not in self._tables:
            self._tables[key] = self._read_table(raw)
        return self._tables[key]

    def _read_table(self, raw: Path) -> pd.DataFrame:
        path = raw / "train.csv"
        df = read_table(path, COLUMNS)
        require_values(path, df, COLUMNS)
        bad = [c for c in FLAGS if not set(df[c].unique()) <= {0, 1}]
        if bad:
            raise PrepareError(path, f"column(s) {bad} hold values other than 0/1")
        contradiction = df[(df["pe_present_on_image"] == 1) & (df["negative_exam_for_pe"] == 1)]
        if len(contradiction):
            raise PrepareError(path, f"{len(contradiction)} slice(s) with PE in studies marked negative_exam_for_pe, "
                                     f"e.g. {contradiction['SOPInstanceUID'].iloc[0]}")
        mapper = self.label_mapper(SLICE_CLASSES, what="slice class", source=path)
        kinds = np.where(df["pe_present_on_image"] == 0, "no PE on the slice",
                         np.where(df["chronic_pe"] == 1, "PE, study chronic_pe=1", "PE, study chronic_pe=0"))
        labels = []
        for sop, study, kind, indeterminate in zip(df["SOPInstanceUID"], df["StudyInstanceUID"], kinds,
                                                   df["indeterminate"]):
            if indeterminate:
                mapper.exclude("from an indeterminate study", f"{sop} (study {study})",
                               policy=self.params["indeterminate"], param="indeterminate")
                labels.append(-1)
            else:
                labels.append(mapper.one(kind, sop))
        mapper.finish()
        df = df.assign(label=labels)
        df = df[df["indeterminate"] == 0]
        if df.empty:
            raise PrepareError(path, "no labelled slices left")
        return df

    @staticmethod
    def _path(raw: Path, row: Any) -> Path:
        return raw / "train" / row.StudyInstanceUID / row.SeriesInstanceUID / f"{row.SOPInstanceUID}.dcm"

    def source_files(self, raw: Path) -> list[Path]:
        df = self._table(raw)
        missing = [p for p in (self._path(raw, r) for r in df.itertuples()) if not p.is_file()]
        if missing:
            raise PrepareError(missing[0], f"{len(missing)} slice(s) listed in train.csv are missing, e.g. this one")
        return [raw / "train.csv"]  # ~1 TB of DICOMs: the card hashes the label table only

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._table(raw))

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        centre, width = (float(v) for v in self.params["hu_window"])
        size = int(self.params["size"])
        for row in self._table(raw).itertuples():
            pixels = read_ct_slice(self._path(raw, row), centre, width)
            yield {"sample_id": row.SOPInstanceUID, "patient_id": row.StudyInstanceUID, "split": None,
                   "label": int(row.label), "image": square(Image.fromarray(pixels), size, 1)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        centre, width = self.params["hu_window"]
        return {"image": {"channels": 1, "size": int(self.params["size"]),
                          "hu_window": {"centre": centre, "width": width},
                          "preprocessing": "HU window mapped to 0..255, long side resized, zero-padded"},
                "label": {"definition": "pe_present_on_image, then chronic_pe (chronic) else acute"}}
