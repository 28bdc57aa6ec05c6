"""Brain connectomes distributed by the BrainGB authors (Cui et al. 2023): PPMI (DTI) and ABCD (fMRI).

Neither study publishes connectomes itself: PPMI (LONI IDA) and ABCD (NIMH Data Archive)
release images to approved users, and the BrainGB group shares its constructed networks
(braingb.us/datasets) with users who show that approval. The file layouts below are those
the public loaders read -- BrainGB (github.com/HennyJie/BrainGB:
``src/dataset/brain_dataset.py`` and ``src/dataset/abcd/load_abcd.py``) and CLIMB
(``src/datasets/mri/ppmi.py``, ``abcd.py``)::

    PPMI.mat   MATLAB file: X (N x 1 cell; each 84 x 84 x 3, three DTI tractography views),
               label (N x 1; -1 / 1, BrainGB maps -1 to 0; CLIMB names them Negative / Positive)
    abcd_rest-pearson-HCP2016.npy   (N, 360, 360) Pearson correlation of HCP-2016 parcels (N = 9,563)
    ids_HCP2016.txt                 one subject id per line, the rows of the .npy in order
    id2sex.txt                      CSV with columns id, sex (M / F); 9,557 ids

Samples: one per subject; ``node_features`` = the subject's matrix (its rows: BrainGB's
"connection profile"), edges = the ``top_k`` strongest |weight| per node (or |weight| >
``threshold``) made symmetric, as for ABIDE (`climb.prepare.builders.abide.sparsify`).
PPMI reads view ``view`` (0, 1, 2). ``.npy`` files are loaded with ``allow_pickle=False``:
an object array (a pickle) is refused, never unpickled. PPMI publishes no subject ids in
the file, so each row is its own patient; ABCD rows are grouped by subject id.

Labels: PPMI -1 -> control, 1 -> Parkinson's (any other value is an error). ABCD: the
BrainGB / CLIMB target is sex (M -> male, F -> female); ids without a sex row (or with an
empty one) and matrices with NaN are errors unless ``missing_labels=exclude`` /
``invalid_matrices=drop`` leave them out (counted in the card's ``label_mapping``). No
official splits: seeded 70/10/20 splits grouped by subject, stratified by label.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.builders.abide import sparsify
from climb.prepare.labels.mapping import MISSING_POLICIES, RULE_POLICIES, check_policy

PPMI_LABELS = {-1: "control", 1: "Parkinson's"}  # BrainGB: y[y == -1] = 0; CLIMB: Negative 0 / Positive 1
ABCD_SEX = {"M": "male", "F": "female"}  # CLIMB ABCD_LABELS; BrainGB LabelEncoder order (F, M) is the reverse
ABCD_FILES = ("abcd_rest-pearson-HCP2016.npy", "ids_HCP2016.txt", "id2sex.txt")


class BrainGraphBuilder(Builder):
    version = "1.0.0"
    fields = {"node_features": "node_features", "edge_index": "edge_index", "edge_weight": "edge_weight"}
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_seed = 0

    def graph(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        edge_index, edge_weight = sparsify(matrix, int(self.params["top_k"]), self.params["threshold"])
        return {"node_features": matrix.astype(np.float32), "edge_index": edge_index, "edge_weight": edge_weight}

    def edge_rule(self) -> str:
        return (f"|w| > {self.params['threshold']}" if self.params["threshold"] is not None
                else f"top {self.params['top_k']} |w| per node")


@register_builder("ppmi")
class PPMI(BrainGraphBuilder):
    """BrainGB's PPMI.mat: DTI structural connectomes, control vs Parkinson's disease."""

    catalog_id = "ppmi"
    task = Task.binary
    label_names = ["control", "Parkinson's"]
    split_policy = ("seeded 70/10/20 split stratified by label; PPMI.mat carries no subject ids, so each row is its "
                    "own patient")
    default_params: dict[str, Any] = {"view": 0, "top_k": 10, "threshold": None}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["view"] not in (0, 1, 2):
            raise ValueError(f"view must be 0, 1 or 2 (the three DTI views of PPMI.mat), not {self.params['view']!r}")

    def source_files(self, raw: Path) -> list[Path]:
        return [raw / "PPMI.mat"]

    def _read(self, raw: Path) -> tuple[list[np.ndarray], np.ndarray]:
        from scipy.io import loadmat

        path = raw / "PPMI.mat"
        if not path.is_file():
            raise PrepareError(path, "file not found (BrainGB's PPMI.mat, shared on request via braingb.us/datasets)")
        try:
            mat = loadmat(path)
        except Exception as e:  # scipy raises several types (v7.3 HDF5 files: NotImplementedError)
            raise PrepareError(path, f"not a readable MATLAB v5 file ({type(e).__name__}: {e})") from None
        if "X" not in mat or "label" not in mat:
            present = [k for k in mat if not k.startswith("__")]
            raise PrepareError(path, f"expected variables X and label; present: {present}")
        cells = mat["X"].reshape(-1)
        labels = np.asarray(mat["label"]).reshape(-1)
        if len(cells) != len(labels):
            raise PrepareError(path, f"{len(cells)} matrices but {len(labels)} labels")
        view = int(self.params["view"])
        matrices = []
        for i, cell in enumerate(cells):
            m = np.asarray(cell, dtype=np.float64)
            if m.ndim != 3 or m.shape[0] != m.shape[1] or m.shape[2] <= view:
                raise PrepareError(path, f"X[{i}] has shape {m.shape}, expected (ROI, ROI, views > {view})")
            matrices.append(m[:, :, view])
        return matrices, labels

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        matrices, labels = self._read(raw)
        ids = [f"{i:04d}" for i in range(len(matrices))]
        mapper = self.label_mapper(PPMI_LABELS, what="label", source=raw / "PPMI.mat")
        mapped = {sid: mapper.one(v, f"label[{int(sid)}]") for sid, v in zip(ids, labels.tolist())}
        mapper.finish()
        for sid, matrix in zip(ids, matrices):
            if not np.isfinite(matrix).all():
                raise PrepareError(raw / "PPMI.mat", f"X[{int(sid)}] has NaN or inf values")
            yield {"sample_id": sid, "patient_id": sid, "split": None, "label": mapped[sid], **self.graph(matrix)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"node_features": {"meaning": f"DTI connectivity rows, PPMI.mat view {self.params['view']}"},
                "edge_index": {"rule": self.edge_rule(), "symmetric": True},
                "label": {"definition": "PPMI.mat label: -1 control, 1 Parkinson's"}}


@register_builder("abcd")
class ABCD(BrainGraphBuilder):
    """BrainGB's ABCD resting-state Pearson connectomes (HCP-2016, 360 ROIs), sex as the target."""

    catalog_id = "abcd"
    task = Task.binary
    label_names = ["male", "female"]
    split_policy = "seeded 70/10/20 split grouped by ABCD subject id, stratified by sex"
    default_params: dict[str, Any] = {"top_k": 10, "threshold": None, "missing_labels": "error",
                                      "invalid_matrices": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("missing_labels", self.params["missing_labels"], MISSING_POLICIES)
        check_policy("invalid_matrices", self.params["invalid_matrices"], RULE_POLICIES)

    def source_files(self, raw: Path) -> list[Path]:
        return [raw / f for f in ABCD_FILES]

    def _read(self, raw: Path) -> tuple[np.ndarray, list[str], pd.DataFrame]:
        npy, ids_path, sex_path = (raw / f for f in ABCD_FILES)
        for path in (npy, ids_path, sex_path):
            if not path.is_file():
                raise PrepareError(path, "file not found (BrainGB's ABCD files, shared on request via braingb.us)")
        try:
            data = np.load(npy, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            raise PrepareError(npy, f"not a plain numeric .npy array; pickled object arrays are refused ({e})"
                               ) from None
        if data.ndim != 3 or data.shape[1] != data.shape[2]:
            raise PrepareError(npy, f"expected (subjects, ROI, ROI), got {data.shape}")
        ids = [line.strip() for line in ids_path.read_text().splitlines() if line.strip()]
        if len(ids) != data.shape[0]:
            raise PrepareError(ids_path, f"{len(ids)} ids for {data.shape[0]} matrices in {npy.name}")
        if len(set(ids)) != len(ids):
            raise PrepareError(ids_path, "a subject id is listed twice")
        try:
            sex = pd.read_csv(sex_path)
        except Exception as e:  # pandas raises several types for broken tables
            raise PrepareError(sex_path, f"unreadable CSV ({type(e).__name__}: {e})") from None
        if not {"id", "sex"} <= set(sex.columns):
            raise PrepareError(sex_path, f"expected columns id, sex; present: {list(sex.columns)}")
        if sex["id"].duplicated().any():
            raise PrepareError(sex_path, "a subject id has two rows")
        return data, ids, sex

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        data, ids, sex = self._read(raw)
        npy, ids_path, sex_path = (raw / f for f in ABCD_FILES)
        sex_of = dict(zip(sex["id"].astype(str).str.strip(), sex["sex"]))
        mapper = self.label_mapper(ABCD_SEX, what=f"sex (a row of {sex_path.name})", source=sex_path,
                                   missing=self.params["missing_labels"],
                                   hint="missing_labels=exclude leaves them out, counted in the card")
        labels = [mapper.one(sex_of.get(sid), sid) for sid in ids]
        mapper.finish()
        for row, sid in enumerate(ids):
            if labels[row] is not None and not np.isfinite(data[row]).all():
                mapper.exclude(f"with NaN or inf in their matrix ({npy.name})", sid, mapped=True,
                               policy=self.params["invalid_matrices"], param="invalid_matrices")
                labels[row] = None
        mapper.finish()
        for row, sid in enumerate(ids):
            if labels[row] is not None:
                yield {"sample_id": sid, "patient_id": sid, "split": None, "label": labels[row],
                       **self.graph(np.asarray(data[row], dtype=np.float64))}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"node_features": {"meaning": "Pearson correlation rows, 360 HCP-2016 parcels"},
                "edge_index": {"rule": self.edge_rule(), "symmetric": True},
                "label": {"definition": "id2sex.txt sex (M male, F female)"}}
