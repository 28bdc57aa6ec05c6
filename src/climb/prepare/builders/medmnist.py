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

    def _arrays(self, raw: Path) -> dict[str, np.ndarray]:
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
            raise PrepareError(path, f"missing key(s) {missing}; present: {npz.files}")
        return {k: npz[k] for k in keys}

    def num_samples_hint(self, raw: Path) -> int | None:
        return None

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        arrays = self._arrays(raw)
        field = next(iter(self.fields))
        for split in ("train", "val", "test"):
            images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
            if len(images) != len(labels):
                raise PrepareError(self._file(raw), f"{split}: {len(images)} images but {len(labels)} labels")
            for i, (img, lab) in enumerate(zip(images, labels)):
                yield {
                    "sample_id": f"{split}-{i}",
                    "patient_id": f"{split}-{i}",
                    "split": split,
                    "label": lab.astype(np.float32) if self.task == Task.multilabel else int(lab[0]),
                    field: _channels_first(img, self.is_3d),
                }


def _channels_first(img: np.ndarray, is_3d: bool) -> np.ndarray:
    if is_3d or img.ndim == 2:
        return img[None]
    return np.moveaxis(img, -1, 0)


for _flag, _is3d in MEDMNIST.items():
    for _size in SIZES_3D if _is3d else SIZES_2D:
        _name = _flag if _size == 28 else f"{_flag}_{_size}"
        register_builder(_name, flag=_flag, size=_size)(MedMNIST)
