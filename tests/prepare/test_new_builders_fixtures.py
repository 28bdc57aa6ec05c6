"""The new builders without a real sample, on small fixtures written in each publisher's layout (the layout
sources are cited in each builder's docstring): labels, patients, splits, and the strict label policies."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_images import write_dicom, write_picture
from fixtures_signals import write_video
from PIL import Image

from climb.prepare import PrepareError, prepare
from sample_checks import assert_grouped, samples

SIZE = 16


# ---------------------------------------------------------------- CT-ICH (hemorrhage)

CTICH_HEADER = ("PatientNumber,SliceNumber,Intraventricular,Intraparenchymal,Subarachnoid,Epidural,Subdural,"
                "No_Hemorrhage,Fracture_Yes_No")  # the real header (user17359/hemorrhage_classification)


def write_ctich(raw: Path, rows: list[str]) -> Path:
    root = raw / "computed-tomography-images-for-intracranial-hemorrhage-detection-and-segmentation-1.0.0"
    root.mkdir(parents=True)
    (root / "hemorrhage_diagnosis.csv").write_text("\n".join([CTICH_HEADER, *rows]) + "\n")
    for row in rows:
        patient, slice_number = (int(v) for v in row.split(",")[:2])
        write_picture(root / "Patients_CT" / f"{patient:03d}" / "brain" / f"{slice_number}.jpg", patient + slice_number,
                      mode="L")
        write_picture(root / "Patients_CT" / f"{patient:03d}" / "bone" / f"{slice_number}.jpg", 1, mode="L")
    return root


def test_ctich_slices_grouped_by_patient(tmp_path):
    rows = ["49,1,0,0,0,0,0,1,0", "49,2,0,0,0,1,0,0,1", "50,1,0,1,0,0,0,0,1", "50,2,0,0,0,0,0,1,0",
            "66,1,0,0,0,0,0,1,0", "67,1,1,0,0,0,1,0,0"]
    write_ctich(tmp_path, rows)
    ds = prepare("hemorrhage", raw=tmp_path, size=SIZE)
    got = samples(ds)
    assert {k: int(v[2]) for k, v in got.items()} == {"049/1": 0, "049/2": 1, "050/1": 1, "050/2": 0, "066/1": 0,
                                                      "067/1": 1}
    assert {v[1] for v in got.values()} == {"049", "050", "066", "067"}
    assert_grouped(got)


def test_ctich_contradiction_and_nifti_release(tmp_path):
    write_ctich(tmp_path / "a", ["49,1,0,0,0,0,0,1,0", "49,2,0,0,0,0,0,0,0"])  # no subtype, yet not No_Hemorrhage
    with pytest.raises(PrepareError, match=r"1 slice\(s\) whose No_Hemorrhage contradicts the subtype columns"):
        prepare("hemorrhage", raw=tmp_path / "a", size=SIZE)
    nifti = tmp_path / "b"
    (nifti / "ct_scans").mkdir(parents=True)
    (nifti / "hemorrhage_diagnosis_raw_ct.csv").write_text(CTICH_HEADER + "\n")
    with pytest.raises(PrepareError, match="NIfTI release of CT-ICH"):
        prepare("hemorrhage", raw=nifti, size=SIZE)


# ---------------------------------------------------------------- Jichi


def write_jichi(raw: Path, rows: list[tuple[str, str, str]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["Image", "Davis_grading_of_concatenated_figures", "Davis_grading_of_one_figure"]
                 ).to_csv(raw / "list.csv", index=False)
    for k, (name, *_rest) in enumerate(rows):
        write_picture(raw / "documents" / name, k)


def test_jichi_four_grades_grouped_by_patient(tmp_path):
    rows = [("1_1_R.jpg", "ndr", "ndr"), ("1_2_L.jpg", "sdr", "ndr"), ("2_1_R.jpg", "ppdr", "ppdr"),
            ("2_2_L.jpg", "pdr", "pdr"), ("2663_2_L.jpg", "sdr", "sdr"), ("7_1_R.jpg", "ndr", "ndr")]
    write_jichi(tmp_path, rows)
    got = samples(prepare("jichi", raw=tmp_path, size=SIZE))
    assert {k: int(v[2]) for k, v in got.items()} == {"1_1_R": 0, "1_2_L": 0, "2_1_R": 2, "2_2_L": 3, "2663_2_L": 1,
                                                      "7_1_R": 0}
    assert got["2663_2_L"][1] == "2663"
    assert_grouped(got)
    other = samples(prepare("jichi", raw=tmp_path, size=SIZE, grading="concatenated"))
    assert int(other["1_2_L"][2]) == 1


def test_jichi_unknown_grade(tmp_path):
    write_jichi(tmp_path, [("1_1_R.jpg", "ndr", "ndr"), ("2_1_R.jpg", "ndr", "npdr"), ("3_1_R.jpg", "ndr", "")])
    with pytest.raises(PrepareError, match=r"list\.csv: 1 record\(s\) with Davis_grading_of_one_figure value\(s\) "
                                           r"outside the label table: 'npdr' \(1: 2_1_R\.jpg\).*; 1 record\(s\) "
                                           r"with an empty or null Davis_grading_of_one_figure: 3_1_R\.jpg"):
        prepare("jichi", raw=tmp_path, size=SIZE)
    with pytest.raises(PrepareError, match=r"empty or null Davis_grading_of_one_figure: 3_1_R\.jpg"):
        prepare("jichi", raw=tmp_path, size=SIZE, unknown_codes="drop")
    ds = prepare("jichi", raw=tmp_path, size=SIZE, unknown_codes="drop", missing_labels="exclude")
    assert len(ds) == 1
    report = ds.card["label_mapping"]["Davis_grading_of_one_figure"]
    assert (report["records_seen"], report["records_kept"]) == (3, 1)
    assert report["unknown"] == {"policy": "drop", "records": 1, "values": {"npdr": 1}, "examples": ["2_1_R.jpg"]}
    assert report["missing"] == {"policy": "exclude", "records": 1, "examples": ["3_1_R.jpg"]}


# ---------------------------------------------------------------- VinDr-Mammo


def test_vindr_mammo_official_split_and_birads(tmp_path):
    rows = []
    for s, (study, split, birads) in enumerate([("st1", "training", "BI-RADS 1"), ("st2", "training", "BI-RADS 4"),
                                                ("st3", "training", "BI-RADS 2"), ("st4", "test", "BI-RADS 5"),
                                                ("st5", "training", "BI-RADS 3"), ("st6", "test", "BI-RADS 1")]):
        for v, (lat, view) in enumerate([("L", "CC"), ("R", "MLO")]):
            image = f"img{s}{v}"
            write_dicom(tmp_path / "images" / study / f"{image}.dicom", np.full((8, 6), 100 * (s + 1), np.uint16))
            rows.append({"study_id": study, "series_id": f"se{s}", "image_id": image, "laterality": lat,
                         "view_position": view, "height": 8, "width": 6, "breast_birads": birads,
                         "breast_density": "DENSITY B", "split": split})
    pd.DataFrame(rows).to_csv(tmp_path / "breast-level_annotations.csv", index=False)
    got = samples(prepare("vindr_mammo", raw=tmp_path, size=SIZE))
    assert int(got["st2/img10"][2]) == 3 and int(got["st4/img31"][2]) == 4
    assert {k.split("/")[0] for k, v in got.items() if v[0] == "test"} == {"st4", "st6"}
    assert {v[0] for k, v in got.items() if k.startswith(("st1", "st2", "st3", "st5"))} <= {"train", "val"}
    assert_grouped(got)
    rows[0]["breast_birads"] = "BI-RADS 0"
    pd.DataFrame(rows).to_csv(tmp_path / "breast-level_annotations.csv", index=False)
    with pytest.raises(PrepareError, match=r"1 record\(s\) with breast_birads value\(s\) outside the label table: "
                                           r"'BI-RADS 0' \(1: st1/img00\)"):
        prepare("vindr_mammo", raw=tmp_path, size=SIZE)
    ds = prepare("vindr_mammo", raw=tmp_path, size=SIZE, unknown_codes="drop")
    assert "st1/img00" not in samples(ds) and len(ds) == len(rows) - 1
    assert ds.card["label_mapping"]["breast_birads"]["unknown"]["values"] == {"BI-RADS 0": 1}


# ---------------------------------------------------------------- RSPECT


def write_rspect(raw: Path, studies: dict[str, dict]) -> None:
    rows = []
    for s, (study, flags) in enumerate(studies.items()):
        for k, pe in enumerate(flags["pe"]):
            sop = f"{study}-sop{k}"
            write_dicom(raw / "train" / study / f"{study}-ser" / f"{sop}.dcm", np.full((8, 8), 1000 + 100 * k, np.uint16),
                        intercept=-1024.0, modality="CT")
            rows.append({"StudyInstanceUID": study, "SeriesInstanceUID": f"{study}-ser", "SOPInstanceUID": sop,
                         "pe_present_on_image": pe, "negative_exam_for_pe": int(not any(flags["pe"])), "qa_motion": 0,
                         "qa_contrast": 0, "flow_artifact": 0, "rv_lv_ratio_gte_1": 0, "rv_lv_ratio_lt_1": 0,
                         "leftsided_pe": 0, "chronic_pe": flags.get("chronic", 0), "true_filling_defect_not_pe": 0,
                         "rightsided_pe": 0, "acute_and_chronic_pe": flags.get("both", 0), "central_pe": 0,
                         "indeterminate": flags.get("indeterminate", 0)})
    pd.DataFrame(rows).to_csv(raw / "train.csv", index=False)


def test_rspect_slice_labels_grouped_by_study(tmp_path):
    write_rspect(tmp_path, {"s1": {"pe": [0, 1, 1]}, "s2": {"pe": [0, 1], "chronic": 1}, "s3": {"pe": [0, 0]},
                            "s4": {"pe": [1, 0], "both": 1}, "s5": {"pe": [0, 0]}, "s6": {"pe": [0, 0], "indeterminate": 1}})
    with pytest.raises(PrepareError, match=r"2 record\(s\) from an indeterminate study: s6-sop0 \(study s6\), s6-sop1 "
                                           r"\(study s6\) \(pass indeterminate=drop to leave them out"):
        prepare("rspect", raw=tmp_path, size=SIZE)
    ds = prepare("rspect", raw=tmp_path, size=SIZE, indeterminate="drop")
    got = samples(ds, "image")
    assert {k: int(v[2]) for k, v in got.items()} == {
        "s1-sop0": 0, "s1-sop1": 2, "s1-sop2": 2, "s2-sop0": 0, "s2-sop1": 1, "s3-sop0": 0, "s3-sop1": 0,
        "s4-sop0": 2, "s4-sop1": 0, "s5-sop0": 0, "s5-sop1": 0}
    report = ds.card["label_mapping"]["slice class"]
    assert report["excluded_by_table"] == {"from an indeterminate study": 2}
    assert (report["records_seen"], report["records_kept"]) == (13, 11)
    assert_grouped(got)
    # HU = 1000 + 100k - 1024; window 400/1000 -> [-100, 900]: slice 0 (-24 HU) and slice 1 (76 HU) differ
    assert got["s1-sop0"][3].max() < got["s1-sop1"][3].max()


# ---------------------------------------------------------------- Cholec80


def write_cholec(raw: Path, number: int, frames: int, phases: list[str], tools: dict[int, list[int]]) -> None:
    write_video(raw / "videos" / f"video{number:02d}.mp4", frames=frames, size=16)
    (raw / "phase_annotations").mkdir(exist_ok=True)
    (raw / "tool_annotations").mkdir(exist_ok=True)
    (raw / "phase_annotations" / f"video{number:02d}-phase.txt").write_text(
        "Frame\tPhase\n" + "".join(f"{i}\t{p}\n" for i, p in enumerate(phases)))
    header = "Frame\tGrasper\tBipolar\tHook\tScissors\tClipper\tIrrigator\tSpecimenBag\n"
    (raw / "tool_annotations" / f"video{number:02d}-tool.txt").write_text(
        header + "".join(f"{f}\t" + "\t".join(map(str, t)) + "\n" for f, t in sorted(tools.items())))


def test_cholec80_clip_labels_and_split(tmp_path):
    phases = ["Preparation"] * 4 + ["CalotTriangleDissection"] * 3 + ["ClippingCutting"] * 3
    write_cholec(tmp_path, 1, 10, phases, {0: [1, 0, 0, 0, 0, 0, 0], 5: [0, 0, 1, 0, 0, 0, 1]})
    write_cholec(tmp_path, 41, 10, ["GallbladderPackaging"] * 10, {0: [0] * 7, 5: [0, 1, 0, 0, 0, 0, 0]})
    ds = prepare("cholec80", raw=tmp_path, clips=2, frames=3, size=16)
    got = samples(ds, "video")
    names = ds.label_names
    on = {k: {names[i] for i in np.flatnonzero(v[2])} for k, v in got.items()}
    assert on == {"video01-000": {"Preparation", "CalotTriangleDissection", "Grasper"},
                  "video01-001": {"CalotTriangleDissection", "ClippingCutting", "Hook", "SpecimenBag"},
                  "video41-000": {"GallbladderPackaging"}, "video41-001": {"GallbladderPackaging", "Bipolar"}}
    assert {k: v[0] for k, v in got.items()} == {"video01-000": "train", "video01-001": "train",
                                                 "video41-000": "test", "video41-001": "test"}
    assert got["video01-000"][3].shape == (3, 3, 16, 16)
    # frames 0, 2, 4 of a clip whose grey level rises with t (write_video: 20 + 25 t)
    levels = got["video01-000"][3].reshape(3, -1).mean(1)
    assert levels[0] < levels[1] < levels[2]


def test_cholec80_unknown_phase(tmp_path):
    write_cholec(tmp_path, 2, 6, ["Preparation"] * 5 + ["Suturing"], {0: [0] * 7})
    with pytest.raises(PrepareError, match=r"video02-phase.txt: 1 frame\(s\) with unknown phase\(s\) \['Suturing'\]"):
        prepare("cholec80", raw=tmp_path, clips=2, frames=2, size=16)


# ---------------------------------------------------------------- PPI (PyG / DGL layout)


def write_ppi(raw: Path) -> dict[str, tuple]:
    root = raw / "ppi"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    spec = {"train": ([0, 0, 0, 1, 1], [(0, 1), (1, 2), (3, 4)]), "valid": ([5, 5], [(0, 1)]), "test": ([7, 7, 7], [])}
    for name, (graph_id, links) in spec.items():
        n = len(graph_id)
        np.save(root / f"{name}_feats.npy", rng.normal(size=(n, 50)))
        np.save(root / f"{name}_labels.npy", rng.integers(0, 2, (n, 121)))
        np.save(root / f"{name}_graph_id.npy", np.array(graph_id))
        graph = {"directed": False, "multigraph": False, "graph": {}, "nodes": [{"id": i} for i in range(n)],
                 "links": [{"source": a, "target": b} for a, b in links]}
        (root / f"{name}_graph.json").write_text(json.dumps(graph))
    return spec


def test_ppi_ego_networks_and_official_split(tmp_path):
    write_ppi(tmp_path)
    ds = prepare("ppi", raw=tmp_path)
    got = samples(ds, "node_features")
    assert len(got) == 10 and ds.card["task"] == "multilabel"
    labels = np.load(tmp_path / "ppi" / "train_labels.npy")
    feats = np.load(tmp_path / "ppi" / "train_feats.npy").astype(np.float32)
    np.testing.assert_array_equal(got["train/1"][2], labels[1])
    np.testing.assert_array_equal(got["train/1"][3], feats[[1, 0, 2]])  # node 1 first, then its neighbours
    assert got["train/3"][1] == "train-graph1" and got["valid/0"][0] == "val" and got["test/2"][0] == "test"
    assert got["test/0"][3].shape == (1, 50)  # an isolated protein: its ego network is itself
    edges = {s: ds.field(s, "edge_index") for s in ds.splits}
    ids = ds.field("train", "sample_id")
    e = edges["train"][[ids[i] for i in range(len(ids))].index("train/1")]
    assert sorted(map(tuple, e.T.tolist())) == [(0, 1), (0, 2), (1, 0), (2, 0)]
    np.save(tmp_path / "ppi" / "test_labels.npy", np.array([{"pickled": 1}] * 3, dtype=object))
    with pytest.raises(PrepareError, match=r"test_labels\.npy: not a plain numeric \.npy array"):
        prepare("ppi", raw=tmp_path, force=True)


# ---------------------------------------------------------------- BioMed-VITAL


def test_vital_instruction_records(tmp_path):
    records = [
        {"id": "a1", "image": "28104940_F2.jpg", "fig_caption": "CT", "conversations": [
            {"from": "human", "value": "<image>\nWhat modality?"}, {"from": "gpt", "value": "CT."},
            {"from": "human", "value": "Findings?"}, {"from": "gpt", "value": "A collection."}]},
        {"id": "a2", "image": "28104940_F3.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "A histology slide."}]},
        {"id": "a1", "image": "PMC555_f1.jpg", "conversations": [
            {"from": "human", "value": "<image>\nDescribe."}, {"from": "gpt", "value": "An X-ray."}]},
    ]
    (tmp_path / "BioMed-VITAL-instructions-210K.json").write_text(json.dumps(records))
    ds = prepare("vital", raw=tmp_path)
    got = samples(ds, "response")
    assert set(got) == {"0000000-a1", "0000001-a2", "0000002-a1"}
    assert got["0000000-a1"][1] == got["0000001-a2"][1] == "28104940"  # one article, one split
    assert got["0000001-a2"][3] == "A histology slide."
    conv = ds.field(got["0000000-a1"][0], "conversation")
    assert any(json.loads(conv[i])[3]["value"] == "A collection." for i in range(len(conv)))
    records[1]["conversations"][1]["from"] = "human"
    (tmp_path / "BioMed-VITAL-instructions-210K.json").write_text(json.dumps(records))
    with pytest.raises(PrepareError, match=r"record 'a2': turn 1 is not a 'gpt' turn"):
        prepare("vital", raw=tmp_path)


# ---------------------------------------------------------------- BrainGB connectomes: PPMI, ABCD


def test_ppmi_mat_views_and_labels(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    cells = np.empty((4, 1), dtype=object)
    for i in range(4):
        cells[i, 0] = rng.random((6, 6, 3))
    savemat(tmp_path / "PPMI.mat", {"X": cells, "label": np.array([[1], [-1], [1], [1]])})
    ds = prepare("ppmi", raw=tmp_path, view=2, top_k=2)
    got = samples(ds, "node_features")
    assert {k: int(v[2]) for k, v in got.items()} == {"0000": 1, "0001": 0, "0002": 1, "0003": 1}
    np.testing.assert_allclose(got["0001"][3], cells[1, 0][:, :, 2], rtol=1e-6)
    savemat(tmp_path / "PPMI.mat", {"X": cells, "label": np.array([[1], [0], [1], [1]])})
    with pytest.raises(PrepareError, match=r"PPMI\.mat: 1 record\(s\) with label value\(s\) outside the label table: "
                                           r"'0' \(1: label\[1\]\); known: -1, 1"):
        prepare("ppmi", raw=tmp_path, force=True)


def write_abcd(raw: Path, ids: list[str], sex: dict[str, str], nan_row: int | None = None) -> np.ndarray:
    data = np.random.default_rng(2).random((len(ids), 5, 5))
    if nan_row is not None:
        data[nan_row, 0, 0] = np.nan
    np.save(raw / "abcd_rest-pearson-HCP2016.npy", data)
    (raw / "ids_HCP2016.txt").write_text("".join(f"{i}\n" for i in ids))
    pd.DataFrame({"id": list(sex), "sex": list(sex.values())}).to_csv(raw / "id2sex.txt", index=False)
    return data


def test_abcd_sex_target_and_policies(tmp_path):
    ids = ["NDAR_A", "NDAR_B", "NDAR_C", "NDAR_D"]
    data = write_abcd(tmp_path, ids, {"NDAR_A": "M", "NDAR_B": "F", "NDAR_D": "F"}, nan_row=3)
    with pytest.raises(PrepareError, match=r"id2sex\.txt: 1 record\(s\) with an empty or null sex "
                                           r"\(a row of id2sex\.txt\): NDAR_C \(missing_labels=exclude"):
        prepare("abcd", raw=tmp_path)
    with pytest.raises(PrepareError, match=r"1 record\(s\) with NaN or inf in their matrix "
                                           r"\(abcd_rest-pearson-HCP2016\.npy\): NDAR_D \(pass invalid_matrices=drop"):
        prepare("abcd", raw=tmp_path, missing_labels="exclude")
    ds = prepare("abcd", raw=tmp_path, missing_labels="exclude", invalid_matrices="drop")
    got = samples(ds, "node_features")
    assert {k: int(v[2]) for k, v in got.items()} == {"NDAR_A": 0, "NDAR_B": 1}
    np.testing.assert_allclose(got["NDAR_B"][3], data[1], rtol=1e-6)
    report = ds.card["label_mapping"]["sex (a row of id2sex.txt)"]
    assert report["excluded_by_table"] == {"with NaN or inf in their matrix (abcd_rest-pearson-HCP2016.npy)": 1}
    assert report["missing"]["examples"] == ["NDAR_C"] and report["records_kept"] == 2
    np.save(tmp_path / "abcd_rest-pearson-HCP2016.npy", np.array([None] * 4, dtype=object))
    with pytest.raises(PrepareError, match="pickled object arrays are refused"):
        prepare("abcd", raw=tmp_path, missing_labels="exclude", invalid_matrices="drop", force=True)


# ---------------------------------------------------------------- IIIC (HMS release)

HMS_CHANNELS = ["Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "F8", "T4",
                "T6", "O2", "EKG"]


def test_iiic_hms_windows_votes_and_nan(tmp_path):
    (tmp_path / "train_eegs").mkdir()
    for eeg_id, seconds in ((1001, 60), (1002, 50)):
        t = np.arange(seconds * 200, dtype=np.float32)
        pd.DataFrame({c: t + 1000 * k for k, c in enumerate(HMS_CHANNELS)}).to_parquet(
            tmp_path / "train_eegs" / f"{eeg_id}.parquet")
    rows = [(1001, 0, 1, 11, "Seizure", [3, 0, 0, 0, 0, 1]), (1001, 10, 2, 11, "GRDA", [0, 0, 0, 1, 2, 0]),
            (1002, 0, 3, 12, "Other", [0, 0, 0, 0, 0, 5])]
    pd.DataFrame([{"eeg_id": e, "eeg_sub_id": k, "eeg_label_offset_seconds": off, "spectrogram_id": 9,
                   "spectrogram_sub_id": k, "spectrogram_label_offset_seconds": off, "label_id": lid,
                   "patient_id": pid, "expert_consensus": cons, **dict(zip(
                       ["seizure_vote", "lpd_vote", "gpd_vote", "lrda_vote", "grda_vote", "other_vote"], votes))}
                  for k, (e, off, lid, pid, cons, votes) in enumerate(rows)]).to_csv(tmp_path / "train.csv", index=False)
    ds = prepare("iiic_hms", raw=tmp_path)
    got = samples(ds, "eeg")
    assert {k: int(v[2]) for k, v in got.items()} == {"1": 0, "2": 4, "3": 5}
    first = got["1"][3]  # central 10 s of the 50 s subsample at offset 0: samples 4000..5999
    assert first.shape == (19, 2000) and first[0, 0] == 4000 and first[1, 0] == 5000  # F3 = t + 1000
    assert got["2"][3][0, 0] == (10 + 20) * 200
    assert got["1"][1] == got["2"][1] == "11"
    df = pd.read_csv(tmp_path / "train.csv")
    df.loc[0, "expert_consensus"] = "LPD"
    df.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(PrepareError, match="expert_consensus is not a most-voted class"):
        prepare("iiic_hms", raw=tmp_path)
    df.loc[0, "expert_consensus"] = "Spike"
    df.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(PrepareError, match=r"train\.csv: 1 record\(s\) with expert_consensus value\(s\) outside the "
                                           r"label table: 'Spike' \(1: label_id 1\)"):
        prepare("iiic_hms", raw=tmp_path)
    df.loc[0, "expert_consensus"] = "Seizure"
    df.to_csv(tmp_path / "train.csv", index=False)
    eeg = pd.read_parquet(tmp_path / "train_eegs" / "1002.parquet")
    eeg.loc[5000, "Fp1"] = np.nan  # inside label 3's central 10 s (samples 4000..5999)
    eeg.to_parquet(tmp_path / "train_eegs" / "1002.parquet")
    with pytest.raises(PrepareError, match=r"label_id 3: NaN in the EEG window; pass nan=zero"):
        prepare("iiic_hms", raw=tmp_path, force=True)
    ds = prepare("iiic_hms", raw=tmp_path, nan="zero")
    assert ds.card["fields"]["eeg"]["samples_with_nan_set_to_0"] == 1
    assert samples(ds, "eeg")["3"][3][0, 1000] == 0.0


# ---------------------------------------------------------------- GEO DataSet (GDS SOFT)

GDS = """^DATABASE = Geo
!Database_name = Gene Expression Omnibus (GEO)
^DATASET = GDS9999
!dataset_title = Test dataset
^SUBSET = GDS9999_1
!subset_dataset_id = GDS9999
!subset_description = control
!subset_sample_id = GSM1,GSM2
!subset_type = disease state
^SUBSET = GDS9999_2
!subset_dataset_id = GDS9999
!subset_description = asthma
!subset_sample_id = GSM3,GSM4
!subset_type = disease state
^SUBSET = GDS9999_3
!subset_dataset_id = GDS9999
!subset_description = female
!subset_sample_id = GSM1,GSM3
!subset_type = gender
^DATASET = GDS9999
#ID_REF = Platform reference identifier
!dataset_table_begin
ID_REF\tIDENTIFIER\tGSM1\tGSM2\tGSM3\tGSM4\tGSM5
1007_s_at\tDDR1\t7.1\t7.3\t8.0\tnull\t6.0
1053_at\tRFC2\t5.0\t5.5\t4.9\t5.1\t5.2
!dataset_table_end
"""


def test_geo_gds_subsets_as_labels(tmp_path):
    folder = tmp_path / "GDS9nnn" / "GDS9999" / "soft"
    folder.mkdir(parents=True)
    (folder / "GDS9999_full.soft.gz").write_bytes(gzip.compress(GDS.encode()))
    with pytest.raises(PrepareError, match=r"choose subset_type=... among \['disease state', 'gender'\]"):
        prepare("geo", raw=tmp_path, dataset="GDS9999")
    with pytest.raises(PrepareError, match=r"1 record\(s\) with an empty or null 'disease state' subset: GSM5 "
                                           r"\(missing_labels=exclude"):
        prepare("geo", raw=tmp_path, dataset="GDS9999", subset_type="disease state")
    ds = prepare("geo", raw=tmp_path, dataset="GDS9999", subset_type="disease state", missing_labels="exclude")
    assert ds.card["label_mapping"]["'disease state' subset"]["missing"]["examples"] == ["GSM5"]
    assert ds.card["task"] == "multiclass" and ds.card["label_names"] == ["asthma", "control"]
    got = samples(ds, "tabular")
    assert {k: int(v[2]) for k, v in got.items()} == {"GSM1": 1, "GSM2": 1, "GSM3": 0, "GSM4": 0}
    assert np.isnan(got["GSM4"][3][0]) and got["GSM3"][3][0] == pytest.approx(8.0)
    assert ds.card["fields"]["tabular"]["feature_names"] == ["1007_s_at|DDR1", "1053_at|RFC2"]


# ---------------------------------------------------------------- Expression Atlas

SDRF = [  # as in the real E-MTAB-6798 condensed SDRF (bigbio/hvantk test data): no header, 6-7 columns
    ("ERR1", "characteristic", "individual", "mouse 1"), ("ERR1", "factor", "organism part", "brain"),
    ("ERR2", "characteristic", "individual", "mouse 1"), ("ERR2", "factor", "organism part", "liver"),
    ("ERR3", "characteristic", "individual", "mouse 2"), ("ERR3", "factor", "organism part", "brain"),
    ("ERR3", "characteristic", "organism part", "cortex"),
    ("ERR4", "characteristic", "individual", "mouse 3"), ("ERR4", "factor", "organism part", "heart"),
    ("ERR5", "characteristic", "individual", "mouse 4"),
]


def test_expression_atlas_factor_labels(tmp_path):
    folder = tmp_path / "E-MTAB-0001"
    folder.mkdir()
    (folder / "E-MTAB-0001.condensed-sdrf.tsv").write_text("".join(
        f"E-MTAB-0001\t\t{a}\t{c}\t{attr}\t{v}\thttp://purl.obolibrary.org/obo/X\n" for a, c, attr, v in SDRF))
    (folder / "E-MTAB-0001-raw-counts.tsv").write_text(
        "Gene ID\tGene Name\tERR1\tERR2\tERR3\tERR4\tERR5\n"
        "ENSMUSG01\tGnai3\t16\t7\t64\t2\t1\nENSMUSG03\tPbsn\t0\t0\t0\t5\t1\n")
    with pytest.raises(PrepareError, match=r"1 record\(s\) with an empty or null 'organism part' value: ERR5"):
        prepare("expression_atlas", raw=tmp_path, experiment="E-MTAB-0001", factor="organism part")
    ds = prepare("expression_atlas", raw=tmp_path, experiment="E-MTAB-0001", factor="organism part",
                 missing_labels="exclude")
    assert ds.card["label_mapping"]["'organism part' value"]["missing"]["examples"] == ["ERR5"]
    assert ds.card["label_names"] == ["brain", "heart", "liver"]
    got = samples(ds, "tabular")
    assert {k: int(v[2]) for k, v in got.items()} == {"ERR1": 0, "ERR2": 2, "ERR3": 0, "ERR4": 1}  # factor wins
    assert got["ERR1"][1] == got["ERR2"][1] == "mouse 1"
    np.testing.assert_array_equal(got["ERR3"][3], [64, 0])
    assert ds.card["fields"]["tabular"]["feature_names"] == ["ENSMUSG01|Gnai3", "ENSMUSG03|Pbsn"]
    with pytest.raises(PrepareError, match=r"choose factor=... among the factors \['organism part'\]"):
        prepare("expression_atlas", raw=tmp_path, experiment="E-MTAB-0001", factor="tissue")
