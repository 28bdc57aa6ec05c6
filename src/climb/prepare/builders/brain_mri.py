"""Brain MRI Images for Brain Tumor Detection (Kaggle navoneel): tumor yes / no, RGB.

Layout, checked on the real files in ``real_samples/brain_mri`` (14 of the 253 images)::

    yes/Y1.jpg  yes/Y100.JPG  yes/Y92.png ...      155 images with a tumor
    no/N1.JPG   no/no 1.jpg   no/1 no.jpeg ...     98 without

File names, extensions and case are mixed (``.jpg``, ``.JPG``, ``.jpeg``, ``.png``), names
contain spaces, modes vary (RGB, L, RGBA), and at least one file's extension does not
match its content (``no/no.jpg`` is a PNG): images are opened by content, never by
extension. The Kaggle archive also carries the same two folders a second time under
``brain_tumor_dataset/`` (third-party loaders read either copy); when several copies are
present they must be identical (same names and sizes) and one is read, the others are
counted in the card, so no image is ever counted twice (which would put one image in two
splits).

No patient ids and no official split: seeded 70/10/20 split stratified by label, each
image its own patient.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from climb.catalog.schema import Task
from climb.prepare.builder import PrepareError, register_builder
from climb.prepare.builders.images_2d import IMAGE_EXTS, Image2DBuilder, ImageRecord, class_folder_records

CLASSES = {"no": 0, "yes": 1}


def class_roots(raw: Path, max_depth: int = 3) -> list[Path]:
    """Every folder (raw itself included) holding both a ``yes/`` and a ``no/`` folder."""
    roots, frontier = [], [raw]
    for _ in range(max_depth + 1):
        roots += [d for d in frontier if all((d / c).is_dir() for c in CLASSES)]
        frontier = [c for d in frontier for c in sorted(d.iterdir()) if c.is_dir() and c.name not in CLASSES]
    return roots


def _inventory(root: Path) -> set[tuple[str, int]]:
    return {(p.relative_to(root).as_posix(), p.stat().st_size)
            for c in CLASSES for p in (root / c).rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTS}


@register_builder("brain_mri")
class BrainMRI(Image2DBuilder):
    """navoneel brain MRI: one sample per image in yes/ (tumor) and no/ (none)."""

    catalog_id = "brain_mri"
    task = Task.binary
    label_names = list(CLASSES)
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = ("seeded 70/10/20 split stratified by label; no patient ids are published, so each image is its "
                    "own patient")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.not_read: Counter[str] = Counter()  # files of a second archive copy (not samples of the table)

    def records(self, raw: Path) -> list[ImageRecord]:
        roots = class_roots(raw)
        if not roots:
            raise PrepareError(raw, "no folder with yes/ and no/ class folders found (up to 3 levels down)")
        first = _inventory(roots[0])
        self.not_read.clear()
        for other in roots[1:]:
            if _inventory(other) != first:
                raise PrepareError(other, f"a second copy of yes/ and no/ that differs from {roots[0]}; remove one")
            self.not_read["identical second copy of the archive's yes/ and no/ (not read)"] += len(first)
        copies = {r.relative_to(roots[0]).parts[0] for r in roots[1:] if roots[0] in r.parents}
        return class_folder_records(roots[0], CLASSES, None, skip="", ignore=copies)

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {**super().field_meta(raw), "label": {"excluded": dict(self.not_read)}}
