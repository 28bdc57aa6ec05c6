"""2D image builders on tiny fixtures written in each dataset's official layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from climb.prepare import PrepareError, prepare
from climb.prepare.builders.images_2d import read_dicom, square
from climb.prepare.labels.chexpert import chexpert_vector

import fixtures_images as fx  # tests/prepare is on sys.path (pytest rootdir insertion)

SIZE = 32


def contents(ds) -> dict[str, dict]:
    """sample_id -> split, patient, label, image of every stored sample."""
    out = {}
    for split in ds.splits:
        sids, pids, labels, images = (ds.field(split, f) for f in ("sample_id", "patient_id", "label", "image"))
        for i in range(len(sids)):
            out[sids[i]] = {"split": split, "patient": pids[i], "label": labels[i], "image": images[i]}
    return out


def assert_standard(ds, got: dict[str, dict], channels: int, catalog_id: str) -> None:
    assert ds.card["catalog_id"] == catalog_id
    assert ds.card["fields"]["image"]["shape"] == [channels, SIZE, SIZE]
    assert ds.card["split_policy"]
    for rec in got.values():
        assert rec["image"].shape == (channels, SIZE, SIZE) and rec["image"].dtype == np.uint8
    by_split: dict[str, set] = {}
    for rec in got.values():
        by_split.setdefault(rec["split"], set()).add(rec["patient"])
    splits = list(by_split)
    for i, a in enumerate(splits):  # no patient in two splits
        for b in splits[i + 1:]:
            assert not by_split[a] & by_split[b], (a, b)


SINGLE_LABEL = [  # name, writer, channels, has an official split
    ("ham10000", fx.write_ham10000, 3, False),
    ("pad_ufes20", fx.write_pad_ufes20, 3, False),
    ("isic2020", fx.write_isic2020, 3, False),
    ("aptos2019", fx.write_aptos2019, 3, False),
    ("messidor2", fx.write_messidor2, 3, False),
    ("busi", fx.write_busi, 3, False),
    ("brain_tumor", fx.write_brain_tumor, 3, True),
    ("lc25000", fx.write_lc25000, 3, False),
    ("covid19_cxr", fx.write_covid19_cxr, 1, True),
    ("coronahack", fx.write_coronahack, 1, True),
    ("covid19_radiography", fx.write_covid19_radiography, 1, False),
    ("cbis_ddsm", fx.write_cbis_ddsm, 1, True),
    ("cmmd", fx.write_cmmd, 1, False),
]


@pytest.mark.parametrize("name, writer, channels, official", SINGLE_LABEL, ids=[c[0] for c in SINGLE_LABEL])
def test_single_label_builder(tmp_path, name, writer, channels, official):
    expected = writer(tmp_path)
    ds = prepare(name, raw=tmp_path, size=SIZE)
    got = contents(ds)
    assert set(got) == set(expected)
    assert_standard(ds, got, channels, name)
    for sid, want in expected.items():
        assert int(got[sid]["label"]) == want[0], sid
        assert got[sid]["patient"] == want[1], sid
        if official:  # the official train may lose a val share, the official test never changes
            allowed = {"train", "val"} if want[2] == "train" else {want[2]}
            assert got[sid]["split"] in allowed, sid
    assert sum(s["num_samples"] for s in ds.card["splits"].values()) == len(expected)
    if official:
        assert ds.card["splits"]["test"]["num_samples"] == sum(w[2] == "test" for w in expected.values())


def test_ham10000_groups_lesions_and_maps_every_dx(tmp_path):
    fx.write_ham10000(tmp_path)
    got = contents(prepare("ham10000", raw=tmp_path, size=SIZE))
    assert got["ISIC_0024306"]["split"] == got["ISIC_0024307"]["split"]  # one lesion, one split
    assert {int(got[s]["label"]) for s in ("ISIC_0024311", "ISIC_0024312", "ISIC_0024313")} == {4}  # -> OTHER


def test_image_is_resized_and_padded_not_distorted(tmp_path):
    fx.write_ham10000(tmp_path)
    img = contents(prepare("ham10000", raw=tmp_path, size=SIZE))["ISIC_0024308"]["image"]
    source = Image.open(tmp_path / "HAM10000_images_part_1" / "ISIC_0024308.jpg")
    np.testing.assert_array_equal(img, square(source, SIZE, 3))
    # 40x32 -> 32x26: 3 zero rows above and below, content in between
    assert not img[:, :3].any() and not img[:, -3:].any() and img[:, 3:29].any()


def test_square_layout():
    white = Image.new("L", (40, 20), 255)  # w x h
    out = square(white, 32, 1)
    assert out.shape == (1, 32, 32)
    assert not out[:, :8].any() and not out[:, 24:].any() and (out[:, 8:24] == 255).all()
    assert square(Image.new("RGB", (10, 30), (10, 20, 30)), 32, 3)[:, 16, 16].tolist() == [10, 20, 30]


def test_dicom_rescale_window_and_monochrome1(tmp_path):
    pixels = np.array([[0, 100], [150, 300]], np.uint16)  # -> values -100, 100, 200, 500
    kwargs = dict(slope=2.0, intercept=-100.0, window=(200.0, 200.0))  # window 100..300
    mono2 = read_dicom(fx.write_dicom(tmp_path / "a.dcm", pixels, **kwargs))
    mono1 = read_dicom(fx.write_dicom(tmp_path / "b.dcm", pixels, photometric="MONOCHROME1", **kwargs))
    np.testing.assert_array_equal(mono2, [[0, 0], [128, 255]])
    np.testing.assert_array_equal(mono1, 255 - mono2)
    no_window = read_dicom(fx.write_dicom(tmp_path / "c.dcm", pixels, slope=2.0, intercept=-100.0))
    np.testing.assert_array_equal(no_window, [[0, 85], [128, 255]])  # full range -100..500


@pytest.mark.parametrize("vote", ["majority", "any"])
def test_vindr_cxr_rater_vote(tmp_path, vote):
    expected = fx.write_vindr_cxr(tmp_path)
    ds = prepare("vindr_cxr", raw=tmp_path, size=SIZE, rater_vote=vote)
    got = contents(ds)
    assert set(got) == set(expected)
    assert_standard(ds, got, 1, "vindr_cxr")
    assert ds.label_names == ["lung tumor", "pneumonia", "tuberculosis", "COPD", "other", "no finding"]
    for sid, (majority, anyone, split) in expected.items():
        assert got[sid]["label"].tolist() == (majority if vote == "majority" else anyone), sid
        assert got[sid]["split"] in ({"train", "val"} if split == "train" else {"test"})


@pytest.mark.parametrize("name, policy", [("chexpert", "u_zeros"), ("chexpert_u_ones", "u_ones")])
def test_chexpert_uncertainty_policy(tmp_path, name, policy):
    expected = fx.write_chexpert(tmp_path)
    ds = prepare(name, raw=tmp_path, size=SIZE)
    got = contents(ds)
    assert set(got) == set(expected)
    assert_standard(ds, got, 1, "chexpert")
    assert ds.card["params"]["uncertainty"] == policy
    some_uncertain = False
    for sid, (codes, patient, split) in expected.items():
        codes = np.array(codes, dtype=float)
        some_uncertain |= bool((codes == -1).any())
        want = np.where(np.isnan(codes), 0, np.where(codes == -1, 1.0 if policy == "u_ones" else 0.0, codes))
        np.testing.assert_array_equal(got[sid]["label"], want)
        assert got[sid]["patient"] == patient
        assert got[sid]["split"] in ({"train", "val"} if split == "train" else {"test"})
    assert some_uncertain  # the fixture exercises the policy
    assert ds.card["splits"]["test"]["num_patients"] == 2


def test_mimic_cxr_official_split_and_subject(tmp_path):
    expected = fx.write_mimic_cxr(tmp_path)
    ds = prepare("mimic_cxr", raw=tmp_path, size=SIZE)
    got = contents(ds)
    assert set(got) == set(expected)  # the study without labels is left out
    assert_standard(ds, got, 1, "mimic_cxr")
    for sid, (codes, subject, split) in expected.items():
        np.testing.assert_array_equal(got[sid]["label"], chexpert_vector(codes, "u_zeros"))
        assert (got[sid]["patient"], got[sid]["split"]) == (subject, split)


# ---------------------------------------------------------------- bad input, one or more per family


def test_derm_row_pointing_to_missing_image(tmp_path):
    fx.write_ham10000(tmp_path)
    (tmp_path / "HAM10000_images_part_1" / "ISIC_0024310.jpg").unlink()
    with pytest.raises(PrepareError, match=r"HAM10000_metadata\.csv: row 6: image 'ISIC_0024310' not found"):
        prepare("ham10000", raw=tmp_path, size=SIZE)


def test_derm_missing_column_and_unknown_code(tmp_path):
    fx.write_pad_ufes20(tmp_path)
    meta = pd.read_csv(tmp_path / "metadata.csv")
    meta.drop(columns=["diagnostic"]).to_csv(tmp_path / "metadata.csv", index=False)
    with pytest.raises(PrepareError, match=r"metadata\.csv: missing required column\(s\) \['diagnostic'\]"):
        prepare("pad_ufes20", raw=tmp_path, size=SIZE)
    meta.assign(diagnostic=["NEV"] * 6 + ["XYZ"]).to_csv(tmp_path / "metadata.csv", index=False)
    with pytest.raises(PrepareError, match=r"metadata\.csv: 1 record\(s\) with diagnostic code value\(s\) outside "
                                           r"the label table: 'XYZ' \(1: row 8 \(PAT_\w+\.png\)\); known: ACK, BCC"):
        prepare("pad_ufes20", raw=tmp_path, size=SIZE)


def test_fundus_unreadable_image(tmp_path, climb_home):
    fx.write_aptos2019(tmp_path)
    png = tmp_path / "train_images" / "0024cdab0c1e.png"
    png.write_bytes(png.read_bytes()[:60])
    with pytest.raises(PrepareError, match=r"0024cdab0c1e\.png: unreadable image"):
        prepare("aptos2019", raw=tmp_path, size=SIZE)
    assert [p.name for p in (climb_home / "prepared").iterdir() if not p.name.endswith(".lock")] == []


def test_fundus_bad_exam_list(tmp_path):
    fx.write_messidor2(tmp_path)
    with open(tmp_path / "messidor-2.csv", "a") as f:
        f.write("not an image;neither\n")
    with pytest.raises(PrepareError, match=r"messidor-2\.csv: line 5: expected 'left;right' image names"):
        prepare("messidor2", raw=tmp_path, size=SIZE)


def test_class_folders_missing_split_folder(tmp_path):
    fx.write_brain_tumor(tmp_path)
    (tmp_path / "Testing").rename(tmp_path / "Test")
    with pytest.raises(PrepareError, match=r"none of the folders \['Testing'\] found"):
        prepare("brain_tumor", raw=tmp_path, size=SIZE)


def test_chest_xray_bad_inputs(tmp_path):
    fx.write_chexpert(tmp_path)
    valid = tmp_path / "CheXpert-v1.0-small" / "valid.csv"
    df = pd.read_csv(valid)
    df.drop(columns=["Edema"]).to_csv(valid, index=False)
    with pytest.raises(PrepareError, match=r"valid\.csv: missing required column\(s\) \['Edema'\]"):
        prepare("chexpert", raw=tmp_path, size=SIZE)
    df.assign(Edema=2.0).to_csv(valid, index=False)
    with pytest.raises(PrepareError, match=r"valid\.csv: \d+ row\(s\) with values other than 1, 0, -1 or blank: "
                                           r"row 2 Edema = 2\.0"):
        prepare("chexpert", raw=tmp_path, size=SIZE)
    with pytest.raises(ValueError, match="uncertainty must be one of"):
        prepare("chexpert", raw=tmp_path, size=SIZE, uncertainty="u_maybe")


def test_chest_xray_truncated_dicom_and_missing_jpg(tmp_path):
    vindr, mimic = tmp_path / "vindr", tmp_path / "mimic"
    fx.write_vindr_cxr(vindr)
    dcm = vindr / "train" / "aa02.dicom"
    dcm.write_bytes(dcm.read_bytes()[:400])
    with pytest.raises(PrepareError, match=r"aa02\.dicom: unreadable DICOM"):
        prepare("vindr_cxr", raw=vindr, size=SIZE)
    fx.write_mimic_cxr(mimic)
    next((mimic / "files").rglob("096052b7-*.jpg")).unlink()
    with pytest.raises(PrepareError, match=r"mimic-cxr-2\.0\.0-split\.csv\.gz: row 6: image .*096052b7.* not found"):
        prepare("mimic_cxr", raw=mimic, size=SIZE)


def test_mammo_missing_column(tmp_path):
    fx.write_cbis_ddsm(tmp_path)
    path = tmp_path / "calc_case_description_test_set.csv"
    pd.read_csv(path).drop(columns=["assessment"]).to_csv(path, index=False)
    with pytest.raises(PrepareError, match=r"calc_case_description_test_set\.csv: missing required column"):
        prepare("cbis_ddsm", raw=tmp_path, size=SIZE)


def test_mammo_cbis_drops_train_images_of_test_patients(tmp_path):
    fx.write_cbis_ddsm(tmp_path)
    got = contents(prepare("cbis_ddsm", raw=tmp_path, size=SIZE))
    assert "Calc-Training_P_00004_RIGHT_MLO" not in got
    assert got["Calc-Test_P_00004_LEFT_CC"]["split"] == "test"


def test_mammo_cmmd_laterality_without_row(tmp_path):
    fx.write_cmmd(tmp_path)
    stray = tmp_path / "CMMD" / "D2-0003" / "x" / "y" / "1-9.dcm"
    fx.noise_dicom(stray, 7, laterality="R", patient_id="D2-0003")
    with pytest.raises(PrepareError, match=r"1-9\.dcm: no row in CMMD_clinicaldata_revision\.xlsx for laterality 'R'"):
        prepare("cmmd", raw=tmp_path, size=SIZE)


def test_mammo_cmmd_unreadable_spreadsheet(tmp_path):
    fx.write_cmmd(tmp_path)
    (tmp_path / "CMMD_clinicaldata_revision.xlsx").write_bytes(b"not a zip")
    with pytest.raises(PrepareError, match=r"CMMD_clinicaldata_revision\.xlsx: unreadable spreadsheet"):
        prepare("cmmd", raw=tmp_path, size=SIZE)


def test_all_image_builders_registered():
    from climb.prepare import builder_names

    names = set(builder_names())
    wanted = {c[0] for c in SINGLE_LABEL} | {"vindr_cxr", "mimic_cxr", "chexpert", "chexpert_u_ones",
                                              "mimic_cxr_u_ones"}
    assert wanted <= names
    assert Path(fx.__file__).name == "fixtures_images.py"


def test_mammo_cmmd_dicom_of_unknown_patient(tmp_path):
    fx.write_cmmd(tmp_path)
    fx.noise_dicom(tmp_path / "CMMD" / "D9-9999" / "x" / "y" / "1-1.dcm", 8, laterality="L")
    with pytest.raises(PrepareError, match=r"D9-9999/x/y/1-1\.dcm: not below a patient folder \(ID1\) listed in"):
        prepare("cmmd", raw=tmp_path, size=SIZE)


def test_official_train_gives_a_seeded_patient_grouped_val(tmp_path):
    fx.write_chexpert(tmp_path)
    first = contents(prepare("chexpert", raw=tmp_path, size=SIZE))
    again = contents(prepare("chexpert", raw=tmp_path, size=SIZE, force=True))
    assert {k: v["split"] for k, v in first.items()} == {k: v["split"] for k, v in again.items()}
    assert {v["split"] for v in first.values()} == {"train", "val", "test"}


def test_carve_val_is_grouped_stratified_and_seeded():
    from climb.prepare.builders.images_2d import ImageRecord, carve_val

    recs = [ImageRecord(f"s{i}", f"p{i // 2}", Path("x"), (i // 2) % 3, "train") for i in range(600)]
    recs += [ImageRecord("t0", "q0", Path("x"), 0, "test")]
    out = carve_val(recs, 0.1, 0, int)
    assert out == carve_val(recs, 0.1, 0, int) and out != carve_val(recs, 0.1, 1, int)
    val = [r for r in out if r.split == "val"]
    assert 50 <= len(val) <= 70 and out[-1].split == "test"
    assert {r.label for r in val} == {0, 1, 2}
    split_of: dict[str, set] = {}
    for r in out:
        split_of.setdefault(r.patient_id, set()).add(r.split)
    assert all(len(s) == 1 for s in split_of.values())
