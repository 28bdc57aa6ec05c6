"""YAIB demo builders on the real parquet files in ../shared/data/yaib_demo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from unverified import build_unverified

from climb.prepare import PrepareError, prepare
from climb.prepare.raw_check import ChecksumMismatchError

SPLITS = ("train", "val", "test")


def _yaib(shared_data: Path) -> Path:
    root = shared_data / "yaib_demo"
    if not root.is_dir():
        pytest.skip("yaib_demo not present in ../shared/data")
    return root


def _all(ds, name: str) -> list:
    return [ds.field(s, name)[i] for s in ds.splits for i in range(ds.card["splits"][s]["num_samples"])]


@pytest.mark.parametrize("source, died, total", [("mimic", 21, 99), ("eicu", 70, 1367)])
def test_mortality24_counts_balance_and_series(shared_data, source, died, total):
    raw = _yaib(shared_data)
    ds = prepare(f"yaib_mortality24_{source}", raw=raw)
    outc = pd.read_parquet(raw / "demo_data" / "mortality24" / f"{source}_demo" / "outc.parquet")
    assert (len(outc), int(outc["label"].sum())) == (total, died)  # the README's numbers
    assert len(ds) == total
    counts = {k: sum(ds.card["splits"][s]["class_counts"][k] for s in SPLITS) for k in ("survived", "died")}
    assert counts == {"survived": total - died, "died": died}
    assert ds.card["fields"]["timeseries"]["shape"] == [25, 48]
    assert ds.card["fields"]["tabular"]["feature_names"] == ["age", "sex_male", "height", "weight"]
    dyn = pd.read_parquet(raw / "demo_data" / "mortality24" / f"{source}_demo" / "dyn.parquet")
    assert ds.card["fields"]["timeseries"]["feature_names"] == [c for c in dyn.columns if c not in ("stay_id", "time")]
    # one stored stay equals its raw hourly rows, NaN where not measured
    stay = ds.field("test", "sample_id")[0]
    rows = dyn[dyn["stay_id"] == int(stay)].sort_values("time").drop(columns=["stay_id", "time"])
    np.testing.assert_array_equal(ds.field("test", "timeseries")[0], rows.to_numpy(np.float32))
    labels = dict(zip(outc["stay_id"].astype(str), outc["label"]))
    assert all(labels[sid] == lab for sid, lab in zip(_all(ds, "sample_id"), _all(ds, "label")))
    splits_of = [set(ds.field(s, "patient_id")[i] for i in range(ds.card["splits"][s]["num_samples"])) for s in SPLITS]
    assert not (splits_of[0] & splits_of[1] or splits_of[0] & splits_of[2] or splits_of[1] & splits_of[2])


def test_aki_per_stay_label_and_cohort(shared_data):
    raw = _yaib(shared_data)
    ds = prepare("yaib_aki_mimic", raw=raw)
    outc = pd.read_parquet(raw / "demo_data" / "aki" / "mimic_demo" / "outc.parquet")
    outc["hour"] = outc["time"].dt.total_seconds() // 3600
    last = outc.groupby("stay_id")["hour"].max()
    kept = last[last >= 24].index
    expected = outc[outc["stay_id"].isin(kept) & (outc["hour"] < 24)].groupby("stay_id")["label"].any()
    got = dict(zip(map(int, _all(ds, "sample_id")), _all(ds, "label")))
    assert got == {int(k): int(v) for k, v in expected.items()}
    assert 0 < sum(got.values()) < len(got)
    # cohort rule: every kept stay has data in all 24 window hours (no padding reveals onset)
    series = np.stack(_all(ds, "timeseries"))
    assert series.shape[1:] == (24, 48)


def test_los_regression_label_and_sources_kept_apart(shared_data):
    raw = _yaib(shared_data)
    mimic = prepare("yaib_los_mimic", raw=raw)
    eicu = prepare("yaib_los_eicu", raw=raw)
    assert mimic.task.value == "regression" and mimic.card["catalog_id"] == "yaib_los"
    assert set(mimic.card["source_checksums"]).isdisjoint(eicu.card["source_checksums"])
    outc = pd.read_parquet(raw / "demo_data" / "los" / "mimic_demo" / "outc.parquet")
    at_23 = outc[outc["time"] == pd.Timedelta(hours=23)].set_index("stay_id")["label"]
    got = dict(zip(map(int, _all(mimic, "sample_id")), _all(mimic, "label")))
    assert got == {int(k): float(at_23[int(k)]) for k in got}
    assert len(got) == int((outc.groupby("stay_id")["time"].max() >= pd.Timedelta(hours=24)).sum())


def _copy_task(raw: Path, tmp_path: Path, task: str = "mortality24") -> Path:
    dst = tmp_path / "raw" / "demo_data" / task / "mimic_demo"
    shutil.copytree(raw / "demo_data" / task / "mimic_demo", dst)
    return tmp_path / "raw"


def test_truncated_parquet_names_the_file(shared_data, tmp_path):
    raw = _copy_task(_yaib(shared_data), tmp_path)
    dyn = raw / "demo_data" / "mortality24" / "mimic_demo" / "dyn.parquet"
    data = dyn.read_bytes()
    dyn.chmod(0o644)
    dyn.write_bytes(data[: len(data) // 2])
    with pytest.raises(ChecksumMismatchError, match=r"dyn\.parquet: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("yaib_mortality24_mimic", raw=raw)
    with pytest.raises(PrepareError, match=r"dyn\.parquet: not a readable parquet file"):
        build_unverified("yaib_mortality24_mimic", raw)


def test_missing_column_names_the_file(shared_data, tmp_path):
    raw = _copy_task(_yaib(shared_data), tmp_path)
    sta = raw / "demo_data" / "mortality24" / "mimic_demo" / "sta.parquet"
    frame = pd.read_parquet(sta).drop(columns=["weight"])
    sta.chmod(0o644)
    frame.to_parquet(sta)
    with pytest.raises(ChecksumMismatchError, match=r"sta\.parquet: sha256 [0-9a-f]+ differs from the catalog"):
        prepare("yaib_mortality24_mimic", raw=raw)
    with pytest.raises(PrepareError, match=r"sta\.parquet: missing column\(s\) \['weight'\]"):
        build_unverified("yaib_mortality24_mimic", raw)
