"""Writers of tiny 2D image datasets in their official file layouts (for builder tests).

Each `write_<dataset>(raw)` creates a handful of small images (Pillow PNG/JPEG, pydicom
DICOM) plus the official index files under `raw`, and returns what a correct builder must
produce: `{sample_id: (label, patient_id)}` and, where the dataset has one, the official
split per sample (`None` = assigned by the store).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

W, H = 40, 32  # small landscape images: the builders must resize and pad them


def write_picture(path: Path, seed: int, mode: str = "RGB", size: tuple[int, int] = (W, H)) -> Path:
    """A random-noise image (PNG or JPEG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


def write_dicom(path: Path, pixels: np.ndarray, *, photometric: str = "MONOCHROME2", slope: float = 1.0,
                intercept: float = 0.0, window: tuple[float, float] | None = None,
                laterality: str | None = None, patient_id: str = "anon", modality: str = "DX") -> Path:
    """A valid single-frame 16-bit DICOM file (file meta, PixelData, rescale, window)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = patient_id
    ds.Modality = modality
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if laterality is not None:
        ds.ImageLaterality = laterality
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def noise_dicom(path: Path, seed: int, **kwargs) -> Path:
    rng = np.random.default_rng(seed)
    return write_dicom(path, rng.integers(0, 4096, (H, W)).astype(np.uint16), **kwargs)


def write_xlsx(path: Path, rows: list[list]) -> Path:
    """A one-sheet workbook (first row = header), written by pandas with openpyxl."""
    import pandas as pd

    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(path, index=False, engine="openpyxl")
    return path


# ---------------------------------------------------------------- dermoscopy


def write_ham10000(raw: Path) -> dict:
    rows = [  # (lesion_id, image_id, dx, expected DERM5 index)
        ("HAM_0000001", "ISIC_0024306", "nv", 1), ("HAM_0000001", "ISIC_0024307", "nv", 1),
        ("HAM_0000002", "ISIC_0024308", "mel", 0), ("HAM_0000003", "ISIC_0024309", "bcc", 2),
        ("HAM_0000004", "ISIC_0024310", "akiec", 3), ("HAM_0000005", "ISIC_0024311", "bkl", 4),
        ("HAM_0000006", "ISIC_0024312", "df", 4), ("HAM_0000007", "ISIC_0024313", "vasc", 4),
        ("HAM_0000007", "ISIC_0024314", "vasc", 4), ("HAM_0000008", "ISIC_0024315", "mel", 0),
    ]
    for k, (_, image_id, _, _) in enumerate(rows):
        write_picture(raw / f"HAM10000_images_part_{1 + k % 2}" / f"{image_id}.jpg", k)
    pd.DataFrame([{"lesion_id": l, "image_id": i, "dx": d, "dx_type": "histo", "age": 50.0, "sex": "male",
                   "localization": "back"} for l, i, d, _ in rows]).to_csv(raw / "HAM10000_metadata.csv", index=False)
    return {i: (lab, l) for l, i, _, lab in rows}


def write_pad_ufes20(raw: Path) -> dict:
    rows = [  # (patient_id, lesion_id, img_id, diagnostic, expected)
        ("PAT_1516", 1765, "PAT_1516_1765_530.png", "NEV", 1), ("PAT_1516", 1766, "PAT_1516_1766_531.png", "SEK", 4),
        ("PAT_46", 881, "PAT_46_881_939.png", "BCC", 2), ("PAT_46", 881, "PAT_46_881_940.png", "BCC", 2),
        ("PAT_1545", 1867, "PAT_1545_1867_547.png", "ACK", 3), ("PAT_771", 1170, "PAT_771_1170_12.png", "SCC", 3),
        ("PAT_995", 1867, "PAT_995_1867_165.png", "MEL", 0),
    ]
    for k, (_, _, img, _, _) in enumerate(rows):
        write_picture(raw / "images" / f"imgs_part_{1 + k % 3}" / img, 100 + k)
    pd.DataFrame([{"patient_id": p, "lesion_id": l, "smoke": False, "age": 55, "region": "FACE",
                   "diagnostic": d, "itch": True, "img_id": i, "biopsed": True} for p, l, i, d, _ in rows]
                 ).to_csv(raw / "metadata.csv", index=False)
    return {Path(i).stem: (lab, p) for p, _, i, _, lab in rows}


def write_isic2020(raw: Path) -> dict:
    rows = [("ISIC_2637011", "IP_7279968", 0), ("ISIC_0015719", "IP_3075186", 0), ("ISIC_0052212", "IP_2842074", 0),
            ("ISIC_0068279", "IP_6890425", 1), ("ISIC_0074268", "IP_6723298", 0), ("ISIC_0074311", "IP_2842074", 1)]
    for k, (name, _, _) in enumerate(rows):
        write_picture(raw / "train" / f"{name}.jpg", 200 + k)
    pd.DataFrame([{"image_name": n, "patient_id": p, "sex": "male", "age_approx": 45.0,
                   "anatom_site_general_challenge": "torso", "diagnosis": "unknown",
                   "benign_malignant": "malignant" if t else "benign", "target": t} for n, p, t in rows]
                 ).to_csv(raw / "ISIC_2020_Training_GroundTruth.csv", index=False)
    return {n: (t, p) for n, p, t in rows}


# ---------------------------------------------------------------- fundus


def write_aptos2019(raw: Path) -> dict:
    rows = [("000c1434d8d7", 2), ("001639a390f0", 4), ("0024cdab0c1e", 1), ("002c21358ce6", 0),
            ("005b95c28852", 0), ("0083ee8054ee", 3)]
    for k, (i, _) in enumerate(rows):
        write_picture(raw / "train_images" / f"{i}.png", 300 + k)
    pd.DataFrame(rows, columns=["id_code", "diagnosis"]).to_csv(raw / "train.csv", index=False)
    pd.DataFrame({"id_code": ["0005cfc8afb6"]}).to_csv(raw / "test.csv", index=False)
    return {i: (d, i) for i, d in rows}


def write_messidor2(raw: Path) -> dict:
    exams = [("20051020_43808_0100_PP.png", "20051020_43832_0100_PP.png"),
             ("20051020_44261_0100_PP.png", "20051020_44284_0100_PP.png"),
             ("IM002385.JPG", "IM002386.JPG")]
    grades = [0, 0, 2, 3, 1, None]  # the last image is ungradable
    for k, name in enumerate(n for pair in exams for n in pair):
        write_picture(raw / "IMAGES" / name, 400 + k)
    (raw / "messidor-2.csv").write_text("left;right\n" + "".join(f"{a};{b}\n" for a, b in exams))
    names = [n.replace(".JPG", ".jpg") for pair in exams for n in pair]  # the grade file says .jpg
    pd.DataFrame({"image_id": names, "adjudicated_dr_grade": grades,
                  "adjudicated_dme": [0] * 5 + [None],
                  "adjudicated_gradable": [1] * 5 + [0]}).to_csv(raw / "messidor_data.csv", index=False)
    pair_of = {n: pair[0] for pair in exams for n in pair}
    return {Path(n).stem: (g, Path(pair_of[n]).stem) for n, g in zip(pair_of, grades) if g is not None}


# ---------------------------------------------------------------- ultrasound, MRI, pathology


def write_busi(raw: Path) -> dict:
    root = raw / "Dataset_BUSI_with_GT"
    out = {}
    for label, cls in enumerate(("normal", "benign", "malignant")):
        for n in (1, 2, 3):
            write_picture(root / cls / f"{cls} ({n}).png", 10 * label + n, mode="L")
            write_picture(root / cls / f"{cls} ({n})_mask.png", 99, mode="L")
            sid = f"{cls}/{cls} ({n}).png"
            out[sid] = (label, sid)
    write_picture(root / "benign" / "benign (1)_mask_1.png", 98, mode="L")  # second mask of one image
    return out


def write_brain_tumor(raw: Path) -> dict:
    out = {}
    for folder, split in (("Training", "train"), ("Testing", "test")):
        for label, cls in enumerate(("no_tumor", "glioma_tumor", "meningioma_tumor", "pituitary_tumor")):
            for n in range(1, 3 if split == "test" else 4):
                name = f"image({n}).jpg" if cls == "no_tumor" else f"{cls[0]}{cls[0]} ({n}).jpg"
                write_picture(raw / folder / cls / name, 500 + 7 * label + n)
                sid = f"{folder}/{cls}/{name}"
                out[sid] = (label, sid, split)
    return out


def write_lc25000(raw: Path) -> dict:
    out = {}
    base = raw / "lung_colon_image_set"
    for group, classes in (("lung_image_sets", ("lung_aca", "lung_n", "lung_scc")),
                           ("colon_image_sets", ("colon_aca", "colon_n"))):
        for cls in classes:
            # the catalog lists the classes alphabetically: colon_aca, colon_n, lung_aca, lung_n, lung_scc
            label = ["colon_aca", "colon_n", "lung_aca", "lung_n", "lung_scc"].index(cls)
            for n in (1, 2, 3):
                name = f"{cls.replace('_', '')}{n}.jpeg"
                write_picture(base / group / cls / name, 600 + 5 * label + n)
                out[f"{cls}/{name}"] = (label, f"{cls}/{name}")
    return out


# ---------------------------------------------------------------- chest X-ray


def write_covid19_radiography(raw: Path) -> dict:
    """`COVID-19_Radiography_Dataset/<class>/images/<class>-N.png` + the masks beside (second update layout)."""
    root = raw / "archive" / "COVID-19_Radiography_Dataset"
    out = {}
    for label, folder in enumerate(["COVID", "Lung_Opacity", "Normal", "Viral Pneumonia"]):
        for n in (1, 2, 3):
            name = f"{folder}-{n}.png"
            write_picture(root / folder / "images" / name, 900 + 10 * label + n, mode="L")
            write_picture(root / folder / "masks" / name, 950 + 10 * label + n, mode="L")  # not samples
            out[f"{folder}/{name}"] = (label, f"{folder}/{name}")
    return out


def write_covid19_cxr(raw: Path) -> dict:
    out = {}
    for folder, split in (("TrainData", "train"), ("ValData", "test")):
        for label, cls in enumerate(("Normal", "BacterialPneumonia", "COVID-19", "ViralPneumonia")):
            for n in range(1, 4 if split == "train" else 2):
                name = f"{cls.lower()}-{n}.jpeg"
                write_picture(raw / folder / cls / name, 700 + 5 * label + n, mode="L", size=(W, H + 10))
                out[f"{folder}/{cls}/{name}"] = (label, f"{folder}/{cls}/{name}", split)
    return out


def write_coronahack(raw: Path) -> dict:
    rows = [  # name, Label, Dataset_type, Label_2, Label_1, expected
        ("IM-0128-0001.jpeg", "Normal", "TRAIN", None, None, 0),
        ("IM-0127-0001.jpeg", "Normal", "TRAIN", None, None, 0),
        ("person1_bacteria_1.jpeg", "Pnemonia", "TRAIN", None, "bacteria", 1),
        ("person2_bacteria_3.jpeg", "Pnemonia", "TRAIN", None, "bacteria", 1),
        ("person1_virus_6.jpeg", "Pnemonia", "TRAIN", None, "Virus", 2),
        ("1-s2.0-S0929664620300449-gr2_lrg-a.jpg", "Pnemonia", "TRAIN", "COVID-19", "Virus", 2),
        ("ryct.2020200034.fig5-day7.jpeg", "Pnemonia", "TRAIN", "ARDS", "Stress-Smoking", None),
        ("IM-0001-0001.jpeg", "Normal", "TEST", None, None, 0),
        ("person100_bacteria_475.jpeg", "Pnemonia", "TEST", None, "bacteria", 1),
        ("person1610_virus_2793.jpeg", "Pnemonia", "TEST", None, "Virus", 2),
    ]
    base = raw / "Coronahack-Chest-XRay-Dataset" / "Coronahack-Chest-XRay-Dataset"
    for k, (name, _, split, *_rest) in enumerate(rows):
        write_picture(base / split.lower() / name, 800 + k, mode="L")
    pd.DataFrame([{"X_ray_image_name": n, "Label": lab, "Dataset_type": s, "Label_2_Virus_category": l2,
                   "Label_1_Virus_category": l1} for n, lab, s, l2, l1, _ in rows]
                 ).to_csv(raw / "Chest_xray_Corona_Metadata.csv")  # with the official unnamed index column
    return {f"{s.lower()}/{n}": (e, f"{s.lower()}/{n}", s.lower()) for n, _, s, _, _, e in rows if e is not None}


VINDR_COLUMNS = ["Aortic enlargement", "Atelectasis", "Nodule/Mass", "Lung tumor", "Pneumonia", "Tuberculosis",
                 "Other diseases", "COPD", "No finding"]


def write_vindr_cxr(raw: Path) -> dict:
    def row(image_id, rad, **pos):
        return {"image_id": image_id, "rad_id": rad, **{c: int(pos.get(c.replace(" ", "_").replace("/", "_"), 0))
                                                     for c in VINDR_COLUMNS}}

    train = [row("aa01", "R1", Pneumonia=1, COPD=1), row("aa01", "R2", Pneumonia=1), row("aa01", "R3"),
             row("aa02", "R4", No_finding=1), row("aa02", "R5", No_finding=1), row("aa02", "R6", No_finding=1),
             row("aa03", "R1", Lung_tumor=1, Tuberculosis=1), row("aa03", "R2", Lung_tumor=1, Tuberculosis=1),
             row("aa03", "R3", No_finding=1)]
    test = [row("bb01", None, Other_diseases=1, COPD=1), row("bb02", None, No_finding=1)]
    (raw / "annotations").mkdir(parents=True)
    pd.DataFrame(train).to_csv(raw / "annotations" / "image_labels_train.csv", index=False)
    test_df = pd.DataFrame(test).drop(columns=["rad_id"]).rename(columns={"Other diseases": "Other disease"})
    test_df.to_csv(raw / "annotations" / "image_labels_test.csv", index=False)
    for k, (split, image_id) in enumerate([("train", "aa01"), ("train", "aa02"), ("train", "aa03"),
                                           ("test", "bb01"), ("test", "bb02")]):
        noise_dicom(raw / split / f"{image_id}.dicom", 900 + k, photometric="MONOCHROME1" if k % 2 else "MONOCHROME2",
                    window=(2048.0, 4096.0) if k < 3 else None)
    # order: Lung tumor, Pneumonia, Tuberculosis, COPD, Other diseases, No finding
    return {"aa01": ([0, 1, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0], "train"),
            "aa02": ([0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1], "train"),
            "aa03": ([1, 0, 1, 0, 0, 0], [1, 0, 1, 0, 0, 1], "train"),
            "bb01": ([0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 0], "test"),
            "bb02": ([0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1], "test")}


CHEXPERT14 = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
              "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
              "Fracture", "Support Devices"]


def _chexpert_codes(seed: int) -> dict[str, float | None]:
    rng = np.random.default_rng(seed)
    codes = rng.choice([1.0, 0.0, -1.0, np.nan], size=14)
    return dict(zip(CHEXPERT14, codes))


def write_chexpert(raw: Path) -> dict:
    root = raw / "CheXpert-v1.0-small"
    out = {}
    for csv_name, folder, patients, split in (("train.csv", "train", range(1, 7), "train"),
                                              ("valid.csv", "valid", range(64541, 64543), "test")):
        rows = []
        for p in patients:
            for study, view in ((1, "view1_frontal"), (1, "view2_lateral"), (2, "view1_frontal"))[: 1 + p % 3]:
                rel = f"CheXpert-v1.0-small/{folder}/patient{p:05d}/study{study}/{view}.jpg"
                write_picture(raw / rel, p * 10 + study, mode="L")
                codes = _chexpert_codes(p * 10 + study)
                if split == "test":
                    codes = {k: (0.0 if v != 1.0 else 1.0) for k, v in codes.items()}  # valid.csv: 0/1 only
                rows.append({"Path": rel, "Sex": "Female", "Age": 68, "Frontal/Lateral": "Frontal",
                             "AP/PA": "AP", **codes})
                out[rel.split("/", 1)[1]] = ([codes[c] for c in CHEXPERT14], f"patient{p:05d}", split)
        pd.DataFrame(rows).to_csv(root / csv_name, index=False)
    return out


def write_mimic_cxr(raw: Path) -> dict:
    images = [  # dicom_id, subject, study, split
        ("02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", 10000032, 50414267, "train"),
        ("174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", 10000032, 50414267, "train"),
        ("2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab", 10000032, 53189527, "train"),
        ("68b5c4b1-227d0485-9cc38c3f-7b84ab51-4b472714", 10000764, 57375967, "validate"),
        ("096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4", 10000898, 50771383, "test"),
        ("ea030e7a-2e3b1346-bc518786-7a8fd698-f673b44c", 10001122, 54475195, "train"),  # study has no labels
    ]
    for k, (dicom_id, subject, study, _) in enumerate(images):
        write_picture(raw / "files" / f"p{str(subject)[:2]}" / f"p{subject}" / f"s{study}" / f"{dicom_id}.jpg",
                      1000 + k, mode="L")
    split = pd.DataFrame(images, columns=["dicom_id", "subject_id", "study_id", "split"])
    split[["dicom_id", "study_id", "subject_id", "split"]].to_csv(raw / "mimic-cxr-2.0.0-split.csv.gz", index=False)
    labelled = sorted({(s, st) for _, s, st, _ in images if st != 54475195})
    codes = {st: _chexpert_codes(st % 1000) for _, st in labelled}
    pd.DataFrame([{"subject_id": s, "study_id": st, **codes[st]} for s, st in labelled]
                 ).to_csv(raw / "mimic-cxr-2.0.0-chexpert.csv.gz", index=False)
    splits = {"train": "train", "validate": "val", "test": "test"}
    return {d: ([codes[st][c] for c in CHEXPERT14], str(s), splits[sp]) for d, s, st, sp in images if st in codes}


# ---------------------------------------------------------------- mammography


def write_cbis_ddsm(raw: Path) -> dict:
    """Classic NBIA layout for most images, the descriptive layout + metadata.csv for one."""
    abnormalities = [  # csv, patient, side, view, assessment
        ("mass_case_description_train_set.csv", "P_00001", "LEFT", "CC", 3),
        ("mass_case_description_train_set.csv", "P_00001", "LEFT", "CC", 5),  # 2nd abnormality, same image
        ("mass_case_description_train_set.csv", "P_00001", "LEFT", "MLO", 4),
        ("mass_case_description_train_set.csv", "P_00002", "RIGHT", "CC", 2),
        ("calc_case_description_train_set.csv", "P_00003", "LEFT", "CC", 0),
        ("calc_case_description_train_set.csv", "P_00004", "RIGHT", "MLO", 3),  # P_00004 is also in test
        ("mass_case_description_test_set.csv", "P_00005", "LEFT", "CC", 1),
        ("calc_case_description_test_set.csv", "P_00004", "LEFT", "CC", 4),
    ]
    frames: dict[str, list] = {}
    meta_rows = []
    for k, (csv_name, patient, side, view, assessment) in enumerate(abnormalities):
        kind = "Mass" if csv_name.startswith("mass") else "Calc"
        part = "Training" if "train" in csv_name else "Test"
        subject = f"{kind}-{part}_{patient}_{side}_{view}"
        study, series = f"1.3.6.1.4.1.9590.100.1.2.{k}1", f"1.3.6.1.4.1.9590.100.1.2.{k}2"
        rel = f"{subject}/{study}/{series}/000000.dcm"
        if patient == "P_00005":  # descriptive layout, found through metadata.csv
            location = f"./CBIS-DDSM/{subject}/07-20-2016-DDSM-{k}/1.000000-full mammogram images-{k}"
            noise_dicom(raw / location / "1-1.dcm", 1100 + k, modality="MG")
            meta_rows.append({"Series UID": series, "Collection": "CBIS-DDSM", "Subject ID": subject,
                              "Study UID": study, "File Location": location})
        elif not (raw / "CBIS-DDSM" / subject).exists():
            noise_dicom(raw / "CBIS-DDSM" / rel, 1100 + k, modality="MG", photometric="MONOCHROME1")
        else:  # the same image again: reuse the path of its first abnormality
            rel = next(r["image file path"] for rows in frames.values() for r in rows
                       if r["image file path"].startswith(subject + "/"))
        density = "breast_density" if kind == "Mass" else "breast density"
        frames.setdefault(csv_name, []).append({
            "patient_id": patient, density: 3, "left or right breast": side, "image view": view,
            "abnormality id": 1, "abnormality type": kind.lower(), "assessment": assessment,
            "pathology": "MALIGNANT", "subtlety": 4, "image file path": rel,
            "cropped image file path": f"{subject}_1/x/y/000000.dcm",
            "ROI mask file path": f"{subject}_1/x/y/000001.dcm"})
    for csv_name, rows in frames.items():
        pd.DataFrame(rows).to_csv(raw / csv_name, index=False)
    pd.DataFrame(meta_rows).to_csv(raw / "metadata.csv", index=False)
    return {"Mass-Training_P_00001_LEFT_CC": (5, "P_00001", "train"),
            "Mass-Training_P_00001_LEFT_MLO": (4, "P_00001", "train"),
            "Mass-Training_P_00002_RIGHT_CC": (2, "P_00002", "train"),
            "Calc-Training_P_00003_LEFT_CC": (0, "P_00003", "train"),
            "Mass-Test_P_00005_LEFT_CC": (1, "P_00005", "test"),
            "Calc-Test_P_00004_LEFT_CC": (4, "P_00004", "test")}


def write_cmmd(raw: Path) -> dict:
    table = [["ID1", "LeftRight", "Age", "number", "abnormality", "classification", "subtype"],
             ["D1-0001", "L", 44, 2, "calcification", "Benign", None],
             ["D1-0001", "R", 44, 2, "mass", "Malignant", "Luminal A"],
             ["D1-0002", "R", 40, 1, "mass", "Malignant", "HER2-enriched"],
             ["D2-0003", "L", 62, 1, "both", "Benign", None],
             ["D2-0004", "R", 55, 1, "mass", "Malignant", "Luminal B"]]
    write_xlsx(raw / "CMMD_clinicaldata_revision.xlsx", table)
    views = {"D1-0001": ["L", "L", "R", "R"], "D1-0002": [None, None], "D2-0003": ["L", "L"], "D2-0004": ["R", "R"]}
    labels = {("D1-0001", "L"): 0, ("D1-0001", "R"): 1, ("D1-0002", None): 1, ("D2-0003", "L"): 0, ("D2-0004", "R"): 1}
    out = {}
    for k, (p, sides) in enumerate(views.items()):
        folder = raw / "CMMD" / p / "07-18-2010-NA-NA-79377" / "1.000000-NA-70244"
        for n, side in enumerate(sides, 1):
            noise_dicom(folder / f"1-{n}.dcm", 1200 + 10 * k + n, laterality=side, patient_id=p, modality="MG")
            out[(folder / f"1-{n}").relative_to(raw).as_posix()] = (labels[(p, side)], p)
    return out
