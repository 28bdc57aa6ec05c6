"""MedMNIST v2 / MedMNIST+ (Yang et al. 2023): every 2D and 3D file, official splits.

Each `<flag>.npz` (28 px) or `<flag>_<size>.npz` (MedMNIST+: 64, 128, 224; 3D: 64)
holds `{train,val,test}_{images,labels}`. MedMNIST publishes no patient ids, so each
image is its own patient id; the official splits were made by the authors (patient-
level where the source data allowed it). Registered names: `<flag>` and `<flag>_<size>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder

# flag -> is the file 3D. Task and label names (MedMNIST's INFO table, medmnist/info.py v3.0.2,
# whose label order is the npz's class index) are in each flag's catalog entry; note that
# OrganMNIST3D orders its 11 organs differently from Organ{A,C,S}MNIST (liver = 0, not 6).
MEDMNIST: dict[str, bool] = {
    "pathmnist": False, "chestmnist": False, "dermamnist": False, "octmnist": False, "pneumoniamnist": False,
    "retinamnist": False, "breastmnist": False, "bloodmnist": False, "tissuemnist": False, "organamnist": False,
    "organcmnist": False, "organsmnist": False, "organmnist3d": True, "nodulemnist3d": True,
    "adrenalmnist3d": True, "fracturemnist3d": True, "vesselmnist3d": True, "synapsemnist3d": True,
}
SIZES_2D = (28, 64, 128, 224)
SIZES_3D = (28, 64)
RECORD_ROWS = 512  # samples per parallel record


class MedMNIST(Builder):
    """One MedMNIST npz file -> image (C,H,W) or volume (1,D,H,W) samples."""

    version = "1.0.0"
    default_params: dict[str, Any] = {"flag": "pneumoniamnist", "size": 28}

    def __init__(self, **params: Any):
        super().__init__(**params)
        flag = self.params["flag"]
        self.is_3d = MEDMNIST[flag]
        self.catalog_id = flag
        self.fields = {"volume" if self.is_3d else "image": "volume" if self.is_3d else "image"}
        self.split_policy = "official MedMNIST train/val/test (no patient ids published)"
        self._label_cache: dict[str, np.ndarray] | None = None
        self._image_cache: dict[str, np.ndarray] = {}

    def file_name(self) -> str:
        flag, size = self.params["flag"], self.params["size"]
        return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"

    def _file(self, raw: Path) -> Path:
        return raw / self.file_name()

    def download_include(self) -> list[str] | None:
        """A MedMNIST+ size is one more file of the entry's source; the 28 px file is its default selection."""
        return None if self.params["size"] == 28 else [self.file_name()]

    def source_files(self, raw: Path) -> list[Path]:
        return [self._file(raw)]

    def _open(self, raw: Path):
        path = self._file(raw)
        if not path.is_file():
            raise PrepareError(path, "file not found (download it with `climb download`)")
        try:
            npz = np.load(path)
        except Exception as e:  # a truncated or foreign file
            raise PrepareError(path, f"not a readable npz file ({type(e).__name__}: {e})") from None
        keys = [f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels")]
        missing = [k for k in keys if k not in npz.files]
        if missing:
            npz.close()
            raise PrepareError(path, f"missing key(s) {missing}; present: {npz.files}")
        return npz

    def _labels(self, raw: Path) -> dict[str, np.ndarray]:
        """The labels of each split, checked: a NaN label is an error naming the split, a sample and the count."""
        if self._label_cache is None:
            with self._open(raw) as npz:
                labels = {split: npz[f"{split}_labels"] for split in ("train", "val", "test")}
            for split, values in labels.items():
                bad = np.flatnonzero(~np.isfinite(values.astype(np.float64)).all(axis=-1))
                if len(bad):
                    raise PrepareError(self._file(raw), f"{split}_labels: {len(bad)} NaN/inf label(s), the first at "
                                       f"sample {split}-{bad[0]} (MedMNIST labels are class indices / 0-1 vectors)")
            self._label_cache = labels
        return self._label_cache

    def _images(self, raw: Path, split: str) -> np.ndarray:
        """The images of `split`, loaded once per process (not pickled to workers)."""
        if split not in self._image_cache:
            with self._open(raw) as npz:
                images = npz[f"{split}_images"]
            n = len(self._labels(raw)[split])
            if len(images) != n:
                raise PrepareError(self._file(raw), f"{split}: {len(images)} images but {n} labels")
            self._image_cache[split] = images
        return self._image_cache[split]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_image_cache": {}}

    def num_samples_hint(self, raw: Path) -> int | None:
        return sum(len(v) for v in self._labels(raw).values())

    def parallel_records(self, raw: Path) -> list[tuple[str, int, int]]:
        """(split, start, stop) blocks of `RECORD_ROWS` samples (a MedMNIST sample is an array slice)."""
        return [(split, start, min(start + RECORD_ROWS, len(labels)))
                for split, labels in self._labels(raw).items() for start in range(0, len(labels), RECORD_ROWS)]

    def record_samples(self, raw: Path, record: tuple[str, int, int]) -> Iterator[dict[str, Any]]:
        split, start, stop = record
        images, labels = self._images(raw, split), self._labels(raw)[split]
        field = next(iter(self.fields))
        for i in range(start, stop):
            yield {
                "sample_id": f"{split}-{i}",
                "patient_id": f"{split}-{i}",
                "split": split,
                "label": labels[i].astype(np.float32) if self.task == Task.multilabel else int(labels[i][0]),
                field: _channels_first(images[i], self.is_3d),
            }


def _channels_first(img: np.ndarray, is_3d: bool) -> np.ndarray:
    if is_3d or img.ndim == 2:
        return img[None]
    return np.moveaxis(img, -1, 0)


for _flag, _is3d in MEDMNIST.items():
    for _size in SIZES_3D if _is3d else SIZES_2D:
        _name = _flag if _size == 28 else f"{_flag}_{_size}"
        register_builder(_name, flag=_flag, size=_size)(MedMNIST)
