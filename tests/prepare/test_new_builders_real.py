"""The new builders on the real extracts in ../shared/data/real_samples (hemorrhage, brain_mri, hugadb, bcss,
mimic_iv): labels, ids and counts checked against the real tables; media the extract lacks are written as
placeholders for exactly the ids the real table lists."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from climb.prepare import PrepareError, prepare
from sample_checks import assert_grouped, samples
from climb.prepare.builders.hugadb import ACTIVITIES as HUGADB_ACTIVITIES
from climb.prepare.builders.images_2d import read_picture, square

SIZE = 16


@pytest.fixture
def real(shared_data):
    root = shared_data / "real_samples"
    if not root.is_dir():
        pytest.skip("real_samples not present in the shared data")
    return root


def copy_sample(real: Path, name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(real / name, dest)
    return dest


# ---------------------------------------------------------------- Kaggle head_ct (hemorrhage_head_ct)


def test_head_ct_real_labels_and_images(real, tmp_path):
    raw = copy_sample(real, "hemorrhage", tmp_path)
    table = pd.read_csv(raw / "labels.csv", skipinitialspace=True)  # the real header is "id, hemorrhage"
    real_images = {p.stem for p in (raw / "head_ct" / "head_ct").glob("*.png")}
    for i in table["id"]:
        path = raw / "head_ct" / "head_ct" / f"{int(i):03d}.png"
        if not path.exists():
            Image.new("RGB", (30, 20), (int(i), 0, 0)).save(path)
    ds = prepare("hemorrhage_head_ct", raw=raw, size=SIZE)
    got = samples(ds, "image")
    assert set(got) == {f"{int(i):03d}" for i in table["id"]}
    expected = dict(zip((f"{int(i):03d}" for i in table["id"]), table["hemorrhage"]))
    assert {sid: int(v[2]) for sid, v in got.items()} == expected
    counts = {n: sum(s["class_counts"][n] for s in ds.card["splits"].values()) for n in ds.label_names}
    assert counts == {"no hemorrhage": int((table["hemorrhage"] == 0).sum()), "hemorrhage": int(table["hemorrhage"].sum())}
    assert {sid for sid in real_images} == {"000", "001", "002", "003", "004", "100", "101", "102", "103", "104"}
    for sid in sorted(real_images):  # the real PNGs: label from the table, pixels from the file
        assert int(got[sid][2]) == (1 if sid < "100" else 0)
        source = read_picture(raw / "head_ct" / "head_ct" / f"{sid}.png")
        np.testing.assert_array_equal(got[sid][3], square(source, SIZE, 1))
    assert_grouped(got)


def test_head_ct_names_the_missing_image(real, tmp_path):
    raw = copy_sample(real, "hemorrhage", tmp_path)  # 190 of the 200 listed PNGs are absent
    with pytest.raises(PrepareError, match=r"labels\.csv: row \d+: image head_ct/head_ct/\d{3}\.png not found"):
        prepare("hemorrhage_head_ct", raw=raw, size=SIZE)


# ---------------------------------------------------------------- brain_mri (Kaggle navoneel)


def test_brain_mri_real_folders(real, tmp_path):
    raw = copy_sample(real, "brain_mri", tmp_path)
    files = {f"{c}/{p.name}": int(c == "yes") for c in ("yes", "no") for p in (raw / c).iterdir()}
    ds = prepare("brain_mri", raw=raw, size=SIZE)
    got = samples(ds, "image")
    assert {sid: int(v[2]) for sid, v in got.items()} == files
    assert {"no/no 1.jpg", "no/1 no.jpeg", "yes/Y100.JPG", "no/no 9.png"} <= set(got)  # spaces, case, extensions
    # no/no.jpg is a PNG (RGBA) despite its name: read by content
    np.testing.assert_array_equal(got["no/no.jpg"][3], square(read_picture(raw / "no" / "no.jpg"), SIZE, 3))
    assert ds.card["fields"]["label"]["excluded"] == {}
    assert_grouped(got)


def test_brain_mri_second_archive_copy_is_read_once(real, tmp_path):
    raw = copy_sample(real, "brain_mri", tmp_path)
    for c in ("yes", "no"):
        shutil.copytree(raw / c, raw / "brain_tumor_dataset" / c)
    ds = prepare("brain_mri", raw=raw, size=SIZE)
    assert len(ds) == 14
    assert list(ds.card["fields"]["label"]["excluded"].values()) == [14]
    (raw / "brain_tumor_dataset" / "yes" / "Y1.jpg").unlink()
    with pytest.raises(PrepareError, match="second copy of yes/ and no/ that differs"):
        prepare("brain_mri", raw=raw, size=SIZE)


# ---------------------------------------------------------------- HuGaDB


def expected_hugadb_windows(path: Path, window: int) -> tuple[dict[int, int], int]:
    """Windows per activity id and left-over rows, computed from the raw numbers (README: np.genfromtxt)."""
    act = np.genfromtxt(path, delimiter="\t", skip_header=4)[:, -1].astype(int)
    counts: dict[int, int] = {}
    leftover = 0
    start = 0
    for i in range(1, len(act) + 1):
        if i == len(act) or act[i] != act[start]:
            counts[act[start]] = counts.get(act[start], 0) + (i - start) // window
            leftover += (i - start) % window
            start = i
    return counts, leftover


def test_hugadb_real_recording(real):
    raw = real / "hugadb"
    path = raw / "HuGaDB_v2_various_01_00.txt"
    ds = prepare("hugadb", raw=raw)
    counts, leftover = expected_hugadb_windows(path, 64)
    got = samples(ds, "signal")
    assert {p for _, p, _ in [v[:3] for v in got.values()]} == {"01"}  # participant from the file name
    by_label = {name: int(sum(int(v[2]) == i for v in got.values())) for i, name in enumerate(ds.label_names)}
    assert by_label == {ds.label_names[a - 1]: n for a, n in counts.items()} | {
        n: 0 for i, n in enumerate(ds.label_names) if i + 1 not in counts}
    assert by_label["sitting down"] > 0 and by_label["standing up"] > 0  # short transitions survive the default window
    assert ds.card["fields"]["label"]["excluded"] == {
        "rows at the end of an activity run, shorter than one window": leftover}
    table = np.genfromtxt(path, delimiter="\t", skip_header=4)
    first = got[f"{path.stem}-0000000"]
    np.testing.assert_array_equal(first[3], table[:64, :38].T.astype(np.float32))
    assert ds.card["fields"]["signal"]["shape"] == [38, 64]


def test_hugadb_runs_shorter_than_a_window_are_counted_in_the_card(real):
    """At 100 rows a window is longer than the real file's 91-126-row sit/stand transitions."""
    path = real / "hugadb" / "HuGaDB_v2_various_01_00.txt"
    act = np.genfromtxt(path, delimiter="\t", skip_header=4)[:, -1].astype(int)
    edges = [0, *(np.flatnonzero(np.diff(act)) + 1).tolist(), len(act)]
    spans = list(zip(edges[:-1], edges[1:]))
    short: dict[str, int] = {}
    for a, b in spans:
        if b - a < 100:
            key = f"{HUGADB_ACTIVITIES[act[a] - 1]} run shorter than one window (no sample)"
            short[key] = short.get(key, 0) + 1
    assert short  # the real file has such runs at this window
    ds = prepare("hugadb", raw=real / "hugadb", window=100)
    report = ds.card["label_mapping"]["act"]
    assert report["excluded_by_table"] == short
    assert (report["records_seen"], report["records_kept"]) == (len(spans), len(spans) - sum(short.values()))


def test_hugadb_unknown_activity_is_an_error_or_counted(real, tmp_path):
    raw = tmp_path / "hugadb"
    raw.mkdir()
    lines = (real / "hugadb" / "HuGaDB_v2_various_01_00.txt").read_text().splitlines()
    lines[4] = "\t".join(lines[4].split("\t")[:-1] + ["13"])  # first data row: activity 13 does not exist
    lines[1] += " 13"
    (raw / "HuGaDB_v2_various_01_00.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(PrepareError, match=r"1 record\(s\) with act value\(s\) outside the label table: '13' "
                                           r"\(1: HuGaDB_v2_various_01_00\.txt rows 0\.\.0\); known: 1, 2, 3, .*, 12 "):
        prepare("hugadb", raw=raw)
    ds = prepare("hugadb", raw=raw, unknown_codes="drop")
    assert ds.card["label_mapping"]["act"]["unknown"]["values"] == {"13": 1}
    lines[1] = lines[1].removesuffix(" 13")
    (raw / "HuGaDB_v2_various_01_00.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(PrepareError, match=r"act value\(s\) \[13\] not listed in the #ActivityID header"):
        prepare("hugadb", raw=raw, force=True)


# ---------------------------------------------------------------- BCSS (real meta tables, placeholder masks)

# Each ROI's 8 x 8 mask, tiled 4 x 4: tumor | stroma / lymphocytic_infiltrate | half necrosis, half fat.
# The last ROI's bottom-right tile is 'blood' (6): dominated by a class outside the four.
TILE_LABELS = ["tumor", "stroma", "lymphocytic"]


def write_bcss_placeholders(raw: Path) -> pd.DataFrame:
    bounds = pd.read_csv(raw / "meta" / "roiBounds.csv", index_col=0)
    (raw / "masks").mkdir()
    (raw / "images").mkdir()
    for k, (roi, row) in enumerate(bounds.iterrows()):
        name = f"{roi}_xmin{int(row.xmin)}_ymin{int(row.ymin)}_MPP-0.2500.png"
        mask = np.zeros((8, 8), np.uint8)
        mask[:4, :4], mask[:4, 4:], mask[4:, :4] = 1, 2, 3
        mask[4:6, 4:], mask[6:, 4:] = 4, 9  # necrosis exactly half: kept at min_fraction 0.5
        if k == len(bounds) - 1:
            mask[4:, 4:] = 6
        Image.fromarray(mask).save(raw / "masks" / name)
        Image.fromarray(np.full((8, 8, 3), k, np.uint8)).save(raw / "images" / name)
    return bounds


def test_bcss_real_meta_tables(real, tmp_path):
    raw = copy_sample(real, "bcss", tmp_path)
    bounds = write_bcss_placeholders(raw)
    ds = prepare("bcss", raw=raw, patch=4, size=SIZE)
    got = samples(ds)
    cases = {str(r)[:12] for r in bounds.index}
    assert {v[1] for v in got.values()} == cases  # patient = TCGA case (12 characters of the ROI name)
    test_cases = {c for c in cases if c[5:7] in {"OL", "LL", "E2", "EW", "GM", "S3"}}
    assert {v[1] for v in got.values() if v[0] == "test"} == test_cases
    assert len(test_cases) == 45 and ds.card["splits"]["val"]["num_patients"] > 0
    n = len(bounds)
    totals = {name: sum(s["class_counts"][name] for s in ds.card["splits"].values()) for name in ds.label_names}
    assert totals == {"tumor": n, "stroma": n, "lymphocytic": n, "necrosis": n - 1}
    assert ds.card["label_mapping"]["dominant class"]["excluded_by_table"] == {"blood": 1}  # dominated by another
    assert_grouped(got)
    strict = prepare("bcss", raw=raw, patch=4, size=SIZE, min_fraction=0.6)  # the half-necrosis tiles drop out
    assert strict.card["label_mapping"]["dominant class"]["excluded_by_table"] == {
        "blood": 1, "tile where no class covers min_fraction": n - 1}
    assert sum(s["class_counts"]["necrosis"] for s in strict.card["splits"].values()) == 0


def test_bcss_rejects_unknown_codes_and_missing_rois(real, tmp_path):
    raw = copy_sample(real, "bcss", tmp_path)
    write_bcss_placeholders(raw)
    first = sorted((raw / "masks").iterdir())[0]
    Image.fromarray(np.full((8, 8), 30, np.uint8)).save(first)
    with pytest.raises(PrepareError, match=r"pixel code\(s\) \[30\] not in meta/gtruth_codes.tsv"):
        prepare("bcss", raw=raw, patch=4, size=SIZE)
    first.unlink()
    with pytest.raises(PrepareError, match=r"1 ROI\(s\) of meta/roiBounds.csv have no mask"):
        prepare("bcss", raw=raw, patch=4, size=SIZE)


# ---------------------------------------------------------------- MIMIC-IV: the official file list


def test_mimic_iv_reads_only_files_of_the_official_list(real):
    sums = real / "mimic_iv" / "mimic-iv-clinical-database-demo-2.2" / "SHA256SUMS.txt"
    listed = {line.split()[1] for line in sums.read_text().splitlines() if line.strip()}
    from climb.prepare.builders.mimic_iv import TABLES

    assert {rel for rel, _ in TABLES.values()} <= listed
