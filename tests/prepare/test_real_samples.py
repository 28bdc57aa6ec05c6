"""Every folder of ../shared/data/real_samples is prepared by its builder and checked against the real files.

`REAL_SAMPLES` maps each folder to the builder that reads it (one table: a new folder without
an entry, or an entry without a `test_real_<folder>` function, fails
`test_every_real_sample_folder_has_a_builder_and_a_test`). Where the media are present
(ECG records, videos, PROTEINS, images) the builder runs on the folder itself (prepare only
reads it) and the test checks shapes, rates, leads and labels against what the files say.
Where the media are absent (label tables only), the test copies the real tables to a
scratch folder, writes a placeholder file for exactly the ids the table lists, and checks
the labels that come out against the real table (counts computed here with pandas from
the same file, plus the counts each PROVENANCE.md states).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from climb.prepare import create_builder, prepare
from climb.prepare.builders.images_2d import load_image
from climb.prepare.labels import ECG7

# folders whose tests live in test_new_builders_real.py (the builders written for the entries that had none)
TESTED_ELSEWHERE = {"bcss": "test_bcss_real_meta_tables", "brain_mri": "test_brain_mri_real_folders",
                    "hemorrhage": "test_head_ct_real_labels_and_images", "hugadb": "test_hugadb_real_recording",
                    "mimic_iv": "test_mimic_iv_reads_only_files_of_the_official_list"}
REAL_SAMPLES: dict[str, str] = {
    "bcss": "bcss",
    "brain_mri": "brain_mri",
    "brain_tumor_mri": "brain_tumor",
    "busi": "busi",
    "cbis_ddsm": "cbis_ddsm",
    "chapman": "chapman",
    "cmmd": "cmmd",
    "coronahack": "coronahack",
    "covid_blues": "covid_blues",
    "covid_us": "covid_us",
    "cpsc2018": "cpsc",
    "georgia": "georgia",
    "ham10000": "ham10000",
    "hemorrhage": "hemorrhage_head_ct",
    "hugadb": "hugadb",
    "isic2020": "isic2020",
    "kits23": "kits23",
    "lc25000": "lc25000_lung",
    "lndb": "lndb",
    "messidor2": "messidor2",
    "mimic_iv": "mimic_iv_mortality48",
    "proteins": "proteins",
}


@pytest.fixture(scope="module")
def real(shared_data: Path) -> Path:
    root = shared_data / "real_samples"
    if not root.is_dir():
        pytest.skip(f"no real_samples folder in {shared_data}")
    return root


def test_every_real_sample_folder_has_a_builder_and_a_test(real: Path):
    from climb.prepare import builder_names

    folders = sorted(p.name for p in real.iterdir() if p.is_dir())
    assert [f for f in folders if f not in REAL_SAMPLES] == [], "real_samples folders without an entry here"
    assert [f for f in REAL_SAMPLES if f not in folders] == [], "entries here without a real_samples folder"
    assert [b for b in REAL_SAMPLES.values() if b not in builder_names()] == []
    import test_new_builders_real as elsewhere

    assert [f for f in REAL_SAMPLES if f"test_real_{f}" not in globals()
            and not hasattr(elsewhere, TESTED_ELSEWHERE.get(f, "-"))] == [], "folders without a test"


# ---------------------------------------------------------------- helpers


def samples(ds) -> dict[str, tuple[str, str, object]]:
    """{sample_id: (split, patient_id, label)} over every split."""
    out = {}
    for split in ds.splits:
        ids, pids, labels = ds.field(split, "sample_id"), ds.field(split, "patient_id"), ds.field(split, "label")
        for i in range(len(ids)):
            label = labels[i]
            out[ids[i]] = (split, pids[i], label.tolist() if hasattr(label, "tolist") else label)
    return out


def totals(ds) -> dict[str, int]:
    """Class counts summed over the splits."""
    out: dict[str, int] = {}
    for split in ds.splits:
        for name, n in ds.card["splits"][split]["class_counts"].items():
            out[name] = out.get(name, 0) + int(n)
    return out


def no_patient_in_two_splits(ds) -> None:
    seen: dict[str, str] = {}
    for sid, (split, pid, _) in samples(ds).items():
        assert seen.setdefault(pid, split) == split, f"patient {pid} in {seen[pid]} and {split}"


def png_bytes(mode: str = "L", size: int = 4) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (size, size), 128).save(buf, format="PNG")
    return buf.getvalue()


def place(paths, data: bytes) -> int:
    """Write the same placeholder bytes at every path (media the real sample does not carry)."""
    n = 0
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        n += 1
    return n


def dicom_bytes(laterality: str | None = None) -> bytes:
    """A 4x4 16-bit mammography DICOM (with ImageLaterality when given)."""
    import tempfile

    from fixtures_images import write_dicom

    with tempfile.TemporaryDirectory() as d:
        path = write_dicom(Path(d) / "x.dcm", np.full((4, 4), 1000, np.uint16), laterality=laterality, modality="MG")
        return path.read_bytes()


# ---------------------------------------------------------------- ECG (real records)


def ecg_dx(folder: Path) -> dict[str, str]:
    return {h.stem: re.search(r"^#\s*Dx:\s*(.*)$", h.read_text(), re.M).group(1) for h in sorted(folder.rglob("*.hea"))}


def expected_ecg7(dx: str) -> list[float]:
    from climb.prepare.labels.ecg_snomed import ecg7_names, ecg7_table

    names = ecg7_names(ecg7_table()[c.strip()] for c in dx.split(","))
    return [float(n in names) for n in ECG7]


def check_challenge_signal(ds, record: Path, gain: float) -> None:
    """The prepared lead I of `record` equals the .mat's `val` row 0 divided by the header's gain."""
    from scipy.io import loadmat

    val = loadmat(str(record.with_suffix(".mat")))["val"]
    sig = next(ds.field(s, "signal")[i] for s in ds.splits for i in range(len(ds.field(s, "sample_id")))
               if ds.field(s, "sample_id")[i] == record.stem)
    assert sig.shape == (12, 5000)
    np.testing.assert_allclose(sig[0], val[0] / gain, atol=1e-6)
    np.testing.assert_allclose(sig[11], val[11] / gain, atol=1e-6)


def check_ecg_card(ds) -> None:
    meta = ds.card["fields"]["signal"]
    assert meta["sampling_rate"] == 500 and meta["shape"] == [12, 5000]
    assert meta["lead_names"] == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_real_georgia(real: Path):
    """Challenge 2020 Georgia: the record line names the .mat (was 'malformed WFDB header'); gain 4880/mV."""
    folder = real / "georgia"
    ds = prepare("georgia", raw=folder)
    got = samples(ds)
    dx = ecg_dx(folder)
    assert sorted(got) == sorted(dx) == ["E00009", "E00015", "E00018", "E00793"]
    assert {r: got[r][2] for r in got} == {r: expected_ecg7(d) for r, d in dx.items()}
    # PROVENANCE.md (record line fixed by hand): CD 1, HYP 1, STTC 2, Other 4
    assert totals(ds) == {"Normal": 0, "CD": 1, "HYP": 1, "MI": 0, "STTC": 2, "AFib/AFlutter": 0, "Other": 4}
    check_ecg_card(ds)
    assert ds.card["fields"]["signal"]["record_lines_with_file_suffix"] == 4
    assert ds.card["fields"]["signal"]["adc_gains"] == [4880.0]
    check_challenge_signal(ds, folder / "WFDB" / "E00009.hea", 4880.0)
    split = got["E00009"][0]
    ids = [ds.field(split, "sample_id")[i] for i in range(len(ds.field(split, "sample_id")))]
    i = ids.index("E00009")
    assert ds.field(split, "age")[i] == 76 and ds.field(split, "sex")[i] == 1.0  # "#Age: 76", "#Sex: Male"


def test_real_cpsc2018(real: Path):
    folder = real / "cpsc2018"
    ds = prepare("cpsc", raw=folder)
    got = samples(ds)
    assert list(got) == ["A5432"] and got["A5432"][2] == expected_ecg7("284470004")  # PAC -> Other
    assert totals(ds)["Other"] == 1 and sum(totals(ds).values()) == 1
    check_ecg_card(ds)
    assert ds.card["fields"]["signal"]["adc_gains"] == [1000.0]
    check_challenge_signal(ds, folder / "Training_WFDB" / "A5432.hea", 1000.0)


def test_real_chapman(real: Path):
    folder = real / "chapman"
    listed = (folder / "WFDBRecords" / "01" / "010" / "RECORDS").read_text().split()
    ds = prepare("chapman", raw=folder)
    got = samples(ds)
    assert sorted(got) == sorted(listed) == ["JS00001", "JS00002", "JS00004", "JS00005"]
    assert {r: got[r][2] for r in got} == {r: expected_ecg7(d) for r, d in ecg_dx(folder).items()}
    # PROVENANCE.md: CD 1, STTC 3, AFib/AFlutter 2, Other 2
    assert totals(ds) == {"Normal": 0, "CD": 1, "HYP": 0, "MI": 0, "STTC": 3, "AFib/AFlutter": 2, "Other": 2}
    check_ecg_card(ds)
    check_challenge_signal(ds, folder / "WFDBRecords" / "01" / "010" / "JS00001.hea", 1000.0)


# ---------------------------------------------------------------- images present


def check_images(ds, folder: Path, size: int, channels: int) -> None:
    """Every prepared image equals the real file loaded by the documented transform."""
    assert ds.card["fields"]["image"]["shape"] == [channels, size, size]
    for split in ds.splits:
        ids, images = ds.field(split, "sample_id"), ds.field(split, "image")
        for i in range(len(ids)):
            path = next(p for p in folder.rglob("*") if p.is_file() and p.as_posix().endswith(ids[i]))
            np.testing.assert_array_equal(images[i], load_image(path, size, channels))


def test_real_busi(real: Path):
    root = real / "busi" / "Dataset_BUSI_with_GT"
    ds = prepare("busi", raw=real / "busi", size=64)
    got = samples(ds)
    files = sorted(p for p in root.rglob("*.png"))
    assert sorted(got) == sorted(f"{p.parent.name}/{p.name}" for p in files) and len(files) == 12
    assert totals(ds) == {"normal": 4, "benign": 4, "malignant": 4}
    for sid, (_, pid, label) in got.items():
        assert pid == sid and ds.label_names[label] == sid.split("/")[0]
    check_images(ds, root, 64, 3)


def test_real_brain_tumor_mri(real: Path):
    folder = real / "brain_tumor_mri"
    ds = prepare("brain_tumor", raw=folder, size=32)
    got = samples(ds)
    assert len(got) == 24
    names = {"notumor": "none", "glioma": "glioma", "meningioma": "meningioma", "pituitary": "pituitary"}
    for sid, (split, _, label) in got.items():
        top, cls, _ = sid.split("/")
        assert ds.label_names[label] == names[cls]
        assert split == "test" if top == "Testing" else split in ("train", "val")
    assert ds.card["splits"]["test"]["num_samples"] == 12
    assert totals(ds) == {"none": 6, "glioma": 6, "meningioma": 6, "pituitary": 6}
    check_images(ds, folder, 32, 3)


def test_real_lc25000(real: Path):
    """The lung half alone (the colon half is absent): the catalog's `lung` view."""
    folder = real / "lc25000"
    ds = prepare("lc25000_lung", raw=folder, size=32)
    assert ds.task.value == "multiclass" and len(samples(ds)) == 12
    assert totals(ds) == {"lung adenocarcinoma": 4, "lung benign tissue": 4, "lung squamous cell carcinoma": 4}
    check_images(ds, folder, 32, 3)
    with pytest.raises(Exception, match=r"none of the folders \['colon_image_sets'\] found"):
        prepare("lc25000", raw=folder, size=32)


def test_real_covid_blues(real: Path):
    import av

    folder = real / "covid_blues"
    table = pd.read_csv(folder / "clinical_variables.csv").set_index("patient_id")["cov_test"]
    videos = sorted((folder / "lus_videos").glob("*.mp4"))
    for video in videos:
        with av.open(str(video)) as c:
            stream = c.streams.video[0]
            assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 350, 350), video.name
    ds = prepare("covid_blues", raw=folder, frames=4, size=32)
    got = samples(ds)
    assert sorted(got) == sorted(v.stem for v in videos) and len(got) == 24
    for sid, (_, pid, label) in got.items():
        assert pid == sid.split("_")[1] and label == table[int(pid)]
    assert {pid for _, pid, _ in got.values()} == {"9", "37", "44", "46"}
    assert totals(ds) == {"no COVID": 12, "COVID": 12}
    assert ds.card["fields"]["video"]["shape"] == [4, 3, 32, 32]
    no_patient_in_two_splits(ds)


def test_real_proteins(real: Path):
    folder = real / "proteins"
    labels = np.loadtxt(folder / "PROTEINS" / "PROTEINS_graph_labels.txt", dtype=int)
    indicator = np.loadtxt(folder / "PROTEINS" / "PROTEINS_graph_indicator.txt", dtype=int)
    edges = np.loadtxt(folder / "PROTEINS" / "PROTEINS_A.txt", delimiter=",", dtype=int)
    ds = prepare("proteins", raw=folder)
    assert len(samples(ds)) == len(labels) == 1113
    assert totals(ds) == {"enzyme": int((labels == 1).sum()), "non-enzyme": int((labels == 2).sum())} \
        == {"enzyme": 663, "non-enzyme": 450}
    every = [(s, i) for s in ds.splits for i in range(len(ds.field(s, "sample_id")))]
    nodes = sum(len(ds.field(s, "node_features")[i]) for s, i in every)
    n_edges = sum(ds.field(s, "edge_index")[i].shape[1] for s, i in every)
    assert nodes == len(indicator) and n_edges == len(edges)
    split = ds.splits[0]
    sid = int(ds.field(split, "sample_id")[0])
    assert ds.field(split, "node_features")[0].shape == ((indicator == sid).sum(), 4)


# ---------------------------------------------------------------- label tables only: placeholder media


@pytest.mark.slow
def test_real_ham10000(real: Path, tmp_path: Path):
    """The full official metadata (10,015 rows): 21 real images, placeholders for the other ids."""
    src = real / "ham10000"
    raw = tmp_path / "ham10000"
    shutil.copytree(src, raw)
    meta = pd.read_csv(src / "HAM10000_metadata.csv")
    have = {p.stem for p in (raw / "HAM10000_images_part_1").glob("*.jpg")}
    written = place((raw / "HAM10000_images_part_2" / f"{i}.jpg" for i in meta["image_id"] if i not in have),
                    png_bytes("RGB"))
    assert written == len(meta) - len(have) == 10015 - 21
    ds = prepare("ham10000", raw=raw, size=8)
    got = samples(ds)
    derm5 = {"mel": "MEL", "nv": "NV", "bcc": "BCC", "akiec": "AKIEC", "bkl": "OTHER", "df": "OTHER", "vasc": "OTHER"}
    want = meta["dx"].map(derm5).value_counts().to_dict()
    assert totals(ds) == want == {"NV": 6705, "MEL": 1113, "OTHER": 1356, "BCC": 514, "AKIEC": 327}
    assert {sid: pid for sid, (_, pid, _) in got.items()} == dict(zip(meta["image_id"], meta["lesion_id"]))
    assert len({pid for _, pid, _ in got.values()}) == meta["lesion_id"].nunique() == 7470
    no_patient_in_two_splits(ds)
    real_one = sorted(have)[0]
    split, _, _ = got[real_one]
    ids = [ds.field(split, "sample_id")[i] for i in range(len(ds.field(split, "sample_id")))]
    np.testing.assert_array_equal(ds.field(split, "image")[ids.index(real_one)],
                                  load_image(src / "HAM10000_images_part_1" / f"{real_one}.jpg", 8, 3))


@pytest.mark.slow
def test_real_isic2020(real: Path, tmp_path: Path):
    raw = tmp_path / "isic2020"
    raw.mkdir()
    shutil.copy(real / "isic2020" / "ISIC_2020_Training_GroundTruth.csv", raw)
    table = pd.read_csv(raw / "ISIC_2020_Training_GroundTruth.csv")
    place((raw / "train" / f"{i}.jpg" for i in table["image_name"]), png_bytes("RGB"))
    ds = prepare("isic2020", raw=raw, size=4)
    got = samples(ds)
    assert len(got) == len(table) == 33126
    assert totals(ds) == {"benign": int((table["target"] == 0).sum()), "malignant": int((table["target"] == 1).sum())} \
        == {"benign": 32542, "malignant": 584}
    assert {sid: (pid, label) for sid, (_, pid, label) in got.items()} == \
        {r.image_name: (r.patient_id, r.target) for r in table.itertuples()}
    assert len({pid for _, pid, _ in got.values()}) == 2056
    no_patient_in_two_splits(ds)


@pytest.mark.slow
def test_real_coronahack(real: Path, tmp_path: Path):
    raw = tmp_path / "coronahack"
    raw.mkdir()
    shutil.copy(real / "coronahack" / "Chest_xray_Corona_Metadata.csv", raw)
    table = pd.read_csv(raw / "Chest_xray_Corona_Metadata.csv")
    images = raw / "Coronahack-Chest-XRay-Dataset" / "Coronahack-Chest-XRay-Dataset"
    place((images / t.lower() / n for n, t in zip(table["X_ray_image_name"], table["Dataset_type"])), png_bytes())
    ds = prepare("coronahack", raw=raw, size=4)
    got = samples(ds)
    virus = table["Label_1_Virus_category"].fillna("")
    cls = np.select([table["Label"] == "Normal", virus == "bacteria", virus == "Virus"],
                    ["normal", "bacterial", "viral"], "excluded")
    assert (cls == "excluded").sum() == 2 and set(virus[cls == "excluded"]) == {"Stress-Smoking"}
    kept = table[cls != "excluded"]
    assert len(got) == len(kept) == 6195
    assert totals(ds) == pd.Series(cls[cls != "excluded"]).value_counts().to_dict() \
        == {"bacterial": 2777, "viral": 1842, "normal": 1576}
    assert ds.card["splits"]["test"]["num_samples"] == int((kept["Dataset_type"] == "TEST").sum()) == 644
    for sid, (split, _, label) in got.items():
        assert split == "test" if sid.startswith("test/") else split in ("train", "val")
    assert {sid for sid in got} == {f"{t.lower()}/{n}" for n, t in zip(kept["X_ray_image_name"], kept["Dataset_type"])}


@pytest.mark.slow
def test_real_messidor2(real: Path, tmp_path: Path):
    """The common re-saved variant (id_code, diagnosis): the official column names are not required."""
    raw = tmp_path / "messidor2"
    raw.mkdir()
    shutil.copy(real / "messidor2" / "third_party_variant" / "messidor_data.csv", raw)
    table = pd.read_csv(raw / "messidor_data.csv")
    assert list(table.columns[:2]) == ["id_code", "diagnosis"]
    place((raw / "IMAGES" / name for name in table["id_code"]), png_bytes("RGB"))
    ds = prepare("messidor2", raw=raw, size=4)
    got = samples(ds)
    assert len(got) == len(table) == 1744  # PROVENANCE.md says 1,743: the last line has no newline
    assert totals(ds) == {name: int((table["diagnosis"] == k).sum()) for k, name in enumerate(ds.label_names)} \
        == {"No DR": 1017, "Mild": 270, "Moderate": 347, "Severe": 75, "Proliferative DR": 35}
    assert {sid: label for sid, (_, _, label) in got.items()} == \
        {Path(i).stem: g for i, g in zip(table["id_code"], table["diagnosis"])}
    assert ds.card["fields"]["label"]["columns"] == ["id_code", "diagnosis"]


@pytest.mark.slow
def test_real_cbis_ddsm(real: Path, tmp_path: Path):
    raw = tmp_path / "cbis_ddsm"
    raw.mkdir()
    csvs = sorted((real / "cbis_ddsm").glob("*.csv"))
    for f in csvs:
        shutil.copy(f, raw)
    table = pd.concat([pd.read_csv(f).assign(split="test" if "_test_" in f.name else "train") for f in csvs])
    paths = table["image file path"].str.strip()
    place((raw / "CBIS-DDSM" / p for p in paths.unique()), dicom_bytes())
    ds = prepare("cbis_ddsm", raw=raw, size=8)
    got = samples(ds)
    table["image"] = paths.str.split("/").str[0]
    per_image = table.groupby("image").agg(label=("assessment", "max"), split=("split", "first"),
                                          patient=("patient_id", "first"))
    test_patients = set(per_image[per_image["split"] == "test"]["patient"])
    keep = per_image[(per_image["split"] == "test") | ~per_image["patient"].isin(test_patients)]
    assert len(per_image) == 3103 and len(got) == len(keep)
    assert {sid: (pid, label) for sid, (_, pid, label) in got.items()} == \
        {k: (r.patient, int(r.label)) for k, r in keep.iterrows()}
    assert totals(ds) == {f"BI-RADS {k}": int((keep["label"] == k).sum()) for k in range(6)}
    assert ds.card["splits"]["test"]["num_samples"] == int((keep["split"] == "test").sum())
    no_patient_in_two_splits(ds)


@pytest.mark.slow
def test_real_cmmd(real: Path, tmp_path: Path):
    raw = tmp_path / "cmmd"
    raw.mkdir()
    shutil.copy(real / "cmmd" / "CMMD_clinicaldata_revision.xlsx", raw)
    table = pd.read_excel(raw / "CMMD_clinicaldata_revision.xlsx", engine="openpyxl")
    data = {side: dicom_bytes(side) for side in ("L", "R")}
    for r in table.itertuples():  # one view per listed breast, its laterality in the DICOM header
        place([raw / "CMMD" / r.ID1 / "1.000000-NA" / r.LeftRight / "1-1.dcm"], data[r.LeftRight])
    ds = prepare("cmmd", raw=raw, size=4)
    got = samples(ds)
    assert len(got) == len(table) == 1872
    assert totals(ds) == {"benign": 556, "malignant": 1316} == \
        {"benign": int((table["classification"] == "Benign").sum()),
         "malignant": int((table["classification"] == "Malignant").sum())}
    want = {f"CMMD/{r.ID1}/1.000000-NA/{r.LeftRight}/1-1": (r.ID1, r.classification.lower())
            for r in table.itertuples()}
    assert {sid: (pid, ds.label_names[label]) for sid, (_, pid, label) in got.items()} == want
    no_patient_in_two_splits(ds)


def test_real_lndb(real: Path, tmp_path: Path):
    """Nodules < 3 mm carry the 3 mm sphere volume in the real CSV: 625 / 143 / 451, not 768 / 0 / 451."""
    from fixtures_signals import write_mhd

    raw = tmp_path / "lndb"
    shutil.copytree(real / "lndb" / "trainset_csv", raw / "trainset_csv")
    table = pd.read_csv(raw / "trainset_csv" / "trainNodules_gt.csv")
    for scan, rows in table.groupby("LNDbID"):  # a placeholder CT (8^3 voxels) around the scan's findings
        lo, hi = rows[["x", "y", "z"]].min().to_numpy() - 10, rows[["x", "y", "z"]].max().to_numpy() + 10
        write_mhd(raw / "data0" / f"LNDb-{scan:04d}.mhd", np.zeros((8, 8, 8), np.int16) - 800, (hi - lo) / 7, lo)
    ds = prepare("lndb", raw=raw, patch=(4, 4, 4))
    got = samples(ds)
    assert len(got) == len(table) == 1219
    sphere = 4 / 3 * np.pi * 1.5 ** 3
    small = (table["Nodule"] == 1) & np.isclose(table["Volume"], sphere)
    assert totals(ds) == {"nodule >= 3 mm": int(((table["Nodule"] == 1) & ~small).sum()),
                          "nodule < 3 mm": int(small.sum()), "non-nodule": int((table["Nodule"] == 0).sum())} \
        == {"nodule >= 3 mm": 625, "nodule < 3 mm": 143, "non-nodule": 451}
    assert len({pid for _, pid, _ in got.values()}) == table["LNDbID"].nunique() == 229
    no_patient_in_two_splits(ds)


def test_real_kits23(real: Path, tmp_path: Path):
    """The official kits23.json: 7 cases with `malignant: null` are left out and counted, never benign."""
    import nibabel as nib

    raw = tmp_path / "kits23"
    shutil.copytree(real / "kits23" / "dataset", raw / "dataset")
    cases = json.loads((raw / "dataset" / "kits23.json").read_text())
    nifti = raw / "placeholder.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)), str(nifti))
    place((raw / "dataset" / c["case_id"] / "imaging.nii.gz" for c in cases), nifti.read_bytes())
    nifti.unlink()
    ds = prepare("kits23", raw=raw, shape=(2, 2, 2))
    got = samples(ds)
    null = sorted(c["case_id"] for c in cases if c["malignant"] is None)
    assert null == ["case_00461", "case_00512", "case_00514", "case_00515", "case_00541", "case_00544", "case_00550"]
    assert len(got) == len(cases) - 7 == 482 and not set(null) & set(got)
    assert totals(ds) == {"benign": 43, "malignant": 439}
    assert {sid: ds.label_names[label] for sid, (_, _, label) in got.items()} == \
        {c["case_id"]: "malignant" if c["malignant"] else "benign" for c in cases if c["malignant"] is not None}
    builder = create_builder("kits23", shape=(2, 2, 2))
    builder.source_files(raw)
    report = builder.card_extras()["label_mapping"]["malignant"]
    assert report["missing"] == {"policy": "exclude", "records": 7, "examples": null}


def test_real_covid_us(real: Path, tmp_path: Path):
    """Labels of releases 1.2 and 1.4: 1.4 is used; a cropped video per id as the notebook writes it."""
    from fixtures_signals import write_video

    raw = tmp_path / "covid_us"
    shutil.copytree(real / "covid_us" / "labels", raw / "labels")
    table = pd.read_csv(raw / "labels" / "COVIDx-US1.4_3class.csv")
    video = tmp_path / "v.avi"
    write_video(video, frames=2, size=16)
    ids = [i for i in table["id"] if i != "22_butterfly_covid"]  # the notebook never makes this one
    place((raw / "data" / "video" / "cropped" / f"{i}_prc.avi" for i in ids), video.read_bytes())
    ds = prepare("covid_us", raw=raw, frames=2, size=16)
    got = samples(ds)
    assert ds.card["fields"]["label"]["release"] == "1.4"
    assert len(table) == 149 and sorted(got) == sorted(ids)
    names = {"COVID": "COVID", "Pneumonia": "pneumonia", "Normal": "normal"}
    assert {sid: ds.label_names[label] for sid, (_, _, label) in got.items()} == \
        {i: names[c] for i, c in zip(table["id"], table["class"]) if i in ids}
    assert totals(ds) == {"COVID": 71, "pneumonia": 49, "normal": 28}  # PROVENANCE: 72 / 49 / 28 rows
    builder = create_builder("covid_us", frames=2, size=16)
    builder.source_files(raw)
    assert builder.card_extras()["label_mapping"]["cropped video"]["excluded_by_table"] == \
        {"removed from its source; the notebook never makes its video": 1}
