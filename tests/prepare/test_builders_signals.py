"""Builders for ECG challenge, sleep, TUH, CT volumes, ultrasound video and PROTEINS on tiny fixtures
written in each dataset's official layout and file format (see fixtures_signals.py)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from fixtures_signals import (BLUES_PCR, COVID_US_ROWS, ECHONET_ROWS, TUAB_FILES, TUEV_EVENTS, write_covid_blues,
                              write_covid_us, write_echonet, write_ecg_challenge, write_isruc, write_kits23,
                              write_lndb, write_proteins, write_shhs, write_tuab, write_tuev, write_video)

from climb.prepare import PrepareError, prepare
from climb.prepare.labels import ECG7
from climb.prepare.labels.ecg_snomed import ALL_CODES, SNOMED_ECG7, ecg7_names, ecg7_table, split_codes


def snomed_to_ecg7(dx: str) -> np.ndarray:
    """Expected multi-hot of a `#Dx:` line, from the explicit tables (Normal only when alone)."""
    table = ecg7_table()
    names = ecg7_names(table[c] for c in split_codes(dx))
    return np.array([float(n in names) for n in ECG7], dtype=np.float32)


def all_samples(ds, field):
    """{sample_id: (split, patient_id, label, value)} over every split."""
    out = {}
    for split in ds.splits:
        ids, pids = ds.field(split, "sample_id"), ds.field(split, "patient_id")
        labels, values = ds.field(split, "label"), ds.field(split, field)
        for i in range(len(ids)):
            out[ids[i]] = (split, pids[i], labels[i], values[i])
    return out


def assert_no_leakage(ds):
    seen = {}
    for split in ds.splits:
        pids = ds.field(split, "patient_id")
        for i in range(len(pids)):
            assert seen.setdefault(pids[i], split) == split, f"patient {pids[i]} in two splits"


# ---------------------------------------------------------------- ECG7 table


def test_snomed_table_is_explicit_and_multilabel():
    assert set(g for _, _, g in SNOMED_ECG7.values()) == set(ECG7)
    assert len(SNOMED_ECG7) == 133 and len(ALL_CODES) == 137  # challenge 2021 lists + ecg-arrhythmia extras
    v = snomed_to_ecg7("164889003,59118001")  # AF + RBBB
    assert v.tolist() == [0, 1, 0, 0, 0, 1, 0]
    assert snomed_to_ecg7("426783006").tolist() == [1, 0, 0, 0, 0, 0, 0]
    # sinus rhythm beside an abnormality is not "Normal"
    assert snomed_to_ecg7("426783006,164934002").tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert snomed_to_ecg7("164865005,164873001").tolist() == [0, 0, 1, 1, 0, 0, 0]  # MI + LVH
    assert "999999999" not in ecg7_table()  # unknown codes are not silently Other any more
    assert ecg7_table(abbreviations=True)["RBBB"] == "CD" and "RBBB" not in ecg7_table()


# ---------------------------------------------------------------- ECG challenge


ECG_DX = ["426783006", "164889003,59118001", "164934002", "164865005", "164873001,426783006",
          "270492004", "427084000", "426783006", "164890007", "429622005"]


@pytest.mark.parametrize("name, prefix", [("cpsc", "A"), ("georgia", "E"), ("chapman", "JS")])
def test_ecg_challenge_builders(tmp_path, name, prefix):
    raw = tmp_path / name
    names = write_ecg_challenge(raw, prefix, ECG_DX, seconds=2.0)
    write_ecg_challenge(raw / "other", "Q", ["426783006"])  # another source's records are ignored
    ds = prepare(name, raw=raw, seconds=4.0, rate=250)
    assert ds.card["catalog_id"] == name and ds.task.value == "multilabel"
    assert ds.card["fields"]["signal"]["shape"] == [12, 1000]
    assert ds.card["fields"]["signal"]["sampling_rate"] == 250
    assert ds.card["fields"]["signal"]["lead_names"][:3] == ["I", "II", "III"]
    samples = all_samples(ds, "signal")
    assert sorted(samples) == names
    for rec, dx in zip(names, ECG_DX):
        split, pid, label, sig = samples[rec]
        assert pid == rec
        np.testing.assert_array_equal(label, snomed_to_ecg7(dx))
        assert np.abs(sig[:, 500:]).max() == 0  # 2 s of signal zero-padded to 4 s
        assert np.abs(sig[:, :490]).max() > 0
    assert samples[names[1]][2].sum() == 2  # AF + RBBB stays multilabel
    assert set(ds.splits) <= {"train", "val", "test"} and "train" in ds.splits
    assert_no_leakage(ds)


def test_ecg_keeps_signal_values_and_metadata(tmp_path):
    from fixtures_signals import write_ecg_record

    raw = tmp_path / "cpsc"
    sig = write_ecg_record(raw / "g1", "A0001", "164889003", seconds=10.0)
    write_ecg_record(raw / "g1", "A0002", "426783006", seconds=12.0, age="NaN", sex="Female", seed=3)
    ds = prepare("cpsc", raw=raw)
    samples = all_samples(ds, "signal")
    np.testing.assert_allclose(samples["A0001"][3], sig.T, atol=1e-3)
    assert samples["A0002"][3].shape == (12, 5000)
    split = samples["A0002"][0]
    ids = [ds.field(split, "sample_id")[i] for i in range(len(ds.field(split, "sample_id")))]
    sex = ds.field(split, "sex")[ids.index("A0002")]
    assert sex == 0.0 and np.isnan(ds.field(split, "age")[ids.index("A0002")])


def test_ecg_reads_challenge_mat_files(tmp_path):
    from fixtures_signals import to_challenge_mat, write_ecg_record

    raw = tmp_path / "chapman"
    folder = raw / "WFDBRecords" / "01" / "010"
    sigs = {name: write_ecg_record(folder, name, "426177001", seconds=10.0, seed=k)
            for k, name in enumerate(["JS00001", "JS00002", "JS00004"])}
    for name in sigs:
        to_challenge_mat(folder, name)
    assert "JS00001.mat 16+24" in (folder / "JS00001.hea").read_text()
    ds = prepare("chapman", raw=raw)
    assert sorted(ds.card["source_checksums"]) == sorted(
        f"WFDBRecords/01/010/{n}.{ext}" for n in sigs for ext in ("hea", "mat"))
    samples = all_samples(ds, "signal")
    for name, sig in sigs.items():
        np.testing.assert_allclose(samples[name][3], sig.T, atol=1e-3)
        assert samples[name][2].tolist() == [0, 0, 0, 0, 0, 0, 1]  # sinus bradycardia -> Other
    assert ds.card["fields"]["signal"]["record_lines_with_file_suffix"] == 0


def test_ecg_bad_inputs_name_the_file(tmp_path):
    raw = tmp_path / "georgia"
    write_ecg_challenge(raw, "E", ECG_DX[:3])
    folder = raw / "training" / "src" / "g1"
    dat = folder / "E0002.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(PrepareError, match=r"E0002\.dat: unreadable or truncated"):
        prepare("georgia", raw=raw)
    write_ecg_challenge(raw, "E", ECG_DX[:3])
    hea = folder / "E0003.hea"
    hea.write_text("E0003 twelve 500 1000\n")
    with pytest.raises(PrepareError, match=r"E0003\.hea: malformed WFDB header"):
        prepare("georgia", raw=raw)
    write_ecg_challenge(raw, "E", ECG_DX[:3])
    text = hea.read_text().replace("# Dx: 164934002\n", "")
    hea.write_text(text)
    with pytest.raises(PrepareError, match=r"georgia: 1 record\(s\) with an empty or null Dx code: "
                                           r"training/src/g1/E0003\.hea"):
        prepare("georgia", raw=raw)


# ---------------------------------------------------------------- sleep


def test_shhs_epochs_stages_and_patients(tmp_path):
    raw = tmp_path / "shhs"
    write_shhs(raw, ["200001", "200002", "200003", "200004", "200005"], fs=250)
    ds = prepare("shhs", raw=raw)
    assert ds.card["fields"]["eeg"]["shape"] == [2, 3750]
    assert ds.card["fields"]["eeg"]["sampling_rate"] == 125
    assert ds.card["fields"]["eeg"]["channel_names"] == ["C3-A2", "C4-A1"]
    samples = all_samples(ds, "eeg")
    assert len(samples) == 5 * 6  # 8 epochs, movement and unscored dropped
    by_epoch = {sid.split("-")[-1]: lab for sid, (_, _, lab, _) in samples.items() if sid.startswith("shhs1-200001")}
    assert by_epoch == {"00000": 0, "00001": 0, "00002": 1, "00003": 2, "00004": 3, "00006": 4}  # N4 -> N3
    assert {pid for _, pid, _, _ in samples.values()} == {"200001", "200002", "200003", "200004", "200005"}
    assert_no_leakage(ds)
    assert sum(ds.card["splits"][s]["class_counts"]["N3"] for s in ds.splits) == 5


def test_shhs_missing_channel_and_short_edf(tmp_path):
    raw = tmp_path / "shhs"
    write_shhs(raw, ["200001"], c3_label="EMG")
    with pytest.raises(PrepareError, match=r"shhs1-200001\.edf: required channel C3-A2"):
        prepare("shhs", raw=raw)
    shutil.rmtree(raw)
    write_shhs(raw, ["200001"], seconds=120)  # annotations cover 240 s
    with pytest.raises(PrepareError, match=r"shhs1-200001-nsrr\.xml: stage events reach epoch"):
        prepare("shhs", raw=raw)
    edf = raw / "polysomnography" / "edfs" / "shhs1" / "shhs1-200001.edf"
    edf.write_bytes(edf.read_bytes()[:300])
    with pytest.raises(PrepareError, match=r"shhs1-200001\.edf: not a readable EDF file"):
        prepare("shhs", raw=raw)


def test_isruc_rec_files_and_scorer_labels(tmp_path):
    raw = tmp_path / "isruc"
    write_isruc(raw, [1, 2, 3, 4], extra_labels=2)
    ds = prepare("isruc", raw=raw)
    assert ds.card["fields"]["eeg"]["shape"] == [2, 3750]
    samples = all_samples(ds, "eeg")
    assert len(samples) == 4 * 6
    labels = [samples[f"subgroupI/1/1-{i:05d}"][2] for i in range(6)]
    assert labels == [0, 1, 2, 3, 4, 3]  # 5 = REM, old stage 4 -> N3
    assert samples["subgroupI/3/3-00000"][1] == "subgroupI/3"
    assert_no_leakage(ds)


def test_isruc_label_file_not_matching(tmp_path):
    raw = tmp_path / "isruc"
    write_isruc(raw, [1], extra_labels=40)
    with pytest.raises(PrepareError, match=r"1_1\.txt: 46 scored epochs do not match"):
        prepare("isruc", raw=raw)
    write_isruc(raw, [1])
    (raw / "subgroupI" / "1" / "1.rec").write_bytes(b"0" * 500)
    with pytest.raises(PrepareError, match=r"1\.rec: not a readable EDF file"):
        prepare("isruc", raw=raw)


# ---------------------------------------------------------------- TUH


def test_tuab_windows_montage_and_official_splits(tmp_path):
    raw = tmp_path / "tuab"
    write_tuab(raw, seconds=25)
    ds = prepare("tuab", raw=raw)
    assert ds.card["fields"]["eeg"]["shape"] == [16, 2000]
    assert ds.card["fields"]["eeg"]["channel_names"][0] == "FP1-F7"
    samples = all_samples(ds, "eeg")
    assert len(samples) == len(TUAB_FILES) * 2  # 25 s -> two 10 s windows
    for split, cls, subject in TUAB_FILES:
        got_split, pid, label, _ = samples[f"{subject}_s001_t000-0000"]
        assert pid == subject and label == (cls == "abnormal")
        assert (got_split == "test") == (split == "eval")
    assert_no_leakage(ds)
    ref = prepare("tuab", raw=raw, montage="referential", window_s=5.0)
    assert ref.card["fields"]["eeg"]["shape"] == [19, 1000]


def test_tuab_bipolar_is_difference_of_electrodes(tmp_path):
    from climb.prepare.builders.sleep import read_edf_channels
    from climb.prepare.builders.tuh import electrode_aliases, read_montage

    path = tmp_path / "x.edf"
    from fixtures_signals import write_tuh_edf

    write_tuh_edf(path, 4, fs=200)
    bip = read_montage(path, "bipolar", 200)
    ref = read_edf_channels(path, {e: electrode_aliases(e) for e in ("FP1", "F7")}, 200)
    np.testing.assert_allclose(bip[0], ref[0] - ref[1], atol=1e-4)


def test_tuab_missing_channel(tmp_path):
    from fixtures_signals import write_tuh_edf

    raw = tmp_path / "tuab"
    write_tuh_edf(raw / "edf" / "train" / "normal" / "01_tcp_ar" / "aaaaaaaa_s001_t000.edf", 12, drop="C3")
    with pytest.raises(PrepareError, match=r"aaaaaaaa_s001_t000\.edf: required channel C3"):
        prepare("tuab", raw=raw)


def test_tuev_events_classes_and_splits(tmp_path):
    raw = tmp_path / "tuev"
    write_tuev(raw)
    ds = prepare("tuev", raw=raw)
    assert ds.card["fields"]["eeg"]["shape"] == [16, 1000]
    samples = all_samples(ds, "eeg")
    assert len(samples) == sum(len(v) for v in TUEV_EVENTS.values())
    for (split, subject, n), lines in TUEV_EVENTS.items():
        for i, line in enumerate(lines):
            got_split, pid, label, eeg = samples[f"{subject}_{n:08d}-{i:05d}"]
            assert pid == subject and label == int(line.split(",")[-1]) - 1
            assert (got_split == "test") == (split == "eval")
            assert np.abs(eeg).max() > 0
    assert ds.label_names == ["SPSW", "GPED", "PLED", "EYEM", "ARTF", "BCKG"]
    assert_no_leakage(ds)


def test_tuev_bad_annotation(tmp_path):
    raw = tmp_path / "tuev"
    write_tuev(raw)
    rec = raw / "edf" / "train" / "aaaaaaas" / "aaaaaaas_00000001.rec"
    rec.write_text("1,2.0,3.0,9\n")
    with pytest.raises(PrepareError, match=r"aaaaaaas_00000001\.rec: line 1: bad event"):
        prepare("tuev", raw=raw)
    rec.write_text("1,20.0,21.0,2\n")  # after the 12 s recording
    with pytest.raises(PrepareError, match=r"aaaaaaas_00000001\.rec: event 1 ends at 21.0 s"):
        prepare("tuev", raw=raw)
    rec.unlink()
    with pytest.raises(PrepareError, match=r"aaaaaaas_00000001\.edf: no annotation file"):
        prepare("tuev", raw=raw)


# ---------------------------------------------------------------- CT volumes


def test_lndb_patches_classes_and_grouping(tmp_path):
    raw = tmp_path / "lndb"
    expected = write_lndb(raw, scans=[1, 2, 3, 4, 5, 6])
    ds = prepare("lndb", raw=raw, patch=(8, 8, 8))
    assert ds.card["fields"]["volume"]["shape"] == [1, 8, 8, 8]
    samples = all_samples(ds, "volume")
    assert len(samples) == len(expected)
    for (scan, cls), finding in zip(expected, [1, 2, 3] * 6):
        split, pid, label, vol = samples[f"LNDb-{scan:04d}-{finding}"]
        assert pid == f"LNDb-{scan:04d}" and label == cls
        assert vol.dtype == np.float32 and 0 <= vol.min() and vol.max() <= 1
    centre = samples["LNDb-0001-1"][3][0]
    assert centre[4, 4, 4] > centre[0, 0, 0]  # the blob (40 HU) is brighter than lung (-900 HU)
    assert_no_leakage(ds)


def test_lndb_truncated_raw_and_unmatched_csv(tmp_path):
    raw = tmp_path / "lndb"
    write_lndb(raw, scans=[1, 2])
    data = raw / "data0" / "LNDb-0002.raw"
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(PrepareError, match=r"LNDb-0002\.raw: 100 bytes"):
        prepare("lndb", raw=raw, patch=(8, 8, 8))
    write_lndb(raw, scans=[1, 2])
    (raw / "data0" / "LNDb-0002.mhd").unlink()
    with pytest.raises(PrepareError, match=r"trainNodules_gt\.csv: findings for scan\(s\) without"):
        prepare("lndb", raw=raw, patch=(8, 8, 8))


def test_kits23_volumes_and_labels(tmp_path):
    raw = tmp_path / "kits23"
    malignant = [True, False, True, True, False, True, True, False, True, True]
    write_kits23(raw, malignant)
    ds = prepare("kits23", raw=raw, shape=(8, 12, 12))
    assert ds.card["fields"]["volume"]["shape"] == [1, 8, 12, 12]
    samples = all_samples(ds, "volume")
    assert {k: int(v[2]) for k, v in samples.items()} == {f"case_{k:05d}": int(m) for k, m in enumerate(malignant)}
    assert ds.card["split_policy"].startswith("no official split")
    assert_no_leakage(ds)


def test_kits23_wrong_dimensions(tmp_path):
    import nibabel as nib

    raw = tmp_path / "kits23"
    write_kits23(raw, [True, False])
    bad = raw / "dataset" / "case_00001" / "imaging.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 8, 8, 2), np.int16), np.eye(4)), str(bad))
    with pytest.raises(PrepareError, match=r"case_00001/imaging\.nii\.gz: expected a 3D volume"):
        prepare("kits23", raw=raw)
    shutil.rmtree(raw / "dataset" / "case_00001")
    with pytest.raises(PrepareError, match=r"kits23\.json: case\(s\) without imaging"):
        prepare("kits23", raw=raw)


# ---------------------------------------------------------------- videos


def test_echonet_frames_ef_and_official_split(tmp_path):
    raw = tmp_path / "echonet"
    write_echonet(raw)
    ds = prepare("echonet_dynamic", raw=raw, frames=4, size=16)
    assert ds.card["fields"]["video"]["shape"] == [4, 3, 16, 16]
    assert ds.card["fields"]["video"]["dtype"] == "uint8"
    samples = all_samples(ds, "video")
    for name, ef, split in ECHONET_ROWS:
        got_split, pid, label, video = samples[name]
        assert got_split == split.lower() and pid == name and label == pytest.approx(ef)
    means = samples["0X1000"][3].reshape(4, -1).mean(1)
    # uniform sampling of 8 frames -> frames 0, 2, 5, 7 with grey levels 20 + 25 t
    np.testing.assert_allclose(means, [20, 70, 145, 195], atol=8)


def test_covid_blues_patient_grouping(tmp_path):
    raw = tmp_path / "blues"
    write_covid_blues(raw)
    ds = prepare("covid_blues", raw=raw, frames=3, size=16)
    samples = all_samples(ds, "video")
    assert len(samples) == sum(2 if p % 2 else 3 for p in BLUES_PCR)
    for sid, (_, pid, label, video) in samples.items():
        assert pid == sid.split("_")[1] and label == BLUES_PCR[int(pid)]
        assert video.shape == (3, 3, 16, 16)
    assert_no_leakage(ds)


def test_covid_us_classes(tmp_path):
    raw = tmp_path / "covid_us"
    write_covid_us(raw)
    ds = prepare("covid_us", raw=raw, frames=2, size=16)
    samples = all_samples(ds, "video")
    want = {"COVID": 0, "Pneumonia": 1, "Normal": 2}
    assert {k: int(v[2]) for k, v in samples.items()} == {vid: want[c] for vid, c, _ in COVID_US_ROWS}
    assert_no_leakage(ds)


def test_unreadable_video_and_unmatched_labels(tmp_path):
    raw = tmp_path / "echonet"
    write_echonet(raw)
    (raw / "Videos" / "0X1003.avi").write_bytes(b"not a video at all" * 10)
    with pytest.raises(PrepareError, match=r"0X1003\.avi: unreadable video"):
        prepare("echonet_dynamic", raw=raw, frames=4, size=16)
    raw2 = tmp_path / "blues"
    write_covid_blues(raw2)
    write_video(raw2 / "lus_videos" / "patient_99_L1.mp4", frames=3)
    with pytest.raises(PrepareError, match=r"clinical_variables\.csv: no row for patient 99"):
        prepare("covid_blues", raw=raw2, frames=3, size=16)


# ---------------------------------------------------------------- PROTEINS


def test_proteins_graphs(tmp_path):
    raw = tmp_path / "proteins"
    info = write_proteins(raw, graphs=20)
    ds = prepare("proteins", raw=raw)
    samples = {}
    for split in ds.splits:
        ids = ds.field(split, "sample_id")
        for i in range(len(ids)):
            samples[ids[i]] = (split, ds.field(split, "label")[i], ds.field(split, "node_features")[i],
                               ds.field(split, "edge_index")[i], ds.field(split, "edge_weight")[i])
    assert len(samples) == 20 and set(ds.splits) == {"train", "val", "test"}
    for g, (label, n, e) in enumerate(info, 1):
        _, got, x, ei, ew = samples[str(g)]
        assert got == label - 1
        assert x.shape == (n, 4) and ei.shape == (2, e) and ew.shape == (e,)
        assert ei.min() == 0 and ei.max() == n - 1
        np.testing.assert_array_equal(x[:, :3].sum(1), 1)  # one-hot node label
        assert x[0, 3] == 10 * (g - 1)  # the node attribute of the graph's first node
    assert_no_leakage(ds)


def test_proteins_mismatched_files(tmp_path):
    raw = tmp_path / "proteins"
    write_proteins(raw, graphs=4)
    labels = raw / "PROTEINS" / "PROTEINS_graph_labels.txt"
    labels.write_text("1\n2\n1\n")
    with pytest.raises(PrepareError, match=r"PROTEINS_graph_labels\.txt: 3 graph labels do not match"):
        prepare("proteins", raw=raw)
    write_proteins(raw, graphs=4)
    a = raw / "PROTEINS" / "PROTEINS_A.txt"
    a.write_text(a.read_text() + "1, 9999\n")
    with pytest.raises(PrepareError, match=r"PROTEINS_A\.txt: node ids outside"):
        prepare("proteins", raw=raw)


def test_all_builders_registered_with_catalog_ids():
    from climb.prepare import create_builder

    for name in ["chapman", "georgia", "cpsc", "shhs", "isruc", "tuab", "tuev", "lndb", "kits23",
                 "echonet_dynamic", "covid_blues", "covid_us", "proteins"]:
        assert create_builder(name).catalog_id == name
    assert os.environ.get("CLIMB_HOME")
