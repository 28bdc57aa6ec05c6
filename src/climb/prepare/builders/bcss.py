"""BCSS (Amgad et al. 2019): breast-cancer histology patches, tumor / stroma / lymphocytic / necrosis.

Layout of the publisher's download (github.com/PathologyDataScience/BCSS:
``download_crowdsource_dataset.py`` and ``configs.py``; the ``meta/`` tables checked on the
real files in ``real_samples/bcss``)::

    meta/gtruth_codes.tsv        label<TAB>GT_code: outside_roi 0, tumor 1, stroma 2,
                                 lymphocytic_infiltrate 3, necrosis_or_debris 4, ... other 21
    meta/roiBounds.csv           ,xmin,ymin,xmax,ymax,mask_link   (first column: ROI name,
                                 e.g. TCGA-A1-A0SK-DX1; 151 ROIs, one per TCGA case)
    masks/<ROI>_xmin<xmin>_ymin<ymin>_<MPP-0.2500 | MAG-..>.png   one code per pixel
    images/<same name>.png                                        the RGB region

(names built as ``"%s_xmin%d_ymin%d_%s.png" % (row[''], xmin, ymin, append_str)`` in the
download script; mask and image share the name). Pixel code 0 is "outside the ROI, don't
care", not a class (README).

Samples: each ROI is tiled into non-overlapping ``patch`` x ``patch`` tiles; a tile is a
sample when one of the four classes (tumor 1, stroma 2, lymphocytic_infiltrate 3,
necrosis_or_debris 4, CLIMB's label set, codes read from ``gtruth_codes.tsv``) covers at
least ``min_fraction`` of it, and its label is that class. Other tiles (another class
dominates, or no class reaches the fraction) are counted in the card's ``label_mapping``, by
dominant class or reason. Images
are resized to ``size`` (``image`` (3, size, size) uint8).

Patient = the TCGA case (the first 12 characters of the ROI name, ``TCGA-A1-A0SK``).
Split: the BCSS paper's held-out institutions (TCGA tissue-source sites OL, LL, E2, EW,
GM, S3, the 5th-6th characters of the case id; also CLIMB's ``TEST_SITES``) are the test
split; 10 % of the other cases (seeded, stratified) become val.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.images_2d import ImageRecord, carve_val, read_picture, square
from climb.prepare.labels.mapping import LabelMapper

CLASS_CODES = {"tumor": "tumor", "stroma": "stroma", "lymphocytic": "lymphocytic_infiltrate",
               "necrosis": "necrosis_or_debris"}  # label name -> name in gtruth_codes.tsv
TEST_SITES = {"OL", "LL", "E2", "EW", "GM", "S3"}
VAL_FRACTION = 0.1


def read_codes(path: Path) -> dict[str, int]:
    """gtruth_codes.tsv -> {label: code}."""
    if not path.is_file():
        raise PrepareError(path, "ground-truth code table not found")
    try:
        df = pd.read_csv(path, sep="\t")
    except Exception as e:  # pandas raises several types for broken tables
        raise PrepareError(path, f"unreadable table ({type(e).__name__}: {e})") from None
    if list(df.columns) != ["label", "GT_code"]:
        raise PrepareError(path, f"columns {list(df.columns)}, expected ['label', 'GT_code']")
    codes = dict(zip(df["label"].astype(str).str.strip(), df["GT_code"].astype(int)))
    missing = [n for n in CLASS_CODES.values() if n not in codes]
    if missing:
        raise PrepareError(path, f"class(es) {missing} not in the code table")
    return codes


def site_of(case: str) -> str:
    return case[5:7]


@dataclass(frozen=True)
class Region:
    name: str  # file stem
    case: str
    mask: Path
    image: Path


@register_builder("bcss")
class BCSS(Builder):
    """BCSS ROIs -> majority-class tiles of the four CLIMB classes."""

    version = "1.0.0"
    catalog_id = "bcss"
    task = Task.multiclass
    label_names = list(CLASS_CODES)
    fields = {"image": "image"}
    split_seed = 0
    split_policy = ("official BCSS test institutions (TCGA sites OL, LL, E2, EW, GM, S3) -> test; 10% of the other "
                    "TCGA cases (seeded, stratified) -> val; grouped by TCGA case, never by tile")
    default_params: dict[str, Any] = {"patch": 224, "min_fraction": 0.5, "size": 224}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if not 0.5 <= float(self.params["min_fraction"]) <= 1.0:
            raise ValueError("min_fraction must be in [0.5, 1] (a tile has at most one class covering half of it)")
        self._cache: dict[Path, tuple[list[Region], dict[str, int]]] = {}

    # ------------------------------------------------------------ files

    def _regions(self, raw: Path) -> tuple[list[Region], dict[str, int]]:
        key = Path(raw).resolve()
        if key not in self._cache:
            self._cache[key] = self._find_regions(raw)
        return self._cache[key]

    def _find_regions(self, raw: Path) -> tuple[list[Region], dict[str, int]]:
        codes = read_codes(raw / "meta" / "gtruth_codes.tsv")
        masks = sorted((raw / "masks").glob("*.png"))
        if not masks:
            raise PrepareError(raw / "masks", "no mask PNGs found (run the BCSS download script)")
        listed = self._listed_rois(raw)
        regions = []
        for mask in masks:
            roi = mask.stem.split("_xmin")[0]
            if listed is not None and roi not in listed:
                raise PrepareError(mask, f"ROI {roi!r} is not listed in meta/roiBounds.csv")
            image = raw / "images" / mask.name
            if not image.is_file():
                raise PrepareError(image, f"RGB image of mask {mask.name} not found")
            regions.append(Region(mask.stem, roi[:12], mask, image))
        if listed is not None:
            absent = sorted(listed - {r.name.split("_xmin")[0] for r in regions})
            if absent:
                raise PrepareError(raw / "masks", f"{len(absent)} ROI(s) of meta/roiBounds.csv have no mask, e.g. "
                                                  f"{absent[:5]}")
        return regions, codes

    @staticmethod
    def _listed_rois(raw: Path) -> set[str] | None:
        path = raw / "meta" / "roiBounds.csv"
        if not path.is_file():
            return None
        df = pd.read_csv(path, index_col=0)
        return {str(i).strip() for i in df.index}

    def source_files(self, raw: Path) -> list[Path]:
        regions, _ = self._regions(raw)
        meta = [raw / "meta" / n for n in ("gtruth_codes.tsv", "roiBounds.csv") if (raw / "meta" / n).is_file()]
        return meta + [p for r in regions for p in (r.mask, r.image)]

    # ------------------------------------------------------------ tiles

    def _tiles(self, region: Region, codes: dict[str, int], mapper: LabelMapper) -> list[tuple[int, int, int]]:
        """(row, col, label) of every tile whose dominant class is one of the four."""
        try:
            with Image.open(region.mask) as im:
                mask = np.asarray(im)
        except Exception as e:  # PIL raises many types for broken files
            raise PrepareError(region.mask, f"unreadable mask ({type(e).__name__}: {e})") from None
        if mask.ndim != 2:
            raise PrepareError(region.mask, f"mask has shape {mask.shape}, expected one code per pixel")
        unknown = sorted(set(np.unique(mask).tolist()) - set(codes.values()))
        if unknown:
            raise PrepareError(region.mask, f"pixel code(s) {unknown} not in meta/gtruth_codes.tsv")
        patch, need = int(self.params["patch"]), float(self.params["min_fraction"])
        name_of = {code: name for name, code in codes.items()}
        out = []
        for r in range(0, mask.shape[0] - patch + 1, patch):
            for c in range(0, mask.shape[1] - patch + 1, patch):
                counts = np.bincount(mask[r:r + patch, c:c + patch].ravel(), minlength=max(codes.values()) + 1)
                top = int(np.argmax(counts))
                tile = f"{region.name}@{r}_{c}"
                if counts[top] < need * patch * patch:
                    mapper.exclude("tile where no class covers min_fraction", tile)
                    continue
                label = mapper.one(name_of[top], tile)
                if label is not None:
                    out.append((r, c, label))
        return out

    def _records(self, raw: Path) -> list[tuple[ImageRecord, Region, int, int]]:
        regions, codes = self._regions(raw)
        table = {name: None for name in codes} | {code_name: label for label, code_name in CLASS_CODES.items()}
        mapper = self.label_mapper(table, what="dominant class", source=raw / "meta" / "gtruth_codes.tsv")
        items = []
        for region in regions:
            split = "test" if site_of(region.case) in TEST_SITES else "train"
            for r, c, label in self._tiles(region, codes, mapper):
                rec = ImageRecord(f"{region.name}@{r}_{c}", region.case, region.image, label, split)
                items.append((rec, region, r, c))
        mapper.finish()
        if not items:
            raise PrepareError(raw / "masks", "no tile has one of the four classes as its dominant class")
        carved = carve_val([i[0] for i in items], VAL_FRACTION, self.split_seed, int)
        return [(rec, *rest) for rec, (_, *rest) in zip(carved, items)]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        patch, size = int(self.params["patch"]), int(self.params["size"])
        current, pixels = None, None
        for rec, region, r, c in self._records(raw):
            if region is not current:
                current = region
                pixels = np.asarray(read_picture(region.image).convert("RGB"))
                with Image.open(region.mask) as im:
                    mask_shape = im.size[::-1]
                if pixels.shape[:2] != mask_shape:
                    raise PrepareError(region.image, f"image is {pixels.shape[:2]} px, its mask {mask_shape}")
            tile = Image.fromarray(pixels[r:r + patch, c:c + patch])
            yield {"sample_id": rec.sample_id, "patient_id": rec.patient_id, "split": rec.split,
                   "label": rec.label, "image": square(tile, size, 3)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"image": {"channels": 3, "size": int(self.params["size"]), "tile_px": int(self.params["patch"]),
                          "preprocessing": "non-overlapping tiles of the ROI at its download resolution, resized"},
                "label": {"definition": f"dominant class covering >= {self.params['min_fraction']} of the tile"}}
