"""group_id (what splits and the leakage check keep apart) vs patient_id (what the bootstrap resamples).

Real case: the HuGaDB file in ../shared/data/real_samples is one participant's recording. With
the patient as the split unit every window lands in one split; with each activity run as its
group, runs stay whole and apart while every window still names its one real participant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from climb.prepare import LeakageError, PrepareError, check_no_leakage
from climb.prepare.builders.hugadb import HuGaDB
from climb.prepare.store import build


class HugadbRuns(HuGaDB):
    """The built-in HuGaDB builder, each sample grouped by the activity run it was cut from."""

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        window, run, previous = int(self.params["window"]), -1, None
        for sample in super().generate(raw):
            start = int(sample["sample_id"].rsplit("-", 1)[1])
            if previous is None or (sample["label"], start) != (previous[0], previous[1] + window):
                run += 1  # a new run: another label, or a gap (rows left at the end of a run)
            previous = (sample["label"], start)
            yield {**sample, "group_id": f"run{run:03d}"}


@pytest.fixture(scope="module")
def hugadb(shared_data: Path) -> Path:
    raw = shared_data / "real_samples" / "hugadb"
    if not raw.is_dir():
        pytest.skip("real_samples/hugadb not present in ../shared/data")
    return raw


def _builder(cls: type[HuGaDB], name: str) -> HuGaDB:
    builder = cls()
    builder.name = name
    return builder


def test_one_subject_split_by_run(hugadb: Path, tmp_path: Path) -> None:
    by_patient = build(_builder(HuGaDB, "hugadb"), hugadb, tmp_path / "a")
    assert [s for s, info in by_patient.card["splits"].items() if info["num_samples"]] == ["train"]  # one patient

    ds = build(_builder(HugadbRuns, "hugadb_runs"), hugadb, tmp_path / "b")
    card = ds.card
    assert card["split_unit"] == "group_id"
    assert set(card["splits"]) == {"train", "val", "test"}
    runs = {s: set(ds.field(s, "group_id")[i] for i in range(card["splits"][s]["num_samples"]))
            for s in card["splits"]}
    assert runs["train"].isdisjoint(runs["val"]) and runs["train"].isdisjoint(runs["test"])
    assert runs["val"].isdisjoint(runs["test"])
    for s, info in card["splits"].items():
        assert info["num_patients"] == 1 and info["num_groups"] == len(runs[s]) >= 1
        assert {ds.field(s, "patient_id")[i] for i in range(info["num_samples"])} == {"01"}
    assert sum(info["num_samples"] for info in card["splits"].values()) == \
        sum(info["num_samples"] for info in by_patient.card["splits"].values())


def test_leakage_check_names_the_unit() -> None:
    with pytest.raises(LeakageError, match=r"1 group\(s\) in more than one split: run7 \(train, test\)"):
        check_no_leakage({"train": ["run7", "run8"], "test": ["run7"]}, "group")


def test_group_id_is_all_or_none(hugadb: Path, tmp_path: Path) -> None:
    class Mixed(HugadbRuns):
        def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
            for i, sample in enumerate(super().generate(raw)):
                yield sample if i != 3 else {k: v for k, v in sample.items() if k != "group_id"}

    with pytest.raises(PrepareError, match="has no group_id, but other samples have one"):
        build(_builder(Mixed, "hugadb_mixed"), hugadb, tmp_path)


def _declared_table(tmp_path: Path, split: str) -> dict:
    """A one-subject table (12 runs x 5 windows) declared with `table.group_column: run`."""
    lines = ["id,subject,run,label,power"]
    for run in range(12):
        for w in range(5):
            lines.append(f"r{run}w{w},S1,run{run},{'event' if run % 2 else 'rest'},{run + w / 10}")
    (tmp_path / "windows.csv").write_text("\n".join(lines) + "\n")
    import yaml

    return yaml.safe_load(f"""
        name: one_subject_runs
        kind: table
        table: {{file: windows.csv, id_column: id, patient_column: subject, group_column: run}}
        label: {{task: binary, column: label, classes: [rest, event]}}
        split: {split}
    """)


def test_declared_table_group_column(tmp_path: Path) -> None:
    from climb.prepare.declared import declared_builder

    declaration = _declared_table(tmp_path, "{by: random, fractions: {train: 0.5, val: 0.25, test: 0.25}}")
    ds = build(declared_builder(declaration), tmp_path, tmp_path / "prepared")
    card = ds.card
    assert card["split_unit"] == "group_id" and "grouped by group (column 'run')" in card["split_policy"]
    runs = {s: {ds.field(s, "group_id")[i] for i in range(info["num_samples"])} for s, info in card["splits"].items()}
    assert set(runs) == {"train", "val", "test"}
    assert not (runs["train"] & runs["val"] or runs["train"] & runs["test"] or runs["val"] & runs["test"])
    assert all(info["num_patients"] == 1 and info["num_samples"] == 5 * info["num_groups"]
               for info in card["splits"].values())


def test_declared_group_column_refuses_patient_grouped_val(tmp_path: Path) -> None:
    from climb.prepare.declared import DeclarationError, declared_builder

    declaration = _declared_table(tmp_path, "{by: random, fractions: {train: 0.8, test: 0.2}}")
    declaration["split"] = {"by": "column", "column": "label", "values": {"train": ["rest"], "test": ["event"]},
                            "val_from_train": 0.2}
    with pytest.raises(DeclarationError, match="table.group_column: not with split.by scaffold or val_from_train"):
        declared_builder(declaration)
