"""MoleculeNet (Wu et al. 2018) as cleaned by chemprop: BBBP, Tox21, SIDER, HIV -> molecular graphs.

Each CSV row (SMILES + label columns) becomes an RDKit graph: `node_features` (N, F)
one-hot atom features (see `ATOM_FEATURE_NAMES`), `edge_index` (2, E) with every bond in
both directions, `edge_weight` (E,) = bond order (aromatic 1.5), and the SMILES as text.
SMILES that RDKit cannot parse (or that have no atoms) are skipped and counted in the
card (`fields.smiles.unparsed_smiles`).

Missing labels (Tox21): the label is stored with 0 in their place and a `mask` field
(K,) float32 marks which labels were measured (1) or missing (0); losses and metrics
must weight by it. Split: deterministic Bemis-Murcko scaffold split as in
chemprop's `scaffold_balanced` (sets bigger than half the val/test size first, the others
in seeded random order; a set goes to train while train stays <= 80 %, else to val while
val <= 10 %, else to test). The patient id of a molecule is its scaffold, so the store's leakage check
proves that no scaffold spans two splits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.extras import require
from climb.prepare.builder import Builder, PrepareError, register_builder

TOX21_TASKS = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
               "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]
SIDER_TASKS = [
    "Hepatobiliary disorders", "Metabolism and nutrition disorders", "Product issues", "Eye disorders",
    "Investigations", "Musculoskeletal and connective tissue disorders", "Gastrointestinal disorders",
    "Social circumstances", "Immune system disorders", "Reproductive system and breast disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "General disorders and administration site conditions", "Endocrine disorders",
    "Surgical and medical procedures", "Vascular disorders", "Blood and lymphatic system disorders",
    "Skin and subcutaneous tissue disorders", "Congenital, familial and genetic disorders",
    "Infections and infestations", "Respiratory, thoracic and mediastinal disorders", "Psychiatric disorders",
    "Renal and urinary disorders", "Pregnancy, puerperium and perinatal conditions",
    "Ear and labyrinth disorders", "Cardiac disorders", "Nervous system disorders",
    "Injury, poisoning and procedural complications",
]


class Spec:
    """One MoleculeNet task: file, label columns, and for a binary task the class of 0 and of 1.

    Task and label names are in the catalog entry `moleculenet_<name>`; a multilabel task's
    columns are its label names, in the catalog's order.
    """

    def __init__(self, file: str, columns: list[str], classes: tuple[str, str] | None = None):
        self.file, self.columns, self.classes = file, columns, classes


DATASETS: dict[str, Spec] = {
    "bbbp": Spec("bbbp.csv", ["p_np"], ("non-penetrating", "penetrating")),
    "tox21": Spec("tox21.csv", TOX21_TASKS),
    "sider": Spec("sider.csv", SIDER_TASKS),
    "hiv": Spec("hiv.csv.gz", ["HIV_active"], ("inactive", "active")),
}

ELEMENTS = ["H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I", "Na", "K", "Ca", "Li", "Mg", "Al",
            "Se", "As", "Zn", "Cu", "Fe", "Co", "Ni", "Mn", "Cr", "Pt", "Hg", "Sn", "Ti", "Gd", "Au", "Ag"]
DEGREES = [0, 1, 2, 3, 4, 5]
CHARGES = [-2, -1, 0, 1, 2]
HYBRIDISATIONS = ["S", "SP", "SP2", "SP3", "SP3D", "SP3D2"]
NUM_HS = [0, 1, 2, 3, 4]
ATOM_FEATURE_NAMES = (
    [f"element={e}" for e in ELEMENTS] + ["element=other"]
    + [f"degree={d}" for d in DEGREES] + ["degree=other"]
    + [f"formal_charge={c}" for c in CHARGES] + ["formal_charge=other"]
    + [f"hybridisation={h}" for h in HYBRIDISATIONS] + ["hybridisation=other"]
    + ["aromatic"]
    + [f"num_hs={h}" for h in NUM_HS] + ["num_hs=other"]
)
BOND_ORDER = {"SINGLE": 1.0, "DOUBLE": 2.0, "TRIPLE": 3.0, "AROMATIC": 1.5}
ACYCLIC = "(acyclic)"  # scaffold id of molecules without rings (one shared set, as in chemprop)
SPLIT_SIZES = {"train": 0.8, "val": 0.1, "test": 0.1}


class MoleculeNet(Builder):
    """One MoleculeNet CSV -> graph + SMILES samples with a scaffold split."""

    version = "1.1.0"
    default_params: dict[str, Any] = {"dataset": "bbbp", "seed": 0}
    split_policy = ("balanced Bemis-Murcko scaffold split 80/10/10 (chemprop's scaffold_balanced: scaffold "
                    "sets larger than half the val/test size go to train first, the rest in seeded random "
                    "order); patient_id = scaffold")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.spec = DATASETS[self.params["dataset"]]
        self.catalog_id = f"moleculenet_{self.params['dataset']}"
        if self.task == Task.multilabel and self.spec.columns != self.label_names:
            raise ValueError(f"{self.catalog_id}: label columns {self.spec.columns} differ from the catalog's "
                             f"labels {self.label_names}")
        self.fields = {"node_features": "node_features", "edge_index": "edge_index",
                       "edge_weight": "edge_weight", "smiles": "text"}
        if self.task == Task.multilabel:
            self.fields["mask"] = "mask"
        self._stats: dict[str, Any] = {}

    def source_files(self, raw: Path) -> list[Path]:
        return [raw / self.spec.file]

    def _table(self, raw: Path) -> pd.DataFrame:
        path = raw / self.spec.file
        if not path.is_file():
            raise PrepareError(path, "file not found")
        try:
            frame = pd.read_csv(path)
        except Exception as e:  # truncated gzip, not a CSV, ...
            raise PrepareError(path, f"not a readable CSV ({type(e).__name__}: {e})") from None
        missing = [c for c in ["smiles", *self.spec.columns] if c not in frame.columns]
        if missing:
            raise PrepareError(path, f"missing column(s) {missing}")
        values = frame[self.spec.columns]
        bad = ~(values.isna() | values.isin([0, 1]))
        if self.task == Task.binary:
            bad |= values.isna()
        if bad.to_numpy().any():
            row = int(np.flatnonzero(bad.to_numpy().any(axis=1))[0])
            raise PrepareError(path, f"line {row + 2}: labels must be 0/1 (empty allowed only for "
                                     f"multilabel tasks), got {values.iloc[row].tolist()}")
        return frame

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        require("rdkit", "molecules (SMILES)")
        from rdkit import Chem, RDLogger

        RDLogger.DisableLog("rdApp.*")
        frame = self._table(raw)
        smiles = frame["smiles"].astype(str).tolist()
        labels = frame[self.spec.columns].to_numpy(dtype=np.float64)
        mols = [Chem.MolFromSmiles(s) for s in smiles]
        parsed = [i for i, m in enumerate(mols) if m is not None and m.GetNumAtoms() > 0]
        scaffolds = {i: scaffold_of(mols[i]) for i in parsed}
        split_of = scaffold_split([scaffolds[i] for i in parsed], SPLIT_SIZES, seed=self.params["seed"])
        self._stats = {"rows_in_file": len(smiles), "unparsed_smiles": len(smiles) - len(parsed),
                       "num_scaffolds": len(set(scaffolds.values()))}
        for i, split in zip(parsed, split_of):
            sample = {"sample_id": f"row{i}", "patient_id": scaffolds[i], "split": split,
                      "smiles": smiles[i], **mol_graph(mols[i])}
            sample.update(self._label(labels[i]))
            yield sample

    def _label(self, row: np.ndarray) -> dict[str, Any]:
        if self.task == Task.binary:
            return {"label": self.label_names.index(self.spec.classes[int(row[0])])}
        observed = ~np.isnan(row)
        return {"label": np.where(observed, row, 0.0).astype(np.float32), "mask": observed.astype(np.float32)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        meta: dict[str, dict[str, Any]] = {
            "node_features": {"feature_names": ATOM_FEATURE_NAMES},
            "edge_index": {"directed": "every bond stored in both directions"},
            "edge_weight": {"meaning": "bond order (single 1, double 2, triple 3, aromatic 1.5)"},
            "smiles": {"source": "SMILES as in the CSV", **self._stats},
        }
        if "mask" in self.fields:
            meta["mask"] = {"meaning": "1 = label measured, 0 = missing (label stored as 0; weight losses by it)"}
        return meta


def scaffold_of(mol: Any) -> str:
    """Bemis-Murcko scaffold SMILES (no chirality); molecules without rings share `ACYCLIC`."""
    require("rdkit", "molecule scaffolds")
    from rdkit.Chem.Scaffolds import MurckoScaffold

    scaffold = MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
    return scaffold or ACYCLIC


def scaffold_split(scaffolds: list[str], sizes: dict[str, float], seed: int = 0) -> list[str]:
    """chemprop's balanced scaffold split: a set goes to train, else val, else test, whichever fits.

    Sets bigger than half the val or test size come first (so they land in train), then the
    small sets in a seeded random order. The unbalanced variant (all sets by size, ties in file
    order) gives single-class val/test splits on label-sorted files such as BBBP.
    """
    sets: dict[str, list[int]] = {}
    for i, s in enumerate(scaffolds):
        sets.setdefault(s, []).append(i)
    limit = {k: v * len(scaffolds) for k, v in sizes.items()}
    half = min(limit["val"], limit["test"]) / 2
    big = [m for m in sets.values() if len(m) > half]
    small = [m for m in sets.values() if len(m) <= half]
    rng = np.random.default_rng(seed)
    ordered = [big[i] for i in rng.permutation(len(big))] + [small[i] for i in rng.permutation(len(small))]
    filled = {"train": 0, "val": 0}
    out = [""] * len(scaffolds)
    for members in ordered:
        if filled["train"] + len(members) <= limit["train"]:
            split = "train"
        elif filled["val"] + len(members) <= limit["val"]:
            split = "val"
        else:
            split = "test"
        filled[split] = filled.get(split, 0) + len(members)
        for i in members:
            out[i] = split
    return out


def _one_hot(value: Any, choices: list[Any]) -> list[float]:
    hot = [0.0] * (len(choices) + 1)
    hot[choices.index(value) if value in choices else len(choices)] = 1.0
    return hot


def atom_features(atom: Any) -> list[float]:
    return (_one_hot(atom.GetSymbol(), ELEMENTS) + _one_hot(atom.GetDegree(), DEGREES)
            + _one_hot(atom.GetFormalCharge(), CHARGES) + _one_hot(str(atom.GetHybridization()), HYBRIDISATIONS)
            + [float(atom.GetIsAromatic())] + _one_hot(atom.GetTotalNumHs(), NUM_HS))


def mol_graph(mol: Any) -> dict[str, np.ndarray]:
    """node_features (N, F) float32, edge_index (2, 2B) int64, edge_weight (2B,) float32."""
    nodes = np.array([atom_features(a) for a in mol.GetAtoms()], dtype=np.float32)
    src, dst, weight = [], [], []
    for bond in mol.GetBonds():
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        order = BOND_ORDER.get(str(bond.GetBondType()), float(bond.GetBondTypeAsDouble()))
        src += [a, b]
        dst += [b, a]
        weight += [order, order]
    return {"node_features": nodes, "edge_index": np.array([src, dst], dtype=np.int64).reshape(2, -1),
            "edge_weight": np.array(weight, dtype=np.float32)}


for _name in DATASETS:
    register_builder(f"moleculenet_{_name}", dataset=_name)(MoleculeNet)
