"""No silent label loss: the LabelMapper mechanism, and each known case of issue 10 (fails on the old code).

Cases: ECG Dx codes outside the tables (were silently Other), the pre-release CPSC 2018
abbreviations (were 100 % Other), Georgia 2020 headers whose record line names the .mat file
(were "malformed WFDB header"), KiTS23 `malignant: null` (was benign), COVID-US 1.5's .xlsx
label file (was ignored) and its releases compared numerically (were string-sorted).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures_signals import (COVID_US_PATIENTS, COVID_US_ROWS, to_challenge_mat, write_covid_us,
                              write_ecg_record, write_kits23)

from climb.prepare import PrepareError, create_builder, prepare
from climb.prepare.builders.video import release
from climb.prepare.labels.mapping import LabelMapper, RecordQuotes

SPACE = ["benign", "malignant", "other"]


def card_extras_written() -> bool:
    """Whether the store writes `Builder.card_extras()` into card.json (the lead wires it into store.py)."""
    import inspect

    import climb.prepare.store as store

    return "card_extras" in inspect.getsource(store)


def extras_of(name: str, raw, **params) -> dict:
    """What the builder's mappers report for `raw` (the card's `label_mapping`), without a store."""
    builder = create_builder(name, **params)
    for _ in builder.generate(raw):
        pass
    return builder.card_extras()["label_mapping"]


# ---------------------------------------------------------------- the mechanism


def test_mapper_counts_and_names_every_problem(tmp_path):
    source = tmp_path / "labels.csv"
    m = LabelMapper({"B": "benign", "M": "malignant", "ARDS": None}, SPACE, what="class", source=source)
    got = [m.one(v, f"row {i}") for i, v in enumerate(["B", " M ", "ARDS", None, "", "X", "X", "Y", float("nan")])]
    assert got == [0, 1, None, None, None, None, None, None, None]
    with pytest.raises(PrepareError) as err:
        m.finish()
    msg = str(err.value)
    assert msg.startswith(f"{source}: 3 record(s) with class value(s) outside the label table: 'X' (2: row 5, row 6), "
                          "'Y' (1: row 7); known: ARDS, B, M; 3 record(s) with an empty or null class: row 3, row 4, "
                          "row 8")
    report = m.report()
    assert report["records_seen"] == 9 and report["records_kept"] == 2
    assert report["excluded_by_table"] == {"ARDS": 1}
    assert report["missing"] == {"policy": "error", "records": 3, "examples": ["row 3", "row 4", "row 8"]}
    assert report["unknown"]["values"] == {"X": 2, "Y": 1} and report["unknown"]["records"] == 3


def test_mapper_policies_exclude_drop_other_are_counted(tmp_path):
    m = LabelMapper({"B": "benign"}, SPACE, what="class", source=tmp_path / "f", unknown="other", missing="exclude",
                    other="other")
    assert [m.one(v, str(i)) for i, v in enumerate(["B", "Z", None])] == [0, 2, None]
    report = m.finish()
    assert report["unknown"] == {"policy": "other", "records": 1, "values": {"Z": 1}, "examples": ["1"],
                                 "mapped_to": "other"}
    assert report["missing"]["records"] == 1 and report["records_kept"] == 2
    drop = LabelMapper({"B": "benign", "M": "malignant"}, SPACE, what="code", source=tmp_path / "f", unknown="drop")
    assert drop.many(["B", "Z"], "r1") == ["benign"]
    assert drop.many(["Z"], "r2") is None  # no code left: the record is left out and counted
    assert drop.finish()["records_without_class"] == 1


def test_rule_exclusions_with_a_policy_are_refused_or_counted(tmp_path):
    source = tmp_path / "train.csv"
    m = LabelMapper({"B": "benign"}, SPACE, what="slice", source=source)
    m.one("B", "s1")
    m.exclude("from an indeterminate study", "s2", policy="error", param="indeterminate")
    with pytest.raises(PrepareError, match=r"train\.csv: 1 record\(s\) from an indeterminate study: s2 \(pass "
                                           r"indeterminate=drop to leave them out, counted in the card\)"):
        m.finish()
    m = LabelMapper({"B": "benign"}, SPACE, what="slice", source=source)
    assert m.one("B", "s1") == 0 and m.one("B", "s3") == 0
    m.exclude("from an indeterminate study", "s2", policy="drop", param="indeterminate")
    m.exclude("with NaN in its matrix", "s3", mapped=True)  # a record one() kept, left out by a later rule
    report = m.finish()
    assert (report["records_seen"], report["records_kept"]) == (3, 1)
    assert report["excluded_by_table"] == {"from an indeterminate study": 1, "with NaN in its matrix": 1}
    with pytest.raises(ValueError, match=r"indeterminate must be one of error\|drop, got 'skip'"):
        m.exclude("x", "s4", policy="skip", param="indeterminate")


def test_one_label_mapping_mechanism():
    """Builders and declared datasets map labels through `labels/mapping.py` only: the retired
    `labels/strict.py` (its own `Exclusions`, `map_labels`, `require_or_drop`) must not come back,
    nor another mapper class (declared/rows.py had one until it was folded in)."""
    import climb

    package = Path(climb.__file__).parent
    assert not (package / "prepare" / "labels" / "strict.py").exists()
    pattern = re.compile(r"^class \w*(LabelMapper|Exclusions)\b|^def (map_labels|require_or_drop)\(|labels\.strict",
                         re.M)
    found = {str(f.relative_to(package)) for f in package.rglob("*.py") if pattern.search(f.read_text())}
    assert found == {"prepare/labels/mapping.py"}


def test_flag_columns_mask_missing_cells_and_quote_rows(tmp_path):
    """0/1 flag columns (a declaration's multilabel): masked cells counted, errors quote each line."""
    quotes = RecordQuotes("row", "with labels outside 0/1 in ['a', 'b']", "with an empty label in ['a', 'b']",
                          " (declare label.unknown_labels: drop)")
    masked = LabelMapper(None, ["a", "b"], what="label", source=tmp_path / "t.csv", missing="mask", quotes=quotes)
    label, mask = masked.flags({"a": 1, "b": float("nan")}, "line 2")
    np.testing.assert_array_equal(label, [1, 0])
    np.testing.assert_array_equal(mask, [1, 0])
    assert masked.flags({"a": "0", "b": " 1 "}, "line 3")[0].tolist() == [0, 1]
    assert masked.flags({"a": 2, "b": "x"}, "line 4") is None and masked.flags({"a": True, "b": 0}, "line 5") is None
    with pytest.raises(PrepareError, match=r"t\.csv: 2 row\(s\) with labels outside 0/1 in \['a', 'b'\]: "
                                           r"line 4 \{'a': 2, 'b': 'x'\}, line 5 \{'a': True, 'b': 0\} "
                                           r"\(declare label\.unknown_labels: drop\)$"):
        masked.finish()
    assert masked.report()["missing"] == {"policy": "mask", "records": 0, "examples": [], "masked_cells": 1}
    assert masked.report()["unknown"]["records"] == 2
    excluded = LabelMapper(None, ["a", "b"], what="label", source=tmp_path / "t.csv", missing="exclude")
    assert excluded.flags({"a": 1, "b": None}, "line 2") is None
    assert excluded.flags({"a": 1, "b": 0}, "line 3")[1] is None  # no mask unless missing=mask
    assert excluded.finish()["missing"]["examples"] == ["line 2"]
    with pytest.raises(ValueError, match="missing=mask applies to 0/1 flag columns"):
        masked.one(None, "line 6")


def test_declared_labels_map_through_the_label_mapper_and_reach_the_card(tmp_path):
    """A declaration's labels go through `LabelMapper` (cells compared as text: 1, 1.0 and "1"
    alike) and its report joins the built-in builders' `label_mapping` in the card."""
    from climb.prepare.declared import declared_builder

    (tmp_path / "t.csv").write_text("pid,x,y\np1,1,1\np2,2,0.0\np3,3,7\np4,4,\np5,5,1.0\n")
    declaration = {"name": "toy_codes", "kind": "table", "table": {"file": "t.csv", "patient_column": "pid"},
                   "label": {"task": "binary", "column": "y", "classes": {0: "no", 1: "yes"}, "names": ["no", "yes"],
                             "unknown_labels": "drop", "missing_labels": "drop"},
                   "split": {"by": "random", "fractions": {"train": 0.5, "test": 0.5}}}
    builder = declared_builder(declaration)
    labels = {s["sample_id"]: s["label"] for s in builder.generate(tmp_path)}
    assert labels == {"row0": 1, "row1": 0, "row4": 1}  # 7 dropped as unknown, the empty cell as missing
    report = builder.card_extras()["label_mapping"]["label"]
    assert (report["records_seen"], report["records_kept"]) == (5, 3)
    assert report["unknown"] == {"policy": "drop", "records": 1, "values": {"7": 1}, "examples": ["line 4"]}
    assert report["missing"]["policy"] == "exclude" and report["missing"]["examples"] == ["line 5"]
    from climb.config import prepared_root
    from climb.prepare.store import build

    card = build(declared_builder(declaration), tmp_path, prepared_root()).card
    assert card["label_mapping"]["label"]["unknown"]["values"] == {"7": 1}
    label = card["fields"]["label"]
    assert (label["dropped_unknown_labels"], label["dropped_missing_labels"]) == (1, 1)


def test_mapper_rejects_tables_outside_the_label_space(tmp_path):
    with pytest.raises(ValueError, match=r"maps 'x' to 'benignn', which is not a class"):
        LabelMapper({"x": "benignn"}, SPACE, what="class", source=tmp_path)
    with pytest.raises(ValueError, match=r"unknown=other needs a catch-all class"):
        LabelMapper({}, SPACE, what="class", source=tmp_path, unknown="other")
    with pytest.raises(ValueError, match=r"unknown must be one of error\|drop\|other, got 'ignore'"):
        LabelMapper({}, SPACE, what="class", source=tmp_path, unknown="ignore")


def test_numbers_and_integral_floats(tmp_path):
    m = LabelMapper({0: "benign", 1: "malignant"}, SPACE, what="target", source=tmp_path)
    assert [m.one(v, "r") for v in (0, 1.0, np.int64(1), "1")] == [0, 1, 1, None]  # "1" is a string, not 1
    regression = LabelMapper(None, SPACE, what="EF", source=tmp_path, missing="exclude")
    assert [regression.number(v, "r") for v in (55.5, "61", None, "n/a")] == [55.5, 61.0, None, None]
    with pytest.raises(PrepareError, match=r"1 record\(s\) with EF value\(s\) outside the label table: 'n/a'"):
        regression.finish()


# ---------------------------------------------------------------- ECG challenge sets


def ecg_folder(raw, names_dx: dict[str, str], release: str = "2020"):
    folder = raw / "WFDB"
    for k, (name, dx) in enumerate(names_dx.items()):
        write_ecg_record(folder, name, dx, seconds=2.0, seed=k)
        to_challenge_mat(folder, name, release)
    return folder


def test_unknown_dx_code_is_an_error_naming_file_record_code_and_count(tmp_path):
    raw = tmp_path / "georgia"
    ecg_folder(raw, {"E00001": "426783006", "E00002": "999999999,164889003", "E00003": "999999999",
                     "E00004": "111111111"})
    with pytest.raises(PrepareError) as err:
        prepare("georgia", raw=raw, seconds=2.0)
    msg = str(err.value)
    assert msg.startswith(f"{raw}: 3 record(s) with Dx code value(s) outside the label table: '999999999' "
                          "(2: WFDB/E00002.hea, WFDB/E00003.hea), '111111111' (1: WFDB/E00004.hea); known: ")
    assert msg.endswith("(137 in all) (unknown_codes=other counts them as Other, unknown_codes=drop ignores them)")


@pytest.mark.parametrize("policy, expected", [
    ("other", {"E00001": [1, 0, 0, 0, 0, 0, 0], "E00002": [0, 0, 0, 0, 0, 1, 1], "E00003": [0, 0, 0, 0, 0, 0, 1]}),
    ("drop", {"E00001": [1, 0, 0, 0, 0, 0, 0], "E00002": [0, 0, 0, 0, 0, 1, 0]}),
])
def test_unknown_dx_policy_is_applied_and_counted(tmp_path, policy, expected):
    raw = tmp_path / "georgia"
    ecg_folder(raw, {"E00001": "426783006", "E00002": "999999999,164889003", "E00003": "999999999"})
    ds = prepare("georgia", raw=raw, seconds=2.0, unknown_codes=policy)
    labels = {ds.field(s, "sample_id")[i]: ds.field(s, "label")[i].tolist()
              for s in ds.splits for i in range(len(ds.field(s, "sample_id")))}
    assert labels == expected
    report = extras_of("georgia", raw, seconds=2.0, unknown_codes=policy)["Dx code"]
    assert report["unknown"]["policy"] == policy
    assert report["unknown"]["values"] == {"999999999": 2}
    assert report["unknown"]["examples"] == ["WFDB/E00002.hea", "WFDB/E00003.hea"]
    assert report["records_without_class"] == (1 if policy == "drop" else 0)


def test_pre_release_cpsc_abbreviations_are_read(tmp_path):
    raw = tmp_path / "cpsc"
    dx = {"A0001": "RBBB", "A0002": "AF,PAC", "A0003": "Normal", "A0004": "I-AVB,STD", "A0005": "PVC"}
    ecg_folder(raw, dx)
    ds = prepare("cpsc", raw=raw, seconds=2.0)
    labels = {ds.field(s, "sample_id")[i]: ds.field(s, "label")[i].tolist()
              for s in ds.splits for i in range(len(ds.field(s, "sample_id")))}
    #                   Normal CD HYP MI STTC AFib Other
    assert labels == {"A0001": [0, 1, 0, 0, 0, 0, 0], "A0002": [0, 0, 0, 0, 0, 1, 1],
                      "A0003": [1, 0, 0, 0, 0, 0, 0], "A0004": [0, 1, 0, 0, 1, 0, 0],
                      "A0005": [0, 0, 0, 0, 0, 0, 1]}
    shutil.rmtree(raw)
    ecg_folder(raw, {"E00001": "RBBB"})  # abbreviations are the CPSC pre-release's only
    raw.rename(tmp_path / "georgia")
    with pytest.raises(PrepareError, match=r"1 record\(s\) with Dx code value\(s\) outside the label table: 'RBBB'"):
        prepare("georgia", raw=tmp_path / "georgia", seconds=2.0)


@pytest.mark.parametrize("release_form", ["georgia2020", "2021"])
def test_georgia_2020_and_2021_headers(tmp_path, release_form):
    import wfdb

    raw = tmp_path / "georgia"
    folder = ecg_folder(raw, {"E00001": "164889003", "E00002": "426177001,164934002"}, release_form)
    first = (folder / "E00001.hea").read_text().splitlines()
    if release_form == "georgia2020":
        assert first[0].startswith("E00001.mat 12 500 1000 05-May-2020")
        with pytest.raises(Exception):  # what the old builder hit: wfdb rejects the record line
            wfdb.rdheader(str(folder / "E00001"))
    else:
        assert " 16x1+24 " in first[1]
    ds = prepare("georgia", raw=raw, seconds=2.0)
    assert sum(s["num_samples"] for s in ds.card["splits"].values()) == 2
    assert ds.card["fields"]["signal"]["record_lines_with_file_suffix"] == (2 if release_form == "georgia2020" else 0)
    sig = next(ds.field(s, "signal")[0] for s in ds.splits)
    assert sig.shape == (12, 1000) and 0 < np.abs(sig).max() < 5  # mV at the header's gain


def test_record_line_of_another_record_is_refused(tmp_path):
    raw = tmp_path / "georgia"
    folder = ecg_folder(raw, {"E00001": "164889003"})
    hea = folder / "E00001.hea"
    hea.write_text(hea.read_text().replace("E00001 12", "E00007.mat 12", 1))
    with pytest.raises(PrepareError, match=r"E00001\.hea: malformed WFDB header: the record line names 'E00007\.mat'"):
        prepare("georgia", raw=raw, seconds=2.0)


# ---------------------------------------------------------------- KiTS23


def test_kits23_null_malignant_is_excluded_and_counted_never_benign(tmp_path):
    raw = tmp_path / "kits23"
    write_kits23(raw, [True, False, True, False, True, True])
    meta = raw / "dataset" / "kits23.json"
    cases = json.loads(meta.read_text())
    cases[1]["malignant"] = None
    cases[4]["malignant"] = None
    meta.write_text(json.dumps(cases))
    ds = prepare("kits23", raw=raw, shape=(4, 8, 8))
    ids = {ds.field(s, "sample_id")[i] for s in ds.splits for i in range(len(ds.field(s, "sample_id")))}
    assert ids == {"case_00000", "case_00002", "case_00003", "case_00005"}
    counts = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in ds.splits) for k in ("benign", "malignant")}
    assert counts == {"benign": 1, "malignant": 3}
    report = extras_of("kits23", raw, shape=(4, 8, 8))["malignant"]
    assert report["missing"] == {"policy": "exclude", "records": 2, "examples": ["case_00001", "case_00004"]}
    with pytest.raises(PrepareError, match=r"kits23\.json: 2 record\(s\) with an empty or null malignant: "
                                           r"case_00001, case_00004 \(missing_labels=exclude"):
        prepare("kits23", raw=raw, shape=(4, 8, 8), missing_labels="error")


# ---------------------------------------------------------------- COVID-US releases


def test_releases_compare_numerically():
    assert release("1.10") > release("1.4") > release("1.2")
    assert max(["1.2", "1.10", "1.4"], key=release) == "1.10"
    assert max(["1.2", "1.10", "1.4"]) == "1.4"  # what a string sort picks


def video_labels(ds):
    return {ds.field(s, "sample_id")[i]: (int(ds.field(s, "label")[i]), ds.field(s, "patient_id")[i])
            for s in ds.splits for i in range(len(ds.field(s, "sample_id")))}


def test_covid_us_release_1_5_reads_the_xlsx_with_patients(tmp_path):
    raw = tmp_path / "covid_us"
    write_covid_us(raw, "1.4")
    write_covid_us(raw, "1.5")  # the 1.5 sheet beside the 1.4 CSV: the newest release wins
    ds = prepare("covid_us", raw=raw, frames=2, size=16)
    assert ds.card["fields"]["label"] == {"kind": "label", "dtype": "int64", "release": "1.5",
                                          "file": "labels/CovidxUS1.5_metadata.xlsx"}
    want = {"COVID": 0, "Pneumonia": 1, "Normal": 2}
    assert video_labels(ds) == {vid: (want[c], COVID_US_PATIENTS[vid]) for vid, c, _ in COVID_US_ROWS}
    report = extras_of("covid_us", raw, frames=2, size=16)["class"]
    assert report["excluded_by_table"] == {"Other": 1} and report["records_kept"] == len(COVID_US_ROWS)
    pinned = prepare("covid_us", raw=raw, frames=2, size=16, version="1.4")
    assert pinned.card["fields"]["label"]["file"] == "labels/COVIDx-US1.4_3class.csv"
    assert {p for _, p in video_labels(pinned).values()} == {vid for vid, _, _ in COVID_US_ROWS}  # no patient ids


def test_covid_us_latest_release_is_the_numerically_highest(tmp_path):
    raw = tmp_path / "covid_us"
    write_covid_us(raw, "1.4")
    newer = raw / "labels" / "COVIDx-US1.10_3class.csv"  # a future release: "1.10" sorts before "1.4" as text
    lines = (raw / "labels" / "COVIDx-US1.4_3class.csv").read_text().splitlines()
    newer.write_text("\n".join(lines[:4]) + "\n")
    ds = prepare("covid_us", raw=raw, frames=2, size=16)
    assert ds.card["fields"]["label"]["file"] == "labels/COVIDx-US1.10_3class.csv"
    assert len(video_labels(ds)) == 3


def test_covid_us_missing_video_policy(tmp_path):
    raw = tmp_path / "covid_us"
    write_covid_us(raw, "1.4")
    (raw / "data" / "video" / "cropped" / "2_butterfly_covid_prc.avi").unlink()
    with pytest.raises(PrepareError, match=r"2_butterfly_covid_prc\.avi: 2_butterfly_covid is listed in "
                                           r"COVIDx-US1\.4_3class\.csv but its cropped video is missing"):
        prepare("covid_us", raw=raw, frames=2, size=16)
    ds = prepare("covid_us", raw=raw, frames=2, size=16, missing_videos="skip")
    assert "2_butterfly_covid" not in video_labels(ds) and len(video_labels(ds)) == len(COVID_US_ROWS) - 1
    report = extras_of("covid_us", raw, frames=2, size=16, missing_videos="skip")["cropped video"]
    assert report["excluded_by_table"] == {"cropped video missing (missing_videos=skip)": 1}


@pytest.mark.skipif(not card_extras_written(), reason="store.py does not write Builder.card_extras() into card.json "
                                                      "yet (the lead wires it: see the realdata report)")
def test_card_records_label_policies_and_raw_verification(tmp_path):
    raw = tmp_path / "kits23"
    write_kits23(raw, [True, False, True, False])
    meta = raw / "dataset" / "kits23.json"
    cases = json.loads(meta.read_text())
    cases[3]["malignant"] = None
    meta.write_text(json.dumps(cases))
    card = prepare("kits23", raw=raw, shape=(4, 8, 8)).card
    assert card["label_mapping"]["malignant"]["missing"]["records"] == 1
    assert card["raw_files"]["unverified"] == 4 and card["raw_files"]["verified"] == 0


def test_declared_class_names_are_distinct():
    """Two classes with one display name would make one label space entry stand for two indices."""
    from climb.prepare.declared import DeclarationError, declared_builder

    label = {"task": "multiclass", "column": "y", "classes": ["a", "b", "c"], "names": ["x", "x", "y"]}
    with pytest.raises(DeclarationError, match=r"label: Value error, duplicate names in \['x', 'x', 'y'\]"):
        declared_builder({"name": "t", "kind": "table", "table": {"file": "t.csv"}, "label": label,
                          "split": {"by": "random"}})


def test_declared_annotation_descriptions_map_through_the_label_mapper(tmp_path):
    """EDF annotation descriptions: declared classes mapped, `ignore` left out by the table and
    counted, undeclared ones dropped under unknown_labels: drop, all in the card's label_mapping."""
    from test_declared import guide_declarations, write_night

    from climb.prepare.declared import declared_builder

    write_night(tmp_path / "s01" / "night1.edf", 60, [[0.0, 0, "Lights off"], [0.0, 60.0, "W"], [10.0, 0, "arousal"]],
                seed=0)
    declaration = guide_declarations()["my_sleep"]
    builder = declared_builder({**declaration, "label": {**declaration["label"], "unknown_labels": "drop"}})
    assert [(s["sample_id"], s["label"]) for s in builder.generate(tmp_path)] == [("s01/night1.edf@0", 0),
                                                                                  ("s01/night1.edf@30", 0)]
    report = builder.card_extras()["label_mapping"]["annotation description"]
    assert (report["records_seen"], report["records_kept"], report["excluded_by_table"]) == (3, 1, {"Lights off": 1})
    assert report["unknown"] == {"policy": "drop", "records": 1, "values": {"arousal": 1},
                                 "examples": ["s01/night1.edf at 10 s"]}
