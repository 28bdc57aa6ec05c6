"""Declared (YAML-only) datasets: each kind reproduces a built-in builder on the same real data.

The declarations are the YAML blocks of docs/declared-datasets.md, parsed from the page and
used verbatim; the tests below compare the prepared stores sample by sample.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from climb.config import prepared_root
from climb.prepare import PrepareError, create_builder, prepare
from climb.prepare.declared import DeclarationError, declared_builder, load_declaration, register_declared
from climb.prepare.store import PreparedDataset, build

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "declared-datasets.md"


def guide_declarations() -> dict[str, dict]:
    """The YAML blocks of the guide, by declared name."""
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), flags=re.S)
    return {d["name"]: d for d in map(yaml.safe_load, blocks)}


def real(shared_data: Path, relative: str) -> Path:
    """A folder of ../shared/data (the test skips, saying which, when it is absent)."""
    if not (shared_data / relative).is_dir():
        pytest.skip(f"{relative} not present in ../shared/data")
    return shared_data / relative


def prepare_declared(declaration: dict, raw: Path) -> PreparedDataset:
    return build(declared_builder(declaration), raw, prepared_root())


def by_id(ds: PreparedDataset, fields: list[str]) -> dict[str, dict]:
    """sample_id -> {split, patient_id, label, fields...} over every split."""
    out: dict[str, dict] = {}
    for split in ds.splits:
        n = ds.card["splits"][split]["num_samples"]
        columns = {f: ds.field(split, f) for f in ["sample_id", "patient_id", "label", *fields]}
        for i in range(n):
            sample = {f: columns[f][i] for f in columns}
            out[sample.pop("sample_id")] = {"split": split, **sample}
    return out


def assert_same(declared: PreparedDataset, builtin: PreparedDataset, fields: list[str]) -> None:
    """Same ids, and per id the same split, patient, label and field values (arrays exactly)."""
    assert declared.task == builtin.task
    assert declared.label_names == builtin.label_names
    ours, theirs = by_id(declared, fields), by_id(builtin, fields)
    assert sorted(ours) == sorted(theirs)
    for sid, theirs_sample in theirs.items():
        for key, expected in theirs_sample.items():
            got = ours[sid][key]
            if isinstance(expected, np.ndarray):
                assert got.dtype == expected.dtype and got.shape == expected.shape, (sid, key)
                np.testing.assert_array_equal(got, expected, err_msg=f"{sid} {key}")
            elif isinstance(expected, float) and np.isnan(expected):
                assert np.isnan(got), (sid, key)
            else:
                assert got == expected, (sid, key, got, expected)
    for split in builtin.splits:
        assert declared.card["splits"][split]["class_counts"] == builtin.card["splits"][split]["class_counts"]


# ---------------------------------------------------------------- the guide


def test_guide_blocks_are_valid_declarations():
    blocks = guide_declarations()
    assert set(blocks) == {"my_wdbc", "my_busi", "my_brain_tumor", "my_ham10000", "my_bbbp", "my_tox21",
                           "my_ptbxl", "my_sleep"}
    kinds = {declared_builder(d).decl.kind for d in blocks.values()}
    assert kinds == {"table", "image_folders", "image_table", "molecules", "wfdb", "edf"}


# ---------------------------------------------------------------- each kind against a built-in builder


def test_table_reproduces_wdbc():
    builtin = prepare("wdbc")
    raw = create_builder("wdbc").default_raw()
    declared = prepare_declared(guide_declarations()["my_wdbc"], raw)
    assert_same(declared, builtin, ["tabular"])
    assert declared.card["fields"]["tabular"]["shape"] == [30]
    assert declared.card["fields"]["tabular"]["missing_values"] == 0


def test_image_folders_reproduce_busi(shared_data):
    raw = real(shared_data, "real_samples/busi")
    declared = prepare_declared(guide_declarations()["my_busi"], raw)
    assert_same(declared, prepare("busi", raw=raw), ["image"])
    assert len(declared) == 12  # 4 images per class; the masks beside them are skipped (and counted)
    assert declared.card["fields"]["image"]["skipped_images"] == len(list(raw.rglob("*_mask*.png")))


def test_image_folders_with_split_folders_reproduce_brain_tumor(shared_data):
    raw = real(shared_data, "real_samples/brain_tumor_mri")
    declared = prepare_declared(guide_declarations()["my_brain_tumor"], raw)
    builtin = prepare("brain_tumor", raw=raw)
    assert_same(declared, builtin, ["image"])
    assert declared.splits == builtin.splits


def _moleculenet(shared_data: Path) -> Path:
    return real(shared_data, "moleculenet")


def test_molecules_reproduce_bbbp_with_any_smiles_column(shared_data, tmp_path):
    raw = _moleculenet(shared_data)
    declaration = guide_declarations()["my_bbbp"]
    builtin = prepare("moleculenet_bbbp", raw=raw)
    fields = ["smiles", "node_features", "edge_index", "edge_weight"]
    assert_same(prepare_declared(declaration, raw), builtin, fields)

    renamed = tmp_path / "renamed"
    renamed.mkdir()
    pd.read_csv(raw / "bbbp.csv").rename(columns={"smiles": "mol"}).to_csv(renamed / "bbbp.csv", index=False)
    as_mol = prepare_declared({**declaration, "name": "my_bbbp_mol", "smiles_column": "mol"}, renamed)
    assert_same(as_mol, builtin, fields)


def test_image_table_reproduces_ham10000(shared_data, tmp_path):
    """On the 21 sample images and their metadata rows (the real CSV lists 10015 images)."""
    src = real(shared_data, "real_samples/ham10000")
    raw = tmp_path / "ham10000"
    shutil.copytree(src / "HAM10000_images_part_1", raw / "HAM10000_images_part_1")
    meta = pd.read_csv(src / "HAM10000_metadata.csv")
    present = {p.stem for p in (raw / "HAM10000_images_part_1").glob("*.jpg")}
    meta[meta.image_id.isin(present)].to_csv(raw / "HAM10000_metadata.csv", index=False)
    declared = prepare_declared(guide_declarations()["my_ham10000"], raw)
    assert_same(declared, prepare("ham10000", raw=raw), ["image"])
    assert len(declared) == 21


def test_image_table_with_relative_paths_reproduces_busi(shared_data, tmp_path):
    """BUSI's images listed in a CSV the test writes (path relative to image_root, class column)."""
    root = real(shared_data, "real_samples/busi") / "Dataset_BUSI_with_GT"
    images = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png") if "_mask" not in p.stem)
    pd.DataFrame({"file": images, "finding": [i.split("/")[0] for i in images]}).to_csv(tmp_path / "busi.csv",
                                                                                        index=False)
    declaration = {"name": "busi_listed", "kind": "image_table", "path_column": "file", "image_root": str(root),
                   "table": {"file": "busi.csv", "id_column": "file"},
                   "label": {"task": "multiclass", "column": "finding", "classes": ["normal", "benign", "malignant"]},
                   "split": {"by": "random", "fractions": {"train": 0.7, "val": 0.1, "test": 0.2}}}
    assert_same(prepare_declared(declaration, tmp_path), prepare("busi", raw=root.parent), ["image"])


def test_multilabel_molecules_with_masks_reproduce_tox21(shared_data, tmp_path, monkeypatch):
    """The first 600 rows of the real tox21.csv (both builders read the same copy)."""
    raw = tmp_path / "tox21"
    raw.mkdir()
    pd.read_csv(_moleculenet(shared_data) / "tox21.csv", nrows=600).to_csv(raw / "tox21.csv", index=False)
    # the built-in builder checks its raw files against the catalog's pins: a 600-row copy is not the pinned file
    monkeypatch.setattr("climb.prepare.check_raw_files", lambda *a, **k: None)
    declared = prepare_declared(guide_declarations()["my_tox21"], raw)
    assert_same(declared, prepare("moleculenet_tox21", raw=raw), ["mask", "smiles", "node_features"])
    assert declared.card["fields"]["label"]["masked_label_cells"] > 0


SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]


def write_ptbxl_labels(src: Path, dst: Path) -> pd.DataFrame:
    """The user's label table: superclass columns derived from ptbxl_database.csv (Strodthoff et al.)."""
    import ast

    db = pd.read_csv(src / "ptbxl_database.csv")
    statements = pd.read_csv(src / "scp_statements.csv", index_col=0)
    diagnostic = statements[statements.diagnostic == 1]["diagnostic_class"]
    classes = db.scp_codes.map(lambda s: {diagnostic[c] for c in ast.literal_eval(s) if c in diagnostic.index})
    for name in SUPERCLASSES:
        db[name] = classes.map(lambda found, name=name: int(name in found))
    table = db[classes.map(len) > 0][["ecg_id", "patient_id", "filename_lr", "strat_fold", "age", "sex",
                                      "height", "weight", *SUPERCLASSES]]
    dst.mkdir(parents=True, exist_ok=True)
    table.to_csv(dst / "labels.csv", index=False)
    (dst / "records100").symlink_to(src / "records100", target_is_directory=True)  # read, never written
    return table


def test_wfdb_with_label_table_reproduces_ptbxl(shared_data, tmp_path):
    src = real(shared_data, "ptbxl")
    table = write_ptbxl_labels(src, tmp_path / "raw")
    declared = prepare_declared(guide_declarations()["my_ptbxl"], tmp_path / "raw")
    builtin = prepare("ptbxl", raw=src)
    assert len(declared) == len(table) == len(builtin)
    assert_same(declared, builtin, ["signal", "age", "sex", "height", "weight"])
    assert declared.card["fields"]["signal"]["shape"] == [12, 1000]


# ---------------------------------------------------------------- strict labels and declarations


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _table_declaration(**label) -> dict:
    return {"name": "toy", "kind": "table", "table": {"file": "t.csv", "patient_column": "pid"},
            "label": {"task": "multiclass", "column": "y", "classes": ["a", "b"], **label},
            "split": {"by": "column", "column": "fold", "values": {"train": [1], "test": [2]}}}


TOY = "pid,x1,x2,y,fold\np1,1.0,2.0,a,1\np2,3.0,,b,1\np3,5.0,6.0,c,2\np4,7.0,8.0,,2\np5,9.0,1.0,c,1\n"


def test_unknown_and_empty_labels_are_errors_naming_file_lines_and_count(tmp_path):
    _write(tmp_path / "t.csv", TOY)
    with pytest.raises(PrepareError, match=r"t\.csv: 2 row\(s\) with labels outside \['a', 'b'\].*"
                                           r"line 4 'c', line 6 'c'.*unknown_labels: drop"):
        prepare_declared(_table_declaration(), tmp_path)
    with pytest.raises(PrepareError, match=r"t\.csv: 1 row\(s\) with an empty label.*line 5"):
        prepare_declared(_table_declaration(unknown_labels="drop"), tmp_path)


def test_drop_policies_are_counted_in_the_card(tmp_path):
    _write(tmp_path / "t.csv", TOY)
    ds = prepare_declared(_table_declaration(unknown_labels="drop", missing_labels="drop"), tmp_path)
    label = ds.card["fields"]["label"]
    assert (label["rows_in_table"], label["dropped_unknown_labels"], label["dropped_missing_labels"]) == (5, 2, 1)
    assert len(ds) == 2 and ds.card["fields"]["tabular"]["feature_names"] == ["x1", "x2"]
    assert ds.card["fields"]["tabular"]["missing_values"] == 1  # p2's empty x2, kept as NaN
    assert ds.card["params"]["declaration"]["label"]["unknown_labels"] == "drop"
    assert by_id(ds, [])["row0"]["patient_id"] == "p1"


def test_split_values_outside_the_mapping_are_errors(tmp_path):
    _write(tmp_path / "t.csv", TOY.replace("c,2\n", "c,7\n"))
    with pytest.raises(PrepareError, match=r"1 row\(s\) with a value of split column 'fold' outside.*line 4 7"):
        prepare_declared(_table_declaration(unknown_labels="drop", missing_labels="drop"), tmp_path)


def test_multilabel_missing_cells_masked_when_declared(tmp_path):
    _write(tmp_path / "t.csv", "pid,x,a,b\np1,1,1,0\np2,2,,1\np3,3,0,0\np4,4,1,2\n")
    declaration = {"name": "toy_ml", "kind": "table", "table": {"file": "t.csv", "patient_column": "pid"},
                   "label": {"task": "multilabel", "columns": ["a", "b"], "missing_labels": "mask"},
                   "split": {"by": "random", "fractions": {"train": 0.5, "test": 0.5}}}
    with pytest.raises(PrepareError, match=r"1 row\(s\) with labels outside 0/1.*line 5"):
        prepare_declared(declaration, tmp_path)
    ds = prepare_declared({**declaration, "label": {**declaration["label"], "unknown_labels": "drop"}}, tmp_path)
    samples = by_id(ds, ["mask"])
    np.testing.assert_array_equal(samples["row1"]["label"], [0, 1])
    np.testing.assert_array_equal(samples["row1"]["mask"], [0, 1])
    assert ds.card["fields"]["label"]["masked_label_cells"] == 1


def test_declaration_errors_name_the_file_and_the_field(tmp_path):
    bad = _write(tmp_path / "bad.yaml", yaml.safe_dump({**_table_declaration(classes=["a"]),
                                                        "label": {"task": "binary", "column": "y",
                                                                  "classes": ["a"]}}))
    with pytest.raises(DeclarationError, match=r"bad\.yaml: label: Value error, a binary label has 2 classes"):
        load_declaration(bad)
    typo = _write(tmp_path / "typo.yaml", yaml.safe_dump({**_table_declaration(), "split": {
        "by": "column", "column": "fold", "valuez": {}}}))
    with pytest.raises(DeclarationError, match=r"typo\.yaml: split\.values: Field required; split\.valuez"):
        load_declaration(typo)
    folders = {"name": "f", "kind": "image_folders", "label": {"task": "binary", "classes": ["a", "b"]},
               "split": {"by": "scaffold"}}
    with pytest.raises(DeclarationError, match="split.by: 'scaffold' does not apply to kind 'image_folders'"):
        declared_builder(folders)


def test_undeclared_class_folder_is_an_error(shared_data):
    raw = real(shared_data, "real_samples/busi")
    declaration = {**guide_declarations()["my_busi"], "label": {"task": "binary", "classes": ["benign", "malignant"]}}
    with pytest.raises(PrepareError, match=r"4 image\(s\) are not in a declared class folder: .*/normal: 4"):
        prepare_declared(declaration, raw)
    dropped = prepare_declared({**declaration, "label": {**declaration["label"], "unknown_labels": "drop"}}, raw)
    assert len(dropped) == 8 and dropped.card["fields"]["label"]["dropped_unknown_labels"] == 4


def test_register_declared_makes_the_name_preparable(tmp_path, shared_data):
    path = _write(tmp_path / "busi.yaml", yaml.safe_dump({**guide_declarations()["my_busi"], "name": "reg_busi",
                                                          "raw": str(real(shared_data, "real_samples/busi"))}))
    assert register_declared(path) == "reg_busi"
    assert register_declared(path) == "reg_busi"  # the same declaration again: a no-op
    ds = prepare("reg_busi")  # raw from the declaration
    assert len(ds) == 12 and ds.card["catalog_id"] == "reg_busi"
    with pytest.raises(DeclarationError, match="reg_busi: a different declaration"):
        register_declared({**guide_declarations()["my_busi"], "name": "reg_busi"})
    with pytest.raises(DeclarationError, match="busi: a built-in or plugin builder already has this name"):
        register_declared({**guide_declarations()["my_busi"], "name": "busi"})


# ---------------------------------------------------------------- EDF windows (format test: no real EDF offline)


RATE = 100


def write_night(path: Path, seconds: int, annotations: list[list], seed: int) -> np.ndarray:
    """An EDF+ file with channels C3, C4, Fp1 and `annotations`; returns the signals as read back."""
    from pyedflib import highlevel

    path.parent.mkdir(parents=True, exist_ok=True)
    signals = np.random.default_rng(seed).normal(0, 40, size=(3, seconds * RATE))
    headers = highlevel.make_signal_headers(["C3", "C4", "Fp1"], sample_frequency=RATE, physical_min=-400,
                                            physical_max=400, dimension="uV")
    header = highlevel.make_header(patientname="anonymous")
    header["annotations"] = annotations
    highlevel.write_edf(str(path), signals, headers, header)
    return highlevel.read_edf(str(path))[0]


def test_edf_windows_tile_scored_spans_per_patient(tmp_path):
    night_a = write_night(tmp_path / "s01" / "night1.edf", 150, [
        [0.0, 0, "Lights off"], [0.0, 60.0, "W"], [60.0, 30.0, "N1"], [90.0, 45.0, "N4"]], seed=0)
    night_b = write_night(tmp_path / "s02" / "night1.edf", 90, [[0.0, 90.0, "R"]], seed=1)
    ds = prepare_declared(guide_declarations()["my_sleep"], tmp_path)
    samples = by_id(ds, ["eeg"])
    expected = {"s01/night1.edf@0": (night_a, 0, 0), "s01/night1.edf@30": (night_a, 30, 0),
                "s01/night1.edf@60": (night_a, 60, 1), "s01/night1.edf@90": (night_a, 90, 3),
                "s02/night1.edf@0": (night_b, 0, 4), "s02/night1.edf@30": (night_b, 30, 4),
                "s02/night1.edf@60": (night_b, 60, 4)}  # N4 -> N3; 15 s of N4 left over make no epoch
    assert sorted(samples) == sorted(expected)
    for sid, (signals, start, label) in expected.items():
        assert samples[sid]["label"] == label
        assert samples[sid]["patient_id"] == sid.split("/")[0]
        np.testing.assert_allclose(samples[sid]["eeg"], signals[:2, start * RATE:(start + 30) * RATE], rtol=1e-6)
    assert ds.card["fields"]["eeg"]["shape"] == [2, 30 * RATE]
    assert ds.card["fields"]["eeg"]["untiled_seconds"] == 15  # the end of the N4 span
    assert ds.card["fields"]["eeg"]["annotations_shorter_than_window"] == 0


def test_edf_undeclared_descriptions_and_windows_past_the_end(tmp_path):
    write_night(tmp_path / "s01" / "night1.edf", 60, [[0.0, 30.0, "W"], [10.0, 0, "arousal"], [50.0, 0, "W"]],
                seed=0)
    declaration = {**guide_declarations()["my_sleep"], "window": {"duration": 30}}
    with pytest.raises(PrepareError, match=r"night1\.edf: 1 annotation\(s\) with a description outside .*"
                                           r"s01/night1\.edf at 10 s 'arousal'"):
        prepare_declared(declaration, tmp_path)
    declaration["label"] = {**declaration["label"], "unknown_labels": "drop"}
    with pytest.raises(PrepareError, match=r"1 annotation\(s\) whose window reaches past the recording.* at 50 s"):
        prepare_declared(declaration, tmp_path)
    ds = prepare_declared({**declaration, "out_of_range": "drop"}, tmp_path)
    assert sorted(by_id(ds, [])) == ["s01/night1.edf@0"]
    assert ds.card["fields"]["label"]["dropped_unknown_labels"] == 1
    assert ds.card["fields"]["eeg"]["dropped_out_of_range"] == 1


def test_regression_targets_must_be_finite_numbers(tmp_path):
    _write(tmp_path / "t.csv", "x,age\n1.5,61\n2.5,n/a\n3.5,\n4.5,70.5\n")
    declaration = {"name": "toy_reg", "kind": "table", "table": {"file": "t.csv"},
                   "label": {"task": "regression", "column": "age"}, "split": {"by": "random"}}
    with pytest.raises(PrepareError, match=r"1 row\(s\) with labels outside finite numbers in \['age'\]: line 3 'n/a'"):
        prepare_declared(declaration, tmp_path)
    label = {**declaration["label"], "unknown_labels": "drop", "missing_labels": "drop"}
    ds = prepare_declared({**declaration, "label": label, "split": {"by": "random", "fractions": {"train": 1.0}}},
                          tmp_path)
    samples = by_id(ds, ["tabular"])
    assert {k: v["label"] for k, v in samples.items()} == {"row0": 61.0, "row3": 70.5}
    np.testing.assert_array_equal(samples["row3"]["tabular"], np.array([4.5], dtype=np.float32))
    counts = ds.card["fields"]["label"]
    assert counts["dropped_unknown_labels"] == counts["dropped_missing_labels"] == 1
    as_missing = {**declaration["table"], "missing_values": ["", "n/a"]}
    with pytest.raises(PrepareError, match=r"2 row\(s\) with an empty label in \['age'\]: line 3 nan, line 4 nan"):
        prepare_declared({**declaration, "table": as_missing}, tmp_path)


def test_a_plugin_module_registers_a_declaration(tmp_path, shared_data, monkeypatch):
    """The two lines a user writes to make a YAML declaration a climb dataset through a plugin."""
    from climb.plugins import load_plugins

    raw = real(shared_data, "real_samples/busi")
    (tmp_path / "busi.yaml").write_text(yaml.safe_dump({**guide_declarations()["my_busi"], "name": "plugin_busi",
                                                        "raw": str(raw)}))
    (tmp_path / "declared_busi_plugin.py").write_text(
        "from pathlib import Path\nfrom climb.prepare.declared import register_declared\n"
        "register_declared(Path(__file__).with_name('busi.yaml'))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "declared_busi_plugin" in load_plugins(["declared_busi_plugin"])
    assert len(prepare("plugin_busi")) == 12
