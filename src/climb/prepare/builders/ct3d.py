"""3D CT: LNDb nodule patches and KiTS23 kidney-tumour volumes.

LNDb (Zenodo layout, extracted)::

    data0/LNDb-0001.mhd + LNDb-0001.raw   (... data5/)
    trainset_csv/trainNodules_gt.csv      LNDbID, RadID, RadFindingID, FindingID, x, y, z,
                                          AgrLevel, Nodule, Volume, Text

x, y, z are world coordinates (mm). Each row -> one patch of `patch` voxels centred
on the finding, resampled to `spacing_mm` isotropic voxels. Classes (LNDb's own categories,
lndb.grand-challenge.org/Data): Nodule = 0 -> "non-nodule"; Nodule = 1 -> "nodule >= 3 mm"
when the radiologists segmented it, "nodule < 3 mm" when they marked its centroid only. The
real trainNodules_gt.csv (real_samples/lndb, 1,219 rows) gives every unsegmented finding the
volume of a 3 mm sphere, 4/3 pi 1.5^3 = 14.137 mm^3 (all 451 non-nodules and 143 nodules; no
nodule is smaller): that placeholder volume marks a nodule < 3 mm (625 / 143 / 451 rows).
An equivalent-diameter rule (>= 3 mm) would put all 143 small nodules into ">= 3 mm".

KiTS23 (GitHub layout, neheller/kits23)::

    dataset/kits23.json                   [{"case_id": "case_00000", "malignant": true, ...}, ...]
    dataset/case_00000/imaging.nii.gz     (slices, H, W), HU

Each case -> the whole volume resampled to `shape`; label benign / malignant. The official
kits23.json (real_samples/kits23: 489 cases) has `"malignant": null` for 7 cases
(case_00461, 00512, 00514, 00515, 00541, 00544, 00550): pathology unknown. Those are left
out and counted in the card (`missing_labels="exclude"`, the default; `"error"` refuses
them), never coerced to benign. Patient id = case_id.

Both: HU window (centre, width) mapped to [0, 1] float32, field `volume` (1, D, H, W);
no official labelled test split, so seeded splits grouped by patient, stratified by label.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels.mapping import MISSING_POLICIES, check_policy, normalise

SPHERE_3MM_MM3 = 4.0 / 3.0 * np.pi * 1.5 ** 3  # LNDb's volume for findings marked by their centroid only
LNDB_SEGMENTED, LNDB_SMALL = "1 (segmented)", "1 (centroid only, 3 mm sphere volume)"
LNDB_CLASSES = {0: "non-nodule", LNDB_SEGMENTED: "nodule >= 3 mm", LNDB_SMALL: "nodule < 3 mm"}
KITS_MALIGNANT = {True: "malignant", False: "benign"}

MET_TYPES = {"MET_CHAR": "i1", "MET_UCHAR": "u1", "MET_SHORT": "i2", "MET_USHORT": "u2", "MET_INT": "i4",
             "MET_UINT": "u4", "MET_LONG": "i8", "MET_ULONG": "u8", "MET_FLOAT": "f4", "MET_DOUBLE": "f8"}


def hu_window(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    lo = centre - width / 2
    return np.clip((x.astype(np.float32) - lo) / width, 0.0, 1.0).astype(np.float32)


def zoom_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Linear resampling of `x` to exactly `shape`."""
    from scipy.ndimage import zoom

    if tuple(x.shape) == tuple(shape):
        return x
    out = zoom(x, [s / d for s, d in zip(shape, x.shape)], order=1, mode="nearest", grid_mode=True)
    return out[tuple(slice(0, s) for s in shape)]


# ---------------------------------------------------------------- MetaImage


def read_mhd_header(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PrepareError(path, f"unreadable MetaImage header ({e})") from None
    header = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            header[key.strip()] = value.strip()
    return header


def read_mhd(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MetaImage -> (array (z, y, x), spacing (x, y, z), origin (x, y, z), direction 3x3)."""
    h = read_mhd_header(path)
    try:
        dims = [int(v) for v in h["DimSize"].split()]
        dtype = np.dtype(MET_TYPES[h["ElementType"]])
        spacing = np.array([float(v) for v in h.get("ElementSpacing", "1 1 1").split()])
        origin = np.array([float(v) for v in h.get("Offset", h.get("Origin", "0 0 0")).split()])
        direction = np.array([float(v) for v in h.get("TransformMatrix", "1 0 0 0 1 0 0 0 1").split()]).reshape(3, 3)
        data_file = h["ElementDataFile"]
    except (KeyError, ValueError) as e:
        raise PrepareError(path, f"malformed MetaImage header ({type(e).__name__}: {e})") from None
    if len(dims) != 3 or len(spacing) != 3 or len(origin) != 3:
        raise PrepareError(path, f"expected a 3D image, header says DimSize {dims}")
    if h.get("CompressedData", "False").lower() == "true":
        raise PrepareError(path, "compressed MetaImage data is not supported")
    if h.get("BinaryDataByteOrderMSB", h.get("ElementByteOrderMSB", "False")).lower() == "true":
        dtype = dtype.newbyteorder(">")
    raw = path.parent / data_file
    if not raw.is_file():
        raise PrepareError(raw, "image data file named in the .mhd header is missing")
    expected = int(np.prod(dims)) * dtype.itemsize
    if raw.stat().st_size != expected:
        raise PrepareError(raw, f"{raw.stat().st_size} bytes, header {path.name} expects {expected} (truncated?)")
    arr = np.fromfile(raw, dtype=dtype).reshape(dims[::-1])
    return arr, spacing, origin, direction


def world_to_voxel(world: np.ndarray, spacing: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """World (x, y, z) mm -> continuous voxel index (x, y, z)."""
    return np.linalg.solve(direction * spacing[None, :], world - origin)


def extract_patch(volume: np.ndarray, centre_zyx: np.ndarray, spacing_zyx: np.ndarray,
                  patch: tuple[int, int, int], spacing_mm: float) -> np.ndarray:
    """`patch` voxels of `spacing_mm` mm centred on `centre_zyx`, padded with air (-1000 HU)."""
    from scipy.ndimage import map_coordinates

    axes = [centre_zyx[a] + (np.arange(patch[a]) - (patch[a] - 1) / 2) * spacing_mm / spacing_zyx[a]
            for a in range(3)]
    grid = np.meshgrid(*axes, indexing="ij")
    return map_coordinates(volume.astype(np.float32), grid, order=1, mode="constant", cval=-1000.0)


@register_builder("lndb")
class LNDb(Builder):
    """LNDb CT + trainNodules_gt.csv -> nodule-centred patches, 3 classes."""

    version = "1.0.0"
    catalog_id = "lndb"
    fields = {"volume": "volume"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = "no labelled official test set: seeded (0) 70/10/20 split grouped by LNDbID, stratified by class"
    default_params: dict[str, Any] = {"patch": (32, 32, 32), "spacing_mm": 1.0, "hu_window": (-600.0, 1500.0)}
    COLUMNS = ["LNDbID", "FindingID", "x", "y", "z", "Nodule", "Volume"]

    def _csv(self, raw: Path) -> Path:
        found = sorted(raw.rglob("trainNodules_gt.csv"))
        if not found:
            raise PrepareError(raw, "trainNodules_gt.csv not found (extract trainset_csv.zip)")
        return found[0]

    def _scans(self, raw: Path) -> dict[int, Path]:
        scans = {}
        for p in raw.rglob("LNDb-*.mhd"):
            try:
                scans[int(p.stem.split("-")[1])] = p
            except (IndexError, ValueError):
                continue
        return scans

    def _table(self, raw: Path):
        import pandas as pd

        path = self._csv(raw)
        try:
            df = pd.read_csv(path)
        except Exception as e:
            raise PrepareError(path, f"unreadable CSV ({type(e).__name__}: {e})") from None
        missing = [c for c in self.COLUMNS if c not in df.columns]
        if missing:
            raise PrepareError(path, f"missing column(s) {missing}; present: {list(df.columns)}")
        if df[self.COLUMNS].isna().any().any():
            raise PrepareError(path, "empty values in required columns")
        scans = self._scans(raw)
        absent = sorted(set(int(i) for i in df["LNDbID"]) - set(scans))
        if absent:
            raise PrepareError(path, f"findings for scan(s) without LNDb-XXXX.mhd: {absent[:10]}")
        return df, scans

    def source_files(self, raw: Path) -> list[Path]:
        df, scans = self._table(raw)
        files = [self._csv(raw)]
        for i in sorted(set(int(v) for v in df["LNDbID"])):
            files += [scans[i], scans[i].with_suffix(".raw")]
        return files

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        c, w = self.params["hu_window"]
        return {"volume": {"spacing_mm": self.params["spacing_mm"], "hu_window": {"centre": c, "width": w},
                           "scale": "HU window mapped to [0, 1]", "axes": "1, z, y, x"}}

    def label_key(self, nodule: Any, volume_mm3: float) -> Any:
        """The LNDB_CLASSES key of a finding: Nodule as published, `1` split by segmented or not."""
        if normalise(nodule) != 1:
            return nodule
        return LNDB_SMALL if abs(float(volume_mm3) - SPHERE_3MM_MM3) < 1e-3 else LNDB_SEGMENTED

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        df, scans = self._table(raw)
        centre, width = self.params["hu_window"]
        patch = tuple(int(v) for v in self.params["patch"])
        mapper = self.label_mapper(LNDB_CLASSES, what="Nodule", source=self._csv(raw))
        labels = [mapper.one(self.label_key(r["Nodule"], r["Volume"]),
                             f"row {i + 2} (LNDb-{int(r['LNDbID']):04d} finding {int(r['FindingID'])})")
                  for i, r in enumerate(df.to_dict("records"))]
        mapper.finish()
        df = df.assign(label=labels)
        for lndb_id, rows in df.groupby("LNDbID", sort=True):
            volume, spacing, origin, direction = read_mhd(scans[int(lndb_id)])
            for _, r in rows.iterrows():
                vox = world_to_voxel(np.array([r["x"], r["y"], r["z"]], dtype=float), spacing, origin, direction)
                if np.any(vox < -0.5) or np.any(vox > np.array(volume.shape[::-1]) - 0.5):
                    raise PrepareError(self._csv(raw), f"finding {int(r['FindingID'])} of LNDb-{int(lndb_id):04d} "
                                                       f"lies outside the scan")
                cube = extract_patch(volume, vox[::-1], spacing[::-1], patch, float(self.params["spacing_mm"]))
                yield {"sample_id": f"LNDb-{int(lndb_id):04d}-{int(r['FindingID'])}",
                       "patient_id": f"LNDb-{int(lndb_id):04d}", "split": None,
                       "label": int(r["label"]),
                       "volume": hu_window(cube, centre, width)[None]}


@register_builder("kits23")
class KiTS23(Builder):
    """KiTS23 imaging.nii.gz + kits23.json -> resampled whole volume, benign/malignant."""

    version = "1.0.0"
    catalog_id = "kits23"
    fields = {"volume": "volume"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = "no official split with labels: seeded (0) 70/10/20 split grouped by case, stratified by label"
    default_params: dict[str, Any] = {"shape": (64, 128, 128), "hu_window": (40.0, 400.0),
                                      "missing_labels": "exclude"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("missing_labels", self.params["missing_labels"], MISSING_POLICIES)

    def _meta(self, raw: Path) -> dict[str, Any]:
        path = raw / "dataset" / "kits23.json"
        if not path.is_file():
            raise PrepareError(path, "metadata file not found")
        try:
            entries = json.loads(path.read_text())
            return {str(e["case_id"]): e["malignant"] for e in entries}
        except (ValueError, KeyError, TypeError) as e:
            problem = f"not a list of cases with 'case_id' and 'malignant' ({type(e).__name__}: {e})"
            raise PrepareError(path, problem) from None

    def _cases(self, raw: Path) -> list[tuple[str, int, Path]]:
        path = raw / "dataset" / "kits23.json"
        meta = self._meta(raw)
        images = {p.parent.name: p for p in (raw / "dataset").glob("case_*/imaging.nii.gz")}
        if not images:
            raise PrepareError(raw / "dataset", "no case_*/imaging.nii.gz found")
        unknown = sorted(set(images) - set(meta))
        if unknown:
            raise PrepareError(path, f"no metadata for case(s) {unknown[:10]}")
        absent = sorted(set(meta) - set(images))
        if absent:
            raise PrepareError(path, f"case(s) without imaging.nii.gz: {absent[:10]} (run the KiTS download script)")
        mapper = self.label_mapper(KITS_MALIGNANT, what="malignant", source=path,
                                   missing=self.params["missing_labels"],
                                   hint="missing_labels=exclude leaves such cases out, counted in the card")
        cases = [(case, mapper.one(meta[case], case), images[case]) for case in sorted(images)]
        mapper.finish()
        return [c for c in cases if c[1] is not None]

    def source_files(self, raw: Path) -> list[Path]:
        return [raw / "dataset" / "kits23.json"] + [p for _, _, p in self._cases(raw)]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        c, w = self.params["hu_window"]
        return {"volume": {"hu_window": {"centre": c, "width": w}, "scale": "HU window mapped to [0, 1]",
                           "axes": "1, slices, H, W (whole volume resampled)"}}

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        import nibabel as nib

        try:
            arr = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)
        except Exception as e:
            raise PrepareError(path, f"not a readable NIfTI file ({type(e).__name__}: {e})") from None
        if arr.ndim != 3:
            raise PrepareError(path, f"expected a 3D volume, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise PrepareError(path, "volume has NaN or inf values")
        return arr

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        centre, width = self.params["hu_window"]
        shape = tuple(int(v) for v in self.params["shape"])
        for case, label, path in self._cases(raw):
            vol = zoom_to(self._load(path), shape)
            yield {"sample_id": case, "patient_id": case, "split": None, "label": label,
                   "volume": hu_window(vol, centre, width)[None]}
