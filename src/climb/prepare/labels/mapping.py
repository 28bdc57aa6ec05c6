"""One way to turn a dataset's native labels into its label space without losing any silently.

Every builder maps labels through a `LabelMapper`: an explicit table (native value ->
class name of the builder's label space, or ``None`` for a documented exclusion such as
CoronaHack's two ARDS images) fed one record at a time. The mapper counts everything:
records mapped, records left out by a documented rule, records whose label is empty or
null, and records whose value the table does not know. After the pass, `finish()` raises
ONE `PrepareError` that names the file, the count, the offending values and example
records, unless the builder's policy parameter says otherwise:

* unknown values (``unknown``): ``"error"`` (default) | ``"drop"`` (the record, or for
  multi-code records the code, is left out and counted) | ``"other"`` (mapped to the
  builder's catch-all class, counted);
* empty or null labels (``missing``): ``"exclude"`` (the record is left out and counted,
  never coerced to a class) | ``"error"`` | ``"mask"`` (flag columns only, see `flags`: the
  cell reads 0 with mask 0, counted);
* records a builder leaves out by a documented rule (`exclude`): always counted; a rule
  with its own policy parameter (e.g. ``indeterminate``, ``invalid_matrices``:
  ``"error"`` | ``"drop"``) makes them an error unless that parameter is ``"drop"``.

`report()` is what the dataset card records about the mapping (through
`Builder.card_extras`): the policies, the counts and which values/records they hit.
Errors cite each unknown value with its first records; a declared dataset's mapper
(`climb.prepare.declared.rows`) passes `RecordQuotes` instead, so its errors quote each
offending file line with its cell ("line 4 'c'") in the declaration's own terms.
Hand-written because no maintained library does "explicit table + counted policy";
pandas' `map` turns unknown keys into NaN without a word, which is the failure this avoids.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import PrepareError

UNKNOWN_POLICIES = ("error", "drop", "other")
MISSING_POLICIES = ("exclude", "error")
RULE_POLICIES = ("error", "drop")
EXAMPLES = 20  # records named per problem in errors and in the card
QUOTED = 5  # records quoted with their value per problem under `RecordQuotes`
FLAGS = {0: 0.0, 1: 1.0, "0": 0.0, "1": 1.0}  # what a 0/1 flag column may hold (`LabelMapper.flags`)


def check_policy(name: str, value: str, allowed: Sequence[str]) -> str:
    """`value` if it is one of `allowed`, else a ValueError naming the parameter."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {'|'.join(allowed)}, got {value!r}")
    return value


def natural(key: Hashable) -> tuple:
    """Sort key: numbers in numeric order (1, 2, 10), then everything else as text."""
    number = isinstance(key, (int, float)) and not isinstance(key, bool)
    return (0, key, "") if number else (1, 0, str(key))


def examples_of(records: Sequence[str]) -> str:
    """The first `EXAMPLES` records, comma-separated, with ``...`` when there are more."""
    return ", ".join(records[:EXAMPLES]) + (", ..." if len(records) > EXAMPLES else "")


def quote(unit: str, problem: str, pairs: Sequence[tuple[str, Any]], hint: str = "") -> str:
    """``"2 row(s) <problem>: line 4 'c', line 6 'c'<hint>"``: the first `QUOTED` records with their values."""
    shown = ", ".join(f"{record} {value!r}" for record, value in pairs[:QUOTED])
    more = f" and {len(pairs) - QUOTED} more" if len(pairs) > QUOTED else ""
    return f"{len(pairs)} {unit}(s) {problem}: {shown}{more}{hint}"


@dataclass(frozen=True)
class RecordQuotes:
    """Errors that quote each offending record with its value, in a declaration's terms.

    `unknown` / `missing` say what is wrong (``"with labels outside ['a', 'b'] in ['y']"``),
    the hints how the declaration allows it; `unit` names a record (``"row"``).
    """

    unit: str
    unknown: str
    missing: str
    unknown_hint: str = ""
    missing_hint: str = ""


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT or an empty / whitespace-only string."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def normalise(value: Any) -> Hashable:
    """A table key for `value`: strings stripped, numpy scalars unwrapped, integral floats as int."""
    if isinstance(value, str):
        return value.strip()
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class LabelMapper:
    """Maps native labels of one source file (or folder) onto a label space, counting every loss."""

    def __init__(self, table: Mapping[Hashable, str | None] | None, space: Sequence[str], *, what: str,
                 source: Path | str, unknown: str = "error", missing: str = "error", other: str | None = None,
                 hint: str = "", quotes: RecordQuotes | None = None, key: Callable[[Any], Hashable] = normalise):
        self.space = list(space)
        self.what, self.source = what, Path(source)
        self.unknown_policy = check_policy("unknown", unknown, UNKNOWN_POLICIES)
        self.missing_policy = check_policy("missing", missing, (*MISSING_POLICIES, "mask"))
        self.hint = hint  # how to change the policy, e.g. "pass unknown_codes=other|drop"
        self.quotes = quotes
        self.key = key  # native value -> table key (a declaration's `cell_text` reads 1, 1.0 and "1" alike)
        self.table: dict[Hashable, str | None] = {}
        for native, name in (table or {}).items():
            if name is not None and name not in self.space:
                raise ValueError(f"{what}: table maps {native!r} to {name!r}, which is not a class of "
                                 f"{self.space}")
            self.table[self.key(native)] = name
        if unknown == "other" and other not in self.space:
            raise ValueError(f"{what}: unknown=other needs a catch-all class of {self.space}, got {other!r}")
        self.other = other
        self.records = 0
        self.kept = 0
        self.by_rule: Counter[str] = Counter()
        self.without_class: list[str] = []
        self.unknown: dict[str, list[str]] = {}
        self.refused: dict[str, tuple[str, list[str]]] = {}  # rule -> (its policy parameter, records)
        self.masked_cells = 0
        self._unknown_at = 0  # the feed (`records`) that last met an unknown value
        # (record, value as read) of every record with an unknown / a missing label, in feed order
        self.quoted: dict[str, list[tuple[str, Any]]] = {"unknown": [], "missing": []}

    @property
    def missing(self) -> list[str]:
        """The records left out (or refused) for an empty or null label."""
        return [record for record, _ in self.quoted["missing"]]

    # ------------------------------------------------------------ feeding records

    def one(self, value: Any, record: str) -> int | None:
        """Class index of a single-label record, or None when the record is left out."""
        self.records += 1
        key = None if is_missing(value) else self.key(value)
        if key is None:
            self._missing(record, value)
            return None
        if key not in self.table:
            self._unknown(key, record, value)
            if self.unknown_policy != "other":
                return None
            name = self.other
        else:
            name = self.table[key]
        if name is None:
            self.by_rule[str(key)] += 1
            return None
        self.kept += 1
        return self.space.index(name)

    def many(self, values: Iterable[Any], record: str) -> list[str] | None:
        """Class names of a multi-code record, or None when the record is left out.

        A code the table maps to None adds no class; a record left with no class at all
        is left out and counted (`records_without_class`).
        """
        self.records += 1
        values = list(values)
        codes = [c for c in (None if is_missing(v) else self.key(v) for v in values) if c is not None]
        if not codes:
            self._missing(record, values)
            return None
        names: list[str] = []
        unknown_here = False
        for code in codes:
            if code not in self.table:
                unknown_here = True
                self._unknown(code, record, code)
                if self.unknown_policy == "other":
                    names.append(self.other)
            elif self.table[code] is None:
                self.by_rule[str(code)] += 1
            else:
                names.append(self.table[code])
        if unknown_here and self.unknown_policy == "error":
            return None
        if not names:
            self.without_class.append(record)
            return None
        self.kept += 1
        return sorted(set(names), key=self.space.index)

    def number(self, value: Any, record: str) -> float | None:
        """A finite regression target, or None when the record is left out (missing)."""
        self.records += 1
        if is_missing(value):
            self._missing(record, value)
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x):
            self._unknown(self.key(value), record, value)
            return None
        self.kept += 1
        return x

    def flags(self, cells: Mapping[str, Any], record: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(multi-hot, mask) of a record with one 0/1 column per class (`cells`: column -> cell, in
        label-space order), or None when the record is left out.

        A cell other than 0/1 makes the record unknown. An empty cell leaves the record out
        (``missing="exclude"``) or, under ``missing="mask"``, reads 0 with mask 0 and is counted
        (`masked_cells`); the mask is None under any other policy.
        """
        self.records += 1
        keys = {column: None if is_missing(v) else self.key(v) for column, v in cells.items()}
        bad = [k for k in keys.values() if k is not None and (isinstance(k, bool) or k not in FLAGS)]
        for key in bad:
            self._unknown(key, record, dict(cells))
        if bad:
            return None
        observed = np.array([k is not None for k in keys.values()])
        if not observed.all():
            if self.missing_policy != "mask":
                self._missing(record, dict(cells))
                return None
            self.masked_cells += int((~observed).sum())
        self.kept += 1
        label = np.array([FLAGS[k] if k is not None else 0.0 for k in keys.values()], dtype=np.float32)
        return label, observed.astype(np.float32) if self.missing_policy == "mask" else None

    def exclude(self, reason: str, record: str, *, policy: str = "drop", param: str = "",
                mapped: bool = False) -> None:
        """Count a record the builder leaves out by a documented rule (e.g. "ungradable image").

        A rule governed by a policy parameter passes it: with ``policy="error"`` the record is
        refused instead, and `finish()` names it and the parameter `param` that allows the rule.
        ``mapped``: the record was already kept by `one` / `many` (a later rule leaves it out).
        """
        if mapped:
            self.kept -= 1
        else:
            self.records += 1
        if check_policy(param or "policy", policy, RULE_POLICIES) == "error":
            self.refused.setdefault(reason, (param, []))[1].append(record)
        else:
            self.by_rule[reason] += 1

    def multi_hot(self, names: Iterable[str]) -> np.ndarray:
        """float32 0/1 vector over the label space."""
        out = np.zeros(len(self.space), dtype=np.float32)
        for name in names:
            out[self.space.index(name)] = 1.0
        return out

    def _unknown(self, key: Hashable, record: str, raw: Any) -> None:
        """Record `record`'s unknown value `key` (`raw`: as read, kept once per record for counts and quotes)."""
        self.unknown.setdefault(str(key), []).append(record)
        if self._unknown_at != self.records:
            self._unknown_at = self.records
            self.quoted["unknown"].append((record, raw))

    def _missing(self, record: str, raw: Any) -> None:
        if self.missing_policy == "mask":
            raise ValueError(f"{self.what}: missing=mask applies to 0/1 flag columns (LabelMapper.flags) only")
        self.quoted["missing"].append((record, raw))

    # ------------------------------------------------------------ results

    def problems(self) -> list[str]:
        """What `finish()` would raise about (one sentence per kind), empty when nothing is wrong."""
        if self.quotes is not None:
            return self._quoted_problems(self.quotes)
        out = []
        if self.unknown and self.unknown_policy == "error":
            records = {r for rs in self.unknown.values() for r in rs}
            values = ", ".join(f"{v!r} ({len(rs)}: {', '.join(rs[:3])}{', ...' if len(rs) > 3 else ''})"
                               for v, rs in sorted(self.unknown.items(), key=lambda kv: -len(kv[1])))
            known = [str(k) for k in sorted(self.table, key=natural)]
            shown = ", ".join(known[:30]) + (f", ... ({len(known)} in all)" if len(known) > 30 else "")
            out.append(f"{len(records)} record(s) with {self.what} value(s) outside the label table: {values}"
                       + (f"; known: {shown}" if known else ""))
        if self.missing and self.missing_policy == "error":
            out.append(f"{len(self.missing)} record(s) with an empty or null {self.what}: {examples_of(self.missing)}")
        for reason, (param, records) in self.refused.items():
            out.append(f"{len(records)} record(s) {reason}: {examples_of(records)} (pass {param}=drop to leave them "
                       "out, counted in the card)")
        return out

    def _quoted_problems(self, q: RecordQuotes) -> list[str]:
        out = []
        if self.quoted["unknown"] and self.unknown_policy == "error":
            out.append(quote(q.unit, q.unknown, self.quoted["unknown"], q.unknown_hint))
        if self.quoted["missing"] and self.missing_policy == "error":
            out.append(quote(q.unit, q.missing, self.quoted["missing"], q.missing_hint))
        return out

    def offenders(self) -> list[str]:
        """The records `finish()` would raise about (empty when it would not raise)."""
        out = [r for r, _ in self.quoted["unknown"]] if self.unknown_policy == "error" else []
        out += self.missing if self.missing_policy == "error" else []
        return out + [r for _, records in self.refused.values() for r in records]

    def finish(self, source: Path | str | None = None) -> dict[str, Any]:
        """Raise one PrepareError for everything the policies do not allow; else the card report.

        `source`: the file the error names when not the mapper's own (e.g. the recording of the
        first offending annotation, for a mapper fed from several files).
        """
        problems = self.problems()
        if problems:
            hint = f" ({self.hint})" if self.hint else ""
            raise PrepareError(self.source if source is None else source, "; ".join(problems) + hint)
        return self.report()

    def report(self) -> dict[str, Any]:
        """The mapping's effect, for the dataset card."""
        unknown_records = sorted({r for r, _ in self.quoted["unknown"]})
        return {
            "what": self.what, "source": self.source.name, "records_seen": self.records, "records_kept": self.kept,
            "excluded_by_table": dict(sorted(self.by_rule.items())),
            "records_without_class": len(self.without_class),
            "missing": {"policy": self.missing_policy, "records": len(self.missing),
                        "examples": self.missing[:EXAMPLES],
                        **({"masked_cells": self.masked_cells} if self.missing_policy == "mask" else {})},
            "unknown": {"policy": self.unknown_policy, "records": len(self.quoted["unknown"]),
                        "values": {v: len(rs) for v, rs in sorted(self.unknown.items())},
                        "examples": unknown_records[:EXAMPLES],
                        **({"mapped_to": self.other} if self.unknown_policy == "other" else {})},
        }


__all__ = ["EXAMPLES", "FLAGS", "MISSING_POLICIES", "QUOTED", "RULE_POLICIES", "UNKNOWN_POLICIES", "LabelMapper",
           "RecordQuotes", "check_policy", "is_missing", "normalise", "quote"]
