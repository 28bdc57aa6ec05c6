"""Helpers shared by the builder tests: samples of a prepared store by id, and the patient-grouping check."""

from __future__ import annotations


def samples(ds, field: str | None = None) -> dict[str, tuple]:
    """{sample_id: (split, patient_id, label[, field value])} over every split."""
    out = {}
    for split in ds.splits:
        cols = [ds.field(split, c) for c in ("sample_id", "patient_id", "label")]
        extra = ds.field(split, field) if field else None
        for i in range(len(cols[0])):
            out[cols[0][i]] = (split, cols[1][i], cols[2][i]) + ((extra[i],) if field else ())
    return out


def assert_grouped(got: dict[str, tuple]) -> None:
    """No patient appears in two splits."""
    split_of: dict[str, str] = {}
    for split, patient, *_ in got.values():
        assert split_of.setdefault(patient, split) == split, f"patient {patient} in two splits"
