"""Tiny fixtures in the official file layouts of the signal / volume / video / graph datasets.

Every writer uses the real format's own library (wfdb, pyedflib, nibabel, PyAV) or the
format's text definition (NSRR XML, TUEV .rec, MetaImage, TUDataset), so the builders
are exercised on files shaped exactly like the official downloads, only far smaller.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

LEADS12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
TUH_ELECTRODES = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T3", "C3", "CZ", "C4", "T4", "T5", "P3",
                  "PZ", "P4", "T6", "O1", "O2"]


# ---------------------------------------------------------------- ECG (PhysioNet/CinC challenge)


def write_ecg_record(folder: Path, name: str, dx: str, seconds: float = 2.0, fs: int = 500,
                     age: str = "53", sex: str = "Male", seed: int = 0) -> np.ndarray:
    """One challenge record `<name>.hea/.dat` with `#Age/#Sex/#Dx` comments; returns the signal (n, 12)."""
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sig = np.round(rng.normal(0, 0.3, (int(seconds * fs), 12)), 3)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * 12, sig_name=LEADS12, p_signal=sig, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder),
                comments=[f"Age: {age}", f"Sex: {sex}", f"Dx: {dx}", "Rx: Unknown", "Hx: Unknown", "Sx: Unknown"])
    return sig


def to_challenge_mat(folder: Path, name: str, release: str = "2020") -> None:
    """Rewrite `<name>.dat` as the challenge's `<name>.mat`: a MATLAB v4 file holding `val` (leads x
    samples, int16), whose 24-byte header the WFDB header's `16+24` skips (scipy writes the same bytes).

    `release="2021"` writes the 2021 signal format `16x1+24`; `"georgia2020"`
    gives the record line the 2020 Georgia form `<name>.mat 12 500 N 05-May-2020 14:50:55`
    (the real headers in real_samples/georgia).
    """
    from scipy.io import savemat

    dat = folder / f"{name}.dat"
    hea = folder / f"{name}.hea"
    n_sig_len = int(hea.read_text().split()[3])
    val = np.fromfile(dat, dtype="<i2").reshape(n_sig_len, 12).T
    savemat(str(folder / f"{name}.mat"), {"val": val}, format="4")
    dat.unlink()
    lines = hea.read_text().replace(f"{name}.dat 16 ", f"{name}.mat 16+24 ").splitlines()
    if release == "2021":
        lines = [line.replace(" 16+24 ", " 16x1+24 ") for line in lines]
    if release == "georgia2020":
        lines[0] = lines[0].replace(name, f"{name}.mat", 1) + " 05-May-2020 14:50:55"
    hea.write_text("\n".join(lines) + "\n")


def write_ecg_challenge(root: Path, prefix: str, dxs: list[str], seconds: float = 2.0) -> list[str]:
    """`training/<source>/g1/<prefix>0000k.hea/.dat` for each Dx string; returns the record names."""
    names = []
    for k, dx in enumerate(dxs, 1):
        name = f"{prefix}{k:05d}" if prefix == "JS" else f"{prefix}{k:04d}"
        write_ecg_record(root / "training" / "src" / "g1", name, dx, seconds, seed=k)
        names.append(name)
    return names


# ---------------------------------------------------------------- EDF helpers


def write_edf(path: Path, channels: dict[str, np.ndarray], fs: int) -> None:
    """An EDF with the given labelled channels (uV, +-500 physical range)."""
    from pyedflib import highlevel

    path.parent.mkdir(parents=True, exist_ok=True)
    headers = [highlevel.make_signal_header(label, sample_frequency=fs, physical_min=-500, physical_max=500)
               for label in channels]
    highlevel.write_edf(str(path), [np.clip(v, -499, 499) for v in channels.values()], headers)


def _eeg(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 20, n)


# ---------------------------------------------------------------- SHHS


def nsrr_xml(stages: list[tuple[str, int, float, float]]) -> str:
    """NSRR XML with `Stages|Stages` events (concept name, code, start s, duration s)."""
    events = "".join(
        f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>{name}|{code}</EventConcept>"
        f"<Start>{start}</Start><Duration>{dur}</Duration><ClockTime>00.00.00 23.00.00</ClockTime></ScoredEvent>"
        for name, code, start, dur in stages
    )
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation><SoftwareVersion>Compumedics'
            '</SoftwareVersion><EpochLength>30</EpochLength><ScoredEvents><ScoredEvent><EventType/>'
            '<EventConcept>Recording Start Time</EventConcept><Start>0</Start><Duration>240.0</Duration>'
            f'<ClockTime>00.00.00 23.00.00</ClockTime></ScoredEvent>{events}</ScoredEvents></PSGAnnotation>')


SHHS_STAGES = [("Wake", 0, 0.0, 60.0), ("Stage 1 sleep", 1, 60.0, 30.0), ("Stage 2 sleep", 2, 90.0, 30.0),
               ("Stage 4 sleep", 4, 120.0, 30.0), ("Movement", 6, 150.0, 30.0), ("REM sleep", 5, 180.0, 30.0),
               ("Unscored", 9, 210.0, 30.0)]  # 8 epochs: W W N1 N2 N3 (drop) REM (drop)


def write_shhs(root: Path, subjects: list[str], fs: int = 125, seconds: int = 240,
               c3_label: str = "EEG(sec)") -> None:
    for k, sid in enumerate(subjects):
        n = fs * seconds
        write_edf(root / "polysomnography" / "edfs" / "shhs1" / f"shhs1-{sid}.edf",
                  {c3_label: _eeg(n, k), "EEG": _eeg(n, k + 100), "ECG": _eeg(n, k + 200)}, fs)
        xml = root / "polysomnography" / "annotations-events-nsrr" / "shhs1" / f"shhs1-{sid}-nsrr.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(nsrr_xml(SHHS_STAGES))


# ---------------------------------------------------------------- ISRUC


ISRUC_CODES = [0, 1, 2, 3, 5, 4]  # W N1 N2 N3 REM N3(old S4)


def write_isruc(root: Path, subjects: list[int], fs: int = 200, extra_labels: int = 0) -> None:
    """`subgroupI/<s>/<s>.rec` (EDF bytes) + `<s>_1.txt`, 6 epochs each."""
    for s in subjects:
        folder = root / "subgroupI" / str(s)
        n = fs * 30 * len(ISRUC_CODES)
        edf = folder / f"{s}.edf"
        write_edf(edf, {"LOC-A2": _eeg(n, s), "C3-A2": _eeg(n, s + 1), "C4-A1": _eeg(n, s + 2)}, fs)
        os.replace(edf, folder / f"{s}.rec")
        codes = ISRUC_CODES + [0] * extra_labels
        (folder / f"{s}_1.txt").write_text("".join(f"{c}\n" for c in codes))
        (folder / f"{s}_2.txt").write_text("".join(f"{c}\n" for c in codes))


# ---------------------------------------------------------------- TUH


def write_tuh_edf(path: Path, seconds: int, fs: int = 250, seed: int = 0, drop: str | None = None) -> None:
    chans = {f"EEG {e}-REF": _eeg(fs * seconds, seed + i) for i, e in enumerate(TUH_ELECTRODES) if e != drop}
    chans["EEG EKG1-REF"] = _eeg(fs * seconds, seed + 99)
    write_edf(path, chans, fs)


TUAB_FILES = [("train", "normal", "aaaaaaaa"), ("train", "normal", "aaaaaaab"), ("train", "abnormal", "aaaaaaac"),
              ("train", "abnormal", "aaaaaaad"), ("eval", "normal", "aaaaaaae"), ("eval", "abnormal", "aaaaaaaf")]


def write_tuab(root: Path, seconds: int = 25) -> None:
    """`edf/{train,eval}/{normal,abnormal}/01_tcp_ar/<subject>_s001_t000.edf`."""
    for k, (split, cls, subject) in enumerate(TUAB_FILES):
        write_tuh_edf(root / "edf" / split / cls / "01_tcp_ar" / f"{subject}_s001_t000.edf", seconds, seed=k)


TUEV_EVENTS = {
    ("train", "aaaaaaar", 1): ["0,3.0,4.0,1", "5,3.0,4.0,1", "2,6.0,7.0,4", "8,9.0,10.0,6"],
    ("train", "aaaaaaas", 1): ["1,2.0,3.0,2", "4,5.0,6.0,3", "7,10.0,11.0,5"],
    ("eval", "aaaaaaat", 1): ["3,1.0,2.0,6", "0,5.0,6.0,1", "6,8.0,9.0,3"],
}


def write_tuev(root: Path, seconds: int = 12) -> None:
    """`edf/{train,eval}/<subject>/<subject>_0000000n.edf` + `.rec` event files."""
    for k, ((split, subject, n), lines) in enumerate(TUEV_EVENTS.items()):
        stem = root / "edf" / split / subject / f"{subject}_{n:08d}"
        write_tuh_edf(stem.with_suffix(".edf"), seconds, seed=k)
        stem.with_suffix(".rec").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- LNDb (MetaImage)


def write_mhd(path: Path, volume_zyx: np.ndarray, spacing_xyz, origin_xyz) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw")
    volume_zyx.astype("<i2").tofile(raw)
    z, y, x = volume_zyx.shape
    path.write_text(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n"
        f"Offset = {' '.join(map(str, origin_xyz))}\nCenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n"
        f"ElementSpacing = {' '.join(map(str, spacing_xyz))}\nDimSize = {x} {y} {z}\n"
        f"ElementType = MET_SHORT\nElementDataFile = {raw.name}\n")


LNDB_SPACING = (0.8, 0.8, 1.25)
LNDB_ORIGIN = (-100.0, -80.0, -300.0)


def lndb_world(ix: int, iy: int, iz: int) -> tuple[float, float, float]:
    return tuple(o + i * s for o, i, s in zip(LNDB_ORIGIN, (ix, iy, iz), LNDB_SPACING))


def write_lndb(root: Path, scans: list[int] = (1, 2, 3, 4)) -> list[tuple[int, int]]:
    """`data0/LNDb-000k.mhd/.raw` (16x16x8 CT, a bright blob at voxel (8, 8, 4)) + trainset_csv/trainNodules_gt.csv.

    Returns (LNDbID, expected class) per finding, in CSV order.
    """
    rows, expected = [], []
    for k in scans:
        vol = np.full((8, 16, 16), -900, dtype=np.int16)
        vol[3:6, 7:10, 7:10] = 40
        write_mhd(root / "data0" / f"LNDb-{k:04d}.mhd", vol, LNDB_SPACING, LNDB_ORIGIN)
        x, y, z = lndb_world(8, 8, 4)
        # a segmented 6 mm nodule; a nodule < 3 mm and a non-nodule, both marked by their centroid only,
        # which the real trainNodules_gt.csv gives the volume of a 3 mm sphere (14.137166941154069)
        big, centroid_only = 4 / 3 * np.pi * 3.0 ** 3, 4 / 3 * np.pi * 1.5 ** 3
        rows += [f"{k},1,1,1,{x},{y},{z},1,1,{big:.3f},5",
                 f"{k},2,2,2,{x + 1},{y},{z},1,1,{centroid_only!r},5",
                 f"{k},1,3,3,{x},{y + 2},{z},1,0,{centroid_only!r},0"]
        expected += [(k, 0), (k, 1), (k, 2)]
    csv = root / "trainset_csv" / "trainNodules_gt.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    csv.write_text("LNDbID,RadID,RadFindingID,FindingID,x,y,z,AgrLevel,Nodule,Volume,Text\n" + "\n".join(rows) + "\n")
    return expected


# ---------------------------------------------------------------- KiTS23 (NIfTI)


def write_kits23(root: Path, malignant: list[bool], shape=(8, 16, 16)) -> None:
    import nibabel as nib

    meta = []
    for k, m in enumerate(malignant):
        case = f"case_{k:05d}"
        vol = np.full(shape, -1000 + 100 * k, dtype=np.int16)
        vol[2:6, 4:12, 4:12] = 40
        (root / "dataset" / case).mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(vol, np.eye(4)), str(root / "dataset" / case / "imaging.nii.gz"))
        meta.append({"case_id": case, "age_at_nephrectomy": 50 + k, "gender": "male", "malignant": m,
                     "pathology_t_stage": "1a", "tumor_histologic_subtype": "clear_cell_rcc" if m else "oncocytoma"})
    (root / "dataset" / "kits23.json").write_text(json.dumps(meta, indent=2))


# ---------------------------------------------------------------- videos (PyAV)


def write_video(path: Path, frames: int = 8, size: int = 32, codec: str = "mpeg4") -> None:
    """A real encoded video whose frame t is uniformly grey at level 20 + 25 t."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for t in range(frames):
            img = np.full((size, size, 3), 20 + 25 * t, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


ECHONET_ROWS = [("0X1000", 55.0, "TRAIN"), ("0X1001", 30.5, "TRAIN"), ("0X1002", 62.1, "TRAIN"),
                ("0X1003", 45.0, "VAL"), ("0X1004", 70.2, "TEST"), ("0X1005", 25.0, "TEST")]


def write_echonet(root: Path) -> None:
    lines = ["FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split"]
    for name, ef, split in ECHONET_ROWS:
        write_video(root / "Videos" / f"{name}.avi")
        lines.append(f"{name},{ef},20.0,50.0,32,32,10,8,{split}")
    (root / "FileList.csv").write_text("\n".join(lines) + "\n")


BLUES_PCR = {1: 1, 2: 0, 3: 1, 4: 0, 5: 1, 6: 0, 7: 1, 8: 0, 9: 1, 10: 0}


def write_covid_blues(root: Path) -> None:
    rows = ["patient_id,cov_test,number_video_files,pat_age"]
    for pid, pcr in BLUES_PCR.items():
        points = ["L1", "R2"] if pid % 2 else ["L1", "L2", "L2_2"]
        for point in points:
            write_video(root / "lus_videos" / f"patient_{pid}_{point}.mp4", frames=6)
        rows.append(f"{pid},{pcr},{len(points)}.0,60.0")
    (root / "clinical_variables.csv").write_text("\n".join(rows) + "\n")


COVID_US_ROWS = [("1_butterfly_covid", "COVID", "convex"), ("2_butterfly_covid", "COVID", "convex"),
                 ("3_butterfly_covid", "COVID", "convex"), ("20_butterfly_normal", "Normal", "convex"),
                 ("28_grepmed_normal", "Normal", "linear"), ("36_grepmed_normal", "Normal", "convex"),
                 ("23_grepmed_pneumonia", "Pneumonia", "linear"), ("25_grepmed_pneumonia", "Pneumonia", "convex"),
                 ("27_grepmed_pneumonia", "Pneumonia", "convex")]
COVID_US_PATIENTS = {"1_butterfly_covid": "p1", "2_butterfly_covid": "p1", "3_butterfly_covid": "p2",
                     "20_butterfly_normal": "p3", "28_grepmed_normal": "p4", "36_grepmed_normal": "p5",
                     "23_grepmed_pneumonia": "p6", "25_grepmed_pneumonia": "p7", "27_grepmed_pneumonia": "p7",
                     "100_litfl_other": "p8"}


def write_covid_us(root: Path, release: str = "1.4") -> None:
    """COVIDx-US as its notebook leaves it (github.com/nrc-cnrc/COVID-US @ caf3aca): the label file of
    `release` (1.2/1.4: `labels/COVIDx-US<r>_3class.csv`; 1.5: `labels/CovidxUS1.5_metadata.xlsx`, with
    class Other and a patient column) and `data/video/cropped/<id>_prc.avi` per video."""
    header = ["id", "LUSS", "source", "probe", "class", "class_on_website", "type"]
    rows = [[vid, 2, vid.split("_")[1], probe.title(), cls, None, "lung"] for vid, cls, probe in COVID_US_ROWS]
    for vid, *_ in COVID_US_ROWS + [("100_litfl_other",)]:
        write_video(root / "data" / "video" / "cropped" / f"{vid}_prc.avi", frames=5)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    if release == "1.5":
        import pandas as pd

        rows.append(["100_litfl_other", 1, "litfl", "Convex", "Other", None, "lung"])
        frame = pd.DataFrame(rows, columns=header)
        frame.insert(2, "filetype", "mp4")
        frame["patient"] = frame["id"].map(COVID_US_PATIENTS)
        frame["case_no"] = frame.groupby("patient").cumcount() + 1
        frame.to_excel(root / "labels" / "CovidxUS1.5_metadata.xlsx", index=False, engine="openpyxl")
        return
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    (root / "labels" / f"COVIDx-US{release}_3class.csv").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- PROTEINS (TUDataset)


def write_proteins(root: Path, graphs: int = 10) -> list[tuple[int, int, int]]:
    """`PROTEINS/PROTEINS_*.txt` for `graphs` ring graphs; returns (label 1/2, nodes, directed edges)."""
    folder = root / "PROTEINS"
    folder.mkdir(parents=True, exist_ok=True)
    edges, indicator, node_labels, attrs, labels, info = [], [], [], [], [], []
    offset = 0
    for g in range(graphs):
        n = 3 + g % 3
        for i in range(n):
            j = (i + 1) % n
            edges += [(offset + i + 1, offset + j + 1), (offset + j + 1, offset + i + 1)]
            indicator.append(g + 1)
            node_labels.append((g + i) % 3)
            attrs.append(float(10 * g + i))
        label = 1 if g % 2 == 0 else 2
        labels.append(label)
        info.append((label, n, 2 * n))
        offset += n
    (folder / "PROTEINS_A.txt").write_text("".join(f"{a}, {b}\n" for a, b in edges))
    (folder / "PROTEINS_graph_indicator.txt").write_text("".join(f"{g}\n" for g in indicator))
    (folder / "PROTEINS_graph_labels.txt").write_text("".join(f"{lab}\n" for lab in labels))
    (folder / "PROTEINS_node_labels.txt").write_text("".join(f"{lab}\n" for lab in node_labels))
    (folder / "PROTEINS_node_attributes.txt").write_text("".join(f"{a}\n" for a in attrs))
    return info
