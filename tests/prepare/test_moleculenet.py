"""MoleculeNet builders on the real CSVs in ../shared/data/moleculenet (HIV on a truncated copy)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from unverified import build_unverified
from rdkit import Chem, RDLogger
from rdkit.Chem.Scaffolds import MurckoScaffold

from climb.prepare import PrepareError, prepare
from climb.prepare.raw_check import ChecksumMismatchError
from climb.prepare.builders.moleculenet import ATOM_FEATURE_NAMES

RDLogger.DisableLog("rdApp.*")
SPLITS = ("train", "val", "test")


def _raw(shared_data: Path) -> Path:
    root = shared_data / "moleculenet"
    if not root.is_dir():
        pytest.skip("moleculenet not present in ../shared/data")
    return root


def _column(ds, name: str) -> dict[str, list]:
    return {s: [ds.field(s, name)[i] for i in range(ds.card["splits"][s]["num_samples"])] for s in ds.splits}


def _parses(smiles: str) -> bool:
    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and mol.GetNumAtoms() > 0


def test_bbbp_counts_balance_graphs_and_scaffold_split(shared_data):
    raw = _raw(shared_data)
    ds = prepare("moleculenet_bbbp", raw=raw)
    csv = pd.read_csv(raw / "bbbp.csv")
    ok = csv[csv["smiles"].map(_parses)]
    assert len(ds) == len(ok) == 2039 - ds.card["fields"]["smiles"]["unparsed_smiles"]
    total = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ds.label_names}
    assert total == {"non-penetrating": int((ok["p_np"] == 0).sum()), "penetrating": int((ok["p_np"] == 1).sum())}
    sizes = [ds.card["splits"][s]["num_samples"] / len(ds) for s in SPLITS]
    assert sizes[0] <= 0.8 and sizes[0] > 0.75 and sizes[1] <= 0.1
    # scaffolds recomputed independently: none is shared by two splits
    smiles = _column(ds, "smiles")
    scaffolds = {s: {MurckoScaffold.MurckoScaffoldSmiles(smiles=m, includeChirality=False) for m in smiles[s]}
                 for s in SPLITS}
    assert not (scaffolds["train"] & scaffolds["val"] or scaffolds["train"] & scaffolds["test"]
                or scaffolds["val"] & scaffolds["test"])
    # one graph checked against RDKit
    mol = Chem.MolFromSmiles(smiles["test"][0])
    nodes, edges, weights = (ds.field("test", f)[0] for f in ("node_features", "edge_index", "edge_weight"))
    assert nodes.shape == (mol.GetNumAtoms(), len(ATOM_FEATURE_NAMES))
    assert edges.shape == (2, 2 * mol.GetNumBonds())
    pairs = {tuple(e) for e in edges.T.tolist()}
    assert all((b, a) in pairs for a, b in pairs)  # both directions
    expected = sorted(2 * [b.GetBondTypeAsDouble() for b in mol.GetBonds()])
    np.testing.assert_allclose(sorted(weights), expected)


def test_tox21_mask_marks_missing_labels(shared_data):
    raw = _raw(shared_data)
    ds = prepare("moleculenet_tox21", raw=raw)
    csv = pd.read_csv(raw / "tox21.csv")
    ok = csv[csv["smiles"].map(_parses)].reset_index(drop=True)
    assert ds.card["fields"]["smiles"]["unparsed_smiles"] == len(csv) - len(ok)
    assert len(ds) == len(ok) and ds.label_names == list(csv.columns[1:])
    raw_labels = ok[ds.label_names].to_numpy(float)
    masks = np.stack([m for s in SPLITS for m in _column(ds, "mask")[s]])
    labels = np.stack([lab for s in SPLITS for lab in _column(ds, "label")[s]])
    assert int(masks.sum()) == int((~np.isnan(raw_labels)).sum())
    assert labels[masks == 0].max() == 0  # missing labels stored as 0, marked by the mask
    assert int(labels.sum()) == int(np.nansum(raw_labels))
    positives = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ds.label_names}
    assert positives == {k: int(np.nansum(ok[k])) for k in ds.label_names}


def test_sider_is_multilabel_without_missing_labels(shared_data):
    ds = prepare("moleculenet_sider", raw=_raw(shared_data))
    assert len(ds.label_names) == 27 and len(ds) == 1427
    assert all(m.min() == 1 for s in SPLITS for m in _column(ds, "mask")[s])


def test_hiv_reads_gzip_and_counts_unparsable(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    head = pd.read_csv(_raw(shared_data) / "hiv.csv.gz", nrows=1500)
    head.loc[3, "smiles"] = "C1CC(not a smiles"
    head.to_csv(raw / "hiv.csv.gz", index=False, compression="gzip")
    ds = build_unverified("moleculenet_hiv", raw)  # a 1,500-row excerpt: not the pinned hiv.csv.gz
    ok = head[head["smiles"].map(_parses)]
    assert ds.card["fields"]["smiles"]["unparsed_smiles"] == len(head) - len(ok) >= 1
    assert len(ds) == len(ok)
    total = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ds.label_names}
    assert total == {"inactive": int((ok["HIV_active"] == 0).sum()), "active": int((ok["HIV_active"] == 1).sum())}


def test_truncated_gzip_names_the_file(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    data = gzip.compress(b"".join(gzip.open(_raw(shared_data) / "hiv.csv.gz").readlines()[:400]))
    (raw / "hiv.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ChecksumMismatchError, match=r"hiv\.csv\.gz: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("moleculenet_hiv", raw=raw)
    with pytest.raises(PrepareError, match=r"hiv\.csv\.gz: not a readable CSV"):
        build_unverified("moleculenet_hiv", raw)


def test_missing_label_column_names_the_file(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    pd.read_csv(_raw(shared_data) / "bbbp.csv").rename(columns={"p_np": "label"}).to_csv(raw / "bbbp.csv", index=False)
    with pytest.raises(ChecksumMismatchError, match=r"bbbp\.csv: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("moleculenet_bbbp", raw=raw)
    with pytest.raises(PrepareError, match=r"bbbp\.csv: missing column\(s\) \['p_np'\]"):
        build_unverified("moleculenet_bbbp", raw)


def test_bbbp_scaffold_split_has_both_classes_in_every_split(shared_data):
    """The unbalanced split puts only one class in val/test of the label-sorted BBBP file."""
    ds = prepare("moleculenet_bbbp", raw=_raw(shared_data))
    for split in SPLITS:
        counts = ds.card["splits"][split]["class_counts"]
        assert min(counts.values()) > 0, (split, counts)
