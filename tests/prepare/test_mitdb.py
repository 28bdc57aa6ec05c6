"""MIT-BIH builders on the real records in ../shared/data/mitdb."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import wfdb

import climb.prepare.builders.mitdb as mitdb
from climb.prepare import LeakageError, PrepareError, prepare

AAMI = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), "V": "V", "E": "V", "F": "F",
        **dict.fromkeys("/fQ", "Q")}
# de Chazal et al. 2004, Table I: N+S+V+F+Q beats of DS1 and DS2
LITERATURE_TOTALS = {"DS1": 51_021, "DS2": 49_712}


@pytest.fixture(scope="module")
def mitdb_raw(shared_data) -> Path:
    return shared_data / "mitdb"


def wfdb_counts(raw: Path, records: list[str], before: int = 90, after: int = 166) -> Counter:
    """Independent count of AAMI beats whose window fits in the record."""
    counts: Counter = Counter()
    for r in records:
        ann = wfdb.rdann(str(raw / r), "atr")
        length = wfdb.rdheader(str(raw / r)).sig_len
        for pos, sym in zip(ann.sample, ann.symbol):
            if sym in AAMI and pos - before >= 0 and pos + after <= length:
                counts[AAMI[sym]] += 1
    return counts


def leftovers(home: Path) -> list[str]:
    root = home / "prepared"
    return [p.name for p in root.iterdir() if not p.name.endswith(".lock")] if root.is_dir() else []


@pytest.fixture
def small_split(monkeypatch):
    """Shrink DS1/DS2 to three records so bad-input tests copy and read little."""
    monkeypatch.setattr(mitdb, "DS1", ("101", "106"))
    monkeypatch.setattr(mitdb, "DS2", ("100",))


def copy_records(src: Path, dst: Path, records: list[str]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for r in records:
        for ext in ("hea", "dat", "atr"):
            shutil.copy(src / f"{r}.{ext}", dst / f"{r}.{ext}")
    return dst


def test_inter_patient_split_beat_counts(mitdb_raw):
    ds = prepare("mitdb", raw=mitdb_raw)
    records = ds.card["fields"]["label"]["records"]
    assert sorted(records["train"] + records["val"]) == sorted(mitdb.DS1) and len(records["val"]) == 4
    assert records["test"] == list(mitdb.DS2)
    for split in ("train", "val", "test"):
        expected = wfdb_counts(mitdb_raw, records[split])
        assert ds.card["splits"][split]["class_counts"] == {c: expected[c] for c in "NSVFQ"}
        assert ds.card["splits"][split]["num_patients"] == len(records[split])
    ds1 = ds.card["splits"]["train"]["num_samples"] + ds.card["splits"]["val"]["num_samples"]
    ds2 = ds.card["splits"]["test"]["num_samples"]
    skipped = ds.card["fields"]["signal"]["beats_skipped_at_edges"]
    assert ds1 + ds2 + skipped == sum(LITERATURE_TOTALS.values())
    assert abs(ds1 - LITERATURE_TOTALS["DS1"]) < 25 and abs(ds2 - LITERATURE_TOTALS["DS2"]) < 25
    # the val records were chosen to hold S, V and F beats of their own
    assert all(ds.card["splits"]["val"]["class_counts"][c] > 0 for c in "SVF")
    # windows: (1, 256) float32 MLII in mV, centred on the annotated R peak
    assert ds.card["fields"]["signal"]["shape"] == [1, 256]
    sid, window = ds.field("test", "sample_id")[10], ds.field("test", "signal")[10]
    record, pos = sid.split(":")
    sig, fields = wfdb.rdsamp(str(mitdb_raw / record))
    lead = fields["sig_name"].index("MLII")
    np.testing.assert_allclose(window[0], sig[int(pos) - 90:int(pos) + 166, lead], atol=1e-6)
    assert window.dtype == np.float32


def test_edge_padding_keeps_every_beat_of_the_literature(mitdb_raw):
    ds = prepare("mitdb", raw=mitdb_raw, edge="pad")
    ds1 = ds.card["splits"]["train"]["num_samples"] + ds.card["splits"]["val"]["num_samples"]
    assert (ds1, ds.card["splits"]["test"]["num_samples"]) == (LITERATURE_TOTALS["DS1"], LITERATURE_TOTALS["DS2"])


def test_two_leads_and_validation_is_seeded(mitdb_raw, small_split):
    ds = prepare("mitdb_2lead", raw=mitdb_raw, val_records=1, val_seed=3)
    assert ds.card["fields"]["signal"]["shape"] == [2, 256]
    again = mitdb.MITDB(val_records=1, val_seed=3)
    assert ds.card["fields"]["label"]["records"]["val"] == list(again._choose_validation(mitdb_raw))
    assert "201 (DS1) and 202 (DS2) are the same patient" in ds.card["split_policy"]


def test_a_leaky_split_is_refused(mitdb_raw, small_split, monkeypatch, climb_home):
    # beats of one record alternating between train and test: exactly what the split must prevent
    monkeypatch.setattr(mitdb.MITDB, "split_of", lambda self, record: "train")
    original = mitdb.MITDB._beats

    def leaky(self, path, record, *rest):
        for i, beat in enumerate(original(self, path, record, *rest)):
            yield {**beat, "split": "test" if i % 2 else "train"}

    monkeypatch.setattr(mitdb.MITDB, "_beats", leaky)
    with pytest.raises(LeakageError, match="more than one split"):
        prepare("mitdb", raw=mitdb_raw, val_records=0)
    assert leftovers(climb_home) == []


@pytest.mark.parametrize(
    "damage, pattern",
    [
        (lambda raw: (raw / "106.dat").write_bytes((raw / "106.dat").read_bytes()[:100_000]),
         r"106\.dat: truncated: 100000 bytes, the header implies 1950000"),
        (lambda raw: (raw / "101.hea").write_text("101 2 three-sixty 650000\n101.dat 212\n"),
         r"101\.hea: malformed WFDB header"),
        (lambda raw: (raw / "100.atr").write_bytes((raw / "100.atr").read_bytes()[:2001]),
         r"100\.atr: truncated annotation file"),
        (lambda raw: (raw / "100.atr").unlink(), r"100\.atr: (source file is missing|annotation file not found)"),
    ],
    ids=["truncated-dat", "malformed-hea", "truncated-atr", "missing-atr"],
)
def test_bad_input_fails_clearly_and_leaves_nothing(mitdb_raw, small_split, tmp_path, climb_home, damage, pattern):
    raw = copy_records(mitdb_raw, tmp_path / "raw", ["100", "101", "106"])
    damage(raw)
    with pytest.raises(PrepareError, match=pattern):
        prepare("mitdb", raw=raw, val_records=0)
    assert leftovers(climb_home) == []
