"""Folder-per-class image sets (RGB): BUSI breast ultrasound, Brain tumor MRI, LC25000 pathology.

Official layouts (the unzipped Kaggle / GitHub archives):

* BUSI (Al-Dhabyani et al. 2020): ``Dataset_BUSI_with_GT/{normal,benign,malignant}/
  <class> (N).png`` with segmentation masks ``<class> (N)_mask*.png`` beside them
  (masks are skipped). No official split.
* Brain tumor MRI (Kaggle sartajbhuvaji/brain-tumor-classification-mri):
  ``Training/`` and ``Testing/``, each with ``{no_tumor,glioma_tumor,meningioma_tumor,
  pituitary_tumor}/*.jpg`` (the later masoudnickparvar release names them ``notumor,
  glioma, meningioma, pituitary``, real_samples/brain_tumor_mri; both are read). Official
  Training/Testing split. Hidden folders are skipped: the real download carries a
  ``Testing/meningioma/.ipynb_checkpoints/`` copy of some images.
* LC25000 (Borkowski et al. 2019): ``lung_colon_image_set/lung_image_sets/{lung_aca,
  lung_n,lung_scc}/*.jpeg`` and ``colon_image_sets/{colon_aca,colon_n}/*.jpeg``. No split.
  Registered twice: ``lc25000`` (both halves, 5 classes) and ``lc25000_lung`` (the lung half
  alone, the catalog's ``lung`` view: 3 classes; real_samples/lc25000 holds only that half).

None publishes patient ids, so every image is its own patient; the card's split_policy
says so. LC25000's 25,000 images are augmentations of 1,250 source images whose mapping
is not published: splits of it cannot be grouped by source image.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any, ClassVar

from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import Image2DBuilder, ImageRecord, class_folder_records, find_dir

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}

BUSI_FOLDERS = {"normal": "normal", "benign": "benign", "malignant": "malignant"}
BRAIN_TUMOR_FOLDERS = {
    "no_tumor": "none", "glioma_tumor": "glioma", "meningioma_tumor": "meningioma",
    "pituitary_tumor": "pituitary",  # sartajbhuvaji
    "notumor": "none", "glioma": "glioma", "meningioma": "meningioma", "pituitary": "pituitary",  # masoudnickparvar
}
LC25000_FOLDERS = {
    "lung_image_sets": {"lung_aca": "lung adenocarcinoma", "lung_n": "lung benign tissue",
                        "lung_scc": "lung squamous cell carcinoma"},
    "colon_image_sets": {"colon_aca": "colon adenocarcinoma", "colon_n": "colon benign tissue"},
}


def _locate(raw: Path, names: tuple[str, ...], what: str) -> Path:
    for name in names:
        found = find_dir(raw, name)
        if found is not None:
            return found
    raise PrepareError(raw, f"{what}: none of the folders {list(names)} found (up to 3 levels down)")


@register_builder("busi")
class BUSI(Image2DBuilder):
    """BUSI: normal / benign / malignant breast ultrasound images (masks skipped)."""

    catalog_id = "busi"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split stratified by class; BUSI publishes no patient ids (780 "
                    "images of 600 women), so each image is its own patient")

    def records(self, raw: Path) -> list[ImageRecord]:
        root = find_dir(raw, "Dataset_BUSI_with_GT") or _locate(raw, ("benign",), "BUSI").parent
        return class_folder_records(root, self.class_index(BUSI_FOLDERS), None)


@register_builder("brain_tumor")
class BrainTumorMRI(Image2DBuilder):
    """Brain tumor MRI slices: none / glioma / meningioma / pituitary; official Training/Testing."""

    catalog_id = "brain_tumor"
    val_from_train = 0.1
    split_policy = ("official Training -> train (10% carved out, seeded and stratified, as val), "
                    "Testing -> test; no patient ids are published, so each image is its own patient")

    def records(self, raw: Path) -> list[ImageRecord]:
        recs = []
        for folder, split in (("Training", "train"), ("Testing", "test")):
            root = _locate(raw, (folder,), "Brain tumor MRI")
            recs += class_folder_records(root, self.class_index(BRAIN_TUMOR_FOLDERS), split, id_prefix=f"{folder}/",
                                         skip="")
        return recs


@register_builder("lc25000")
@register_builder("lc25000_lung", halves=("lung_image_sets",))
class LC25000(Image2DBuilder):
    """LC25000 lung and colon histopathology: 5 classes (or the lung half alone: 3)."""

    catalog_id = "lc25000"
    split_fractions = FRACTIONS
    split_policy = ("seeded 70/10/20 split stratified by class, by image: LC25000 images are "
                    "augmentations of 1,250 source images and the source mapping is not published, "
                    "so augmentations of one source image may fall in different splits")
    default_params: ClassVar[dict[str, Any]] = {"size": 224, "halves": tuple(LC25000_FOLDERS)}

    def __init__(self, **params: Any):
        super().__init__(**params)
        halves = tuple(self.params["halves"])
        if halves == ("lung_image_sets",):
            self.view = "lung"
        elif set(halves) != set(LC25000_FOLDERS):
            raise ValueError(f"lc25000: halves must be both of {list(LC25000_FOLDERS)} or lung_image_sets alone")

    def records(self, raw: Path) -> list[ImageRecord]:
        recs = []
        for group in self.params["halves"]:
            root = _locate(raw, (group,), "LC25000")
            recs += class_folder_records(root, self.class_index(LC25000_FOLDERS[group]), None, skip="")
        return recs
