"""Strict label mapping and counted exclusions: nothing is dropped or coerced without a word.

`map_labels` looks every record's label value up in an explicit table. A value the table
does not know, an empty cell or a null is an error (`PrepareError` naming the file, the
first offending records, the values and their count) unless the builder exposes an
explicit policy parameter set to ``"drop"``; then the records are left out and counted in
the `Exclusions` that goes into the dataset card. `Exclusions` also counts records a
builder leaves out for any other documented reason (a cohort rule, a partial window).

The policy parameters of the builders in this package are all named after what they
govern (``unknown_labels``, ``unlabelled``, ``indeterminate``...) and default to
``"error"``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

from climb.prepare.builder import PrepareError

POLICIES = ("error", "drop")
SHOWN = 5  # offending records / values named in an error message


def check_policy(param: str, value: Any) -> str:
    """`value` if it is a known policy, else ValueError naming the parameter (a usage error)."""
    if value not in POLICIES:
        raise ValueError(f"{param} must be one of {list(POLICIES)}, not {value!r}")
    return value


def is_missing(value: Any) -> bool:
    """None, NaN or a blank string: a label that is not there."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _key(value: Any) -> Hashable:
    if isinstance(value, str):
        return value.strip()
    return getattr(value, "item", lambda: value)()  # numpy scalars -> Python scalars


class Exclusions:
    """Records left out of a build, counted by reason (what the dataset card records)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.values: dict[str, Counter[str]] = {}

    def add(self, reason: str, n: int = 1, value: Any = None) -> None:
        self.counts[reason] += n
        if value is not None:
            self.values.setdefault(reason, Counter())[str(value)] += n

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"excluded": dict(sorted(self.counts.items()))}
        if self.values:
            out["excluded_values"] = {r: dict(v.most_common()) for r, v in sorted(self.values.items())}
        return out

    def __len__(self) -> int:
        return sum(self.counts.values())


def map_labels(records: Iterable[tuple[str, Any]], table: Mapping[Hashable, Any], *, source: Path | str,
               what: str, policy: str = "error", param: str = "unknown_labels",
               exclusions: Exclusions | None = None) -> dict[str, Any]:
    """Map `(record_id, value)` pairs through `table`; unmappable ones fail or are dropped.

    Returns `{record_id: label}` for the mapped records. With ``policy="drop"`` the others
    are counted in `exclusions` under ``"<what> unmappable"`` with their values; with
    ``"error"`` a `PrepareError` names `source`, the count, the values and the first records.
    """
    check_policy(param, policy)
    mapped: dict[str, Any] = {}
    bad: list[tuple[str, str]] = []
    for record, value in records:
        key = None if is_missing(value) else _key(value)
        if key is not None and key in table:
            mapped[record] = table[key]
        else:
            bad.append((record, "(empty)" if key is None else repr(key)))
    if bad and policy == "error":
        values = Counter(v for _, v in bad)
        shown_values = ", ".join(f"{v} x{n}" for v, n in values.most_common(SHOWN))
        shown_records = ", ".join(r for r, _ in bad[:SHOWN])
        more = ", ..." if len(bad) > SHOWN else ""
        raise PrepareError(source, f"{len(bad)} record(s) with an unmappable {what}: {shown_values} (records "
                                   f"{shown_records}{more}); known: {sorted(map(str, table))}; pass {param}=drop "
                                   "to leave them out (counted in the card)")
    if exclusions is not None:
        for _, value in bad:
            exclusions.add(f"{what} unmappable", value=value)
    return mapped


def require_or_drop(records: list[str], *, source: Path | str, problem: str, policy: str, param: str,
                    exclusions: Exclusions) -> None:
    """Records with `problem` (already found by the caller): an error, or counted exclusions."""
    check_policy(param, policy)
    if not records:
        return
    if policy == "error":
        shown = ", ".join(records[:SHOWN]) + (", ..." if len(records) > SHOWN else "")
        raise PrepareError(source, f"{len(records)} record(s) {problem} ({shown}); pass {param}=drop to leave "
                                   f"them out (counted in the card)")
    exclusions.add(problem, len(records))


__all__ = ["Exclusions", "POLICIES", "check_policy", "is_missing", "map_labels", "require_or_drop"]
