"""VinDr-Mammo (Nguyen et al. 2023): full-field digital mammograms, breast-level BI-RADS 1-5 (1 channel).

Layout of the PhysioNet release (vindr-mammo 1.0.0), from the release's published column
list as CLIMB's loader reads it (``src/datasets/mammo/vindr.py``: columns 0-2 study_id,
series_id, image_id; 7 breast_birads; 9 split; images ``images/<study_id>/<image_id>.dicom``)
and third-party loaders of the same file::

    breast-level_annotations.csv   study_id, series_id, image_id, laterality, view_position,
                                   height, width, breast_birads ("BI-RADS 1".."BI-RADS 5"),
                                   breast_density ("DENSITY A".."D"), split ("training" / "test")
    finding_annotations.csv        per-lesion boxes (not read)
    images/<study_id>/<image_id>.dicom

One sample per image (4 views per study): label = the breast-level BI-RADS of that
image's breast. A value outside BI-RADS 1-5 is an error unless ``unknown_codes=drop``, an
empty one unless ``missing_labels=exclude`` (either way counted in the card's ``label_mapping``).
Patient = study_id (the release publishes no separate patient id). Official split:
``training`` -> train (10 % of its studies, seeded and stratified, -> val), ``test`` -> test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.catalog.schema import Task
from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import ImageRecord, read_table, require_values
from climb.prepare.builders.mammo import Mammography
from climb.prepare.labels.mapping import MISSING_POLICIES, check_policy

BIRADS_1_5 = [f"BI-RADS {k}" for k in range(1, 6)]
BIRADS_CODES = {name: name for name in BIRADS_1_5}
SPLITS = {"training": "train", "test": "test"}
TABLE = "breast-level_annotations.csv"
COLUMNS = ["study_id", "image_id", "breast_birads", "split"]


@register_builder("vindr_mammo")
class VinDrMammo(Mammography):
    """VinDr-Mammo images with their breast-level BI-RADS assessment."""

    catalog_id = "vindr_mammo"
    task = Task.multiclass
    label_names = BIRADS_1_5
    val_from_train = 0.1
    split_policy = ("official training/test split of breast-level_annotations.csv (10% of the training studies, "
                    "seeded and stratified, -> val); patient = study_id")
    index_files = (TABLE,)
    default_params: dict[str, Any] = {"size": 224, "unknown_codes": "error", "missing_labels": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("unknown_codes", self.params["unknown_codes"], ("error", "drop"))
        check_policy("missing_labels", self.params["missing_labels"], MISSING_POLICIES)

    def records(self, raw: Path) -> list[ImageRecord]:
        table = raw / TABLE
        df = read_table(table, COLUMNS)
        require_values(table, df, ["study_id", "image_id", "split"])
        studies, images = (df[c].astype(str).str.strip() for c in ("study_id", "image_id"))
        ids = [f"{s}/{i}" for s, i in zip(studies, images)]
        if len(set(ids)) != len(ids):
            raise PrepareError(table, "an image is listed more than once")
        mapper = self.label_mapper(BIRADS_CODES, what="breast_birads", source=table,
                                   unknown=self.params["unknown_codes"], missing=self.params["missing_labels"],
                                   hint="unknown_codes=drop / missing_labels=exclude leave them out, counted in "
                                        "the card")
        recs = []
        for i, (sid, split, birads) in enumerate(zip(ids, df["split"].astype(str).str.strip(), df["breast_birads"])):
            if split not in SPLITS:
                raise PrepareError(table, f"row {i + 2}: split {split!r} is not 'training' or 'test'")
            label = mapper.one(birads, sid)
            if label is None:
                continue
            path = raw / "images" / f"{sid}.dicom"
            if not path.is_file():
                raise PrepareError(table, f"row {i + 2}: image images/{sid}.dicom not found")
            recs.append(ImageRecord(sid, sid.split("/")[0], path, label, SPLITS[split]))
        mapper.finish()
        return recs

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {**super().field_meta(raw), "label": {"definition": "breast_birads"}}
