"""Shared machinery of the 2D image builders (dermoscopy, fundus, X-ray, mammography, ...).

Every 2D image becomes ``image``: uint8 ``(C, size, size)``. The long side is resized
to ``size`` (antialiased bilinear) and the short side zero-padded symmetrically, as in
the CLIMB paper. Channel policy: 1 channel (luminance) for X-ray and mammography,
3 (RGB) for everything else. DICOM: the modality LUT (rescale slope/intercept) is
applied, then the file's first VOI window when it has WindowCenter/WindowWidth (else
the full min..max range) is mapped to 0..255, and MONOCHROME1 is inverted so that
bright always means dense.

A dataset builder subclasses `Image2DBuilder` and implements `records(raw)`: one
`ImageRecord` per sample (file, label, patient, official split or None). Records are
computed once per raw directory; missing images are reported against the index file
and row that named them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from climb.extras import MissingExtraError, missing_extra, require
from climb.prepare.builder import Builder, PrepareError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DICOM_EXTS = (".dcm", ".dicom")
Image.MAX_IMAGE_PIXELS = None  # full-field mammograms exceed PIL's decompression-bomb guard


# ---------------------------------------------------------------- records and the base builder


@dataclass(frozen=True)
class ImageRecord:
    """One sample before its image is read."""

    sample_id: str
    patient_id: str
    path: Path
    label: Any  # int class index, or float32 array (K,) for multilabel
    split: str | None = None


class Image2DBuilder(Builder):
    """Base of the 2D image builders: `records()` in, standard `image` samples out."""

    fields: ClassVar[dict[str, str]] = {"image": "image"}
    default_params: ClassVar[dict[str, Any]] = {"size": 224}
    channels: ClassVar[int] = 3  # 1 for X-ray and mammography
    index_files: ClassVar[tuple[str, ...]] = ()  # metadata files, relative to raw (existing ones are hashed)
    hash_images: ClassVar[bool] = True  # False for the very large sets: only their index files are hashed
    val_from_train: ClassVar[float | None] = None  # carve a patient-grouped val set from the official train

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._cache: dict[Path, list[ImageRecord]] = {}

    def records(self, raw: Path) -> list[ImageRecord]:
        """All samples of the dataset (labels mapped, paths checked)."""
        raise NotImplementedError

    def _records(self, raw: Path) -> list[ImageRecord]:
        key = Path(raw).resolve()
        if key not in self._cache:
            recs = self.records(Path(raw))
            if not recs:
                raise PrepareError(raw, f"{self.catalog_id}: no images found in the expected layout")
            if self.val_from_train:
                recs = carve_val(recs, self.val_from_train, self.split_seed, self.stratum_of)
            self._cache[key] = recs
        return self._cache[key]

    def class_index(self, names: dict[Any, str]) -> dict[Any, int]:
        """`{native value: class name}` -> `{native value: index}` in the catalog's label order."""
        return {key: self.label_names.index(name) for key, name in names.items()}

    def stratum_of(self, label: Any) -> object:
        return tuple(np.asarray(label).tolist()) if np.ndim(label) else int(label)

    def source_files(self, raw: Path) -> list[Path]:
        files = [raw / f for f in self.index_files if (raw / f).is_file()]
        if self.hash_images:
            files += [r.path for r in self._records(raw)]
        else:
            self._records(raw)  # still fail early on a bad index
        return files

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._records(raw))

    def parallel_records(self, raw: Path) -> list[ImageRecord]:
        return self._records(raw)

    def record_samples(self, raw: Path, rec: ImageRecord) -> Iterator[dict[str, Any]]:
        yield {
            "sample_id": rec.sample_id,
            "patient_id": rec.patient_id,
            "split": rec.split,
            "label": rec.label,
            "image": load_image(rec.path, int(self.params["size"]), self.channels),
        }

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"image": {"channels": self.channels, "size": int(self.params["size"]),
                          "preprocessing": "long side resized to size, zero-padded to square, uint8"}}


def carve_val(records: list[ImageRecord], fraction: float, seed: int, stratum_of) -> list[ImageRecord]:
    """Move a seeded, patient-grouped, label-stratified `fraction` of the train records to val.

    Patients are keyed by the stratum of their first record, shuffled with `seed` within
    each stratum, and the strata are walked in order; a patient goes to val whenever that
    keeps the running val share of samples at most `fraction` (greedy, so even strata of
    one patient each, as multilabel combinations often are, still give a val set).
    """
    first: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for r in records:
        if r.split == "train":
            first.setdefault(r.patient_id, str(stratum_of(r.label)))
            sizes[r.patient_id] = sizes.get(r.patient_id, 0) + 1
    by_stratum: dict[str, list[str]] = {}
    for pid, s in first.items():
        by_stratum.setdefault(s, []).append(pid)
    rng = np.random.default_rng(seed)
    val: set[str] = set()
    seen = in_val = 0
    for s in sorted(by_stratum):
        pids = sorted(by_stratum[s])
        for pid in (pids[i] for i in rng.permutation(len(pids))):
            seen += sizes[pid]
            if in_val + sizes[pid] / 2 <= fraction * seen:
                val.add(pid)
                in_val += sizes[pid]
    return [replace(r, split="val") if r.split == "train" and r.patient_id in val else r for r in records]


# ---------------------------------------------------------------- index files


def find_file(raw: Path, candidates: Sequence[str]) -> Path:
    """The first existing `raw/<candidate>`; else PrepareError listing what was looked for."""
    for c in candidates:
        if (raw / c).is_file():
            return raw / c
    raise PrepareError(raw / candidates[0], f"index file not found (looked for {', '.join(candidates)})")


def read_table(path: Path, required: Iterable[str], **kwargs: Any) -> pd.DataFrame:
    """Read a CSV (plain or .gz) and check that the `required` columns are present."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        df = pd.read_csv(path, **kwargs)
    except (ValueError, OSError, csv.Error, UnicodeDecodeError, EOFError) as e:
        raise PrepareError(path, f"not a readable CSV table ({type(e).__name__}: {e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PrepareError(path, f"missing required column(s) {missing}; present: {list(df.columns)}")
    return df


def read_xlsx(path: Path) -> pd.DataFrame:
    """The first worksheet of an .xlsx file (header = first row), read by pandas with openpyxl."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        df = pd.read_excel(path, sheet_name=0, engine="openpyxl")
    except Exception as e:  # zipfile, XML and openpyxl errors of damaged or foreign files
        raise PrepareError(path, f"unreadable spreadsheet ({type(e).__name__}: {e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def require_values(path: Path, df: pd.DataFrame, columns: Iterable[str]) -> None:
    """PrepareError naming the first row with an empty required cell."""
    for col in columns:
        bad = df.index[df[col].isna()]
        if len(bad):
            raise PrepareError(path, f"row {int(bad[0]) + 2}: empty {col!r}")


def index_by_stem(root: Path, exts: Sequence[str] = IMAGE_EXTS) -> dict[str, Path]:
    """Map file stem -> path for every image below `root` (the first in sorted order wins).

    Used where an official download splits images over several folders (HAM10000
    part_1/part_2, PAD-UFES imgs_part_*) or nests them differently per mirror.
    """
    out: dict[str, Path] = {}
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in exts and not is_hidden(p, root) and p.is_file():
            out.setdefault(p.stem, p)
    return out


def lookup_image(index: dict[str, Path], image_id: Any, index_file: Path, row: int) -> Path:
    """The file of `image_id` (with or without extension), or PrepareError naming the row."""
    stem = str(image_id).strip()
    if Path(stem).suffix.lower() in IMAGE_EXTS:
        stem = Path(stem).stem
    if stem not in index:
        raise PrepareError(index_file, f"row {row + 2}: image {image_id!r} not found under the raw directory")
    return index[stem]


def find_dir(raw: Path, name: str, max_depth: int = 3) -> Path | None:
    """`raw/<...>/name` at most `max_depth` levels down (Kaggle zips nest folders variously)."""
    frontier = [raw]
    for _ in range(max_depth + 1):
        nxt = []
        for d in frontier:
            if (d / name).is_dir():
                return d / name
            nxt += sorted(c for c in d.iterdir() if c.is_dir())
        frontier = nxt
    return None


def is_hidden(path: Path, root: Path) -> bool:
    """True for files below `root` inside a hidden folder or hidden themselves (`.ipynb_checkpoints/`,
    macOS `._x` resource forks, `.DS_Store`): copies and metadata, never samples."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def class_folder_records(root: Path, classes: dict[str, int], split: str | None, id_prefix: str = "",
                         skip: str = "_mask", ignore: Iterable[str] = ()) -> list[ImageRecord]:
    """Records of a `root/<class folder>/<image>` layout; `skip` drops e.g. segmentation masks.

    Every visible sub-folder of `root` must be a class folder (an unknown one is an error
    naming it, not silently ignored); hidden files and folders are skipped (the real
    Brain Tumor MRI download carries a `Testing/meningioma/.ipynb_checkpoints/` copy).
    No patient ids are published for these layouts, so each image is its own patient.
    `ignore`: sub-folders the caller has accounted for (e.g. an identical second copy of the archive).
    """
    unknown = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
                     and d.name not in classes and d.name not in set(ignore))
    if unknown:
        raise PrepareError(root, f"folder(s) {unknown} are not class folders of this dataset; "
                                 f"expected only {sorted(classes)}")
    recs: list[ImageRecord] = []
    for folder, label in classes.items():
        d = root / folder
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if p.suffix.lower() not in IMAGE_EXTS or (skip and skip in p.stem) or is_hidden(p, d):
                continue
            sid = f"{id_prefix}{folder}/{p.relative_to(d).as_posix()}"
            recs.append(ImageRecord(sid, sid, p, label, split))
    return recs


# ---------------------------------------------------------------- pixels


def load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Any supported file -> uint8 (channels, size, size)."""
    if path.suffix.lower() in DICOM_EXTS:
        img = Image.fromarray(read_dicom(path))
    else:
        img = read_picture(path)
    return square(img, size, channels)


def read_picture(path: Path) -> Image.Image:
    """Open a PNG/JPEG/...; 16-bit and float images are min-max scaled to 8 bits."""
    if not path.is_file():
        raise PrepareError(path, "image file not found")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
    except Exception as e:  # PIL raises many types for truncated or foreign files
        raise PrepareError(path, f"unreadable image ({type(e).__name__}: {e})") from None
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(to_uint8(np.asarray(im, dtype=np.float64)))
    return im


def to_uint8(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map [lo, hi] (default: the array's range) linearly onto 0..255."""
    lo = float(np.min(arr)) if lo is None else lo
    hi = float(np.max(arr)) if hi is None else hi
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    scaled = (np.clip(arr, lo, hi) - lo) / (hi - lo) * 255.0
    return np.round(scaled).astype(np.uint8)


def _first(value: Any) -> float:
    """The first value of a possibly multi-valued DICOM element as float (NaN if absent)."""
    if value is not None and not isinstance(value, (str, bytes)) and hasattr(value, "__len__"):
        value = value[0] if len(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def read_dicom_pixels(path: Path) -> tuple[Any, np.ndarray]:
    """A DICOM file's dataset and decoded pixel array.

    Compressed pixel data (JPEG-LS, JPEG 2000, lossless JPEG, ...) needs one of pydicom's
    decoder plugins (pylibjpeg, GDCM: the `dicom` extra); without one this stops with one
    line naming the extra instead of pydicom's list of plugins.
    """
    pydicom = require("pydicom", "reading DICOM")
    from pydicom.pixels import get_decoder

    if not path.is_file():
        raise PrepareError(path, "DICOM file not found")
    try:
        ds = pydicom.dcmread(path)
        syntax = ds.file_meta.get("TransferSyntaxUID")
        if syntax is not None and syntax.is_compressed and not get_decoder(syntax).is_available:
            raise missing_extra("pylibjpeg", f"decoding {syntax.name} DICOM pixel data ({path.name})")
        return ds, ds.pixel_array
    except MissingExtraError:
        raise
    except Exception as e:  # truncated file, missing PixelData, unsupported compression
        raise PrepareError(path, f"unreadable DICOM ({type(e).__name__}: {e})") from None


def read_dicom(path: Path) -> np.ndarray:
    """DICOM -> uint8 2D (or RGB) array: rescale, window (if given), MONOCHROME1 inverted."""
    ds, pixels = read_dicom_pixels(path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if pixels.ndim == 3 and photometric not in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        pixels = pixels[0]  # multi-frame: the first frame
    if photometric.startswith("YBR"):
        from pydicom.pixels import convert_color_space

        pixels = convert_color_space(pixels, photometric, "RGB")
    if pixels.ndim == 3:
        return to_uint8(pixels.astype(np.float64), 0, float(2 ** int(ds.get("BitsStored", 8)) - 1))
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    values = pixels.astype(np.float64) * slope + intercept
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if np.isfinite(center) and np.isfinite(width) and width > 0:
        out = to_uint8(values, center - width / 2, center + width / 2)
    else:
        out = to_uint8(values)
    if photometric == "MONOCHROME1":
        out = 255 - out
    return out


def square(img: Image.Image, size: int, channels: int) -> np.ndarray:
    """Resize the long side to `size`, zero-pad to size x size; -> uint8 (channels, size, size)."""
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    scale = size / max(w, h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    out = np.zeros((size, size, arr.shape[2]), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top:top + new_h, left:left + new_w] = arr
    return np.ascontiguousarray(out.transpose(2, 0, 1))


__all__ = [
    "DICOM_EXTS", "IMAGE_EXTS", "Image2DBuilder", "ImageRecord", "carve_val", "class_folder_records",
    "find_dir", "find_file", "index_by_stem", "is_hidden", "load_image", "lookup_image", "read_dicom",
    "read_picture", "read_table", "read_xlsx", "require_values", "square", "to_uint8",
]
