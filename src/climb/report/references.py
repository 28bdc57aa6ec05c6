"""Reference numbers beside a run's results: climb's and plugins' (`climb.catalog.references`)
and those of the suite the run came from (its ``references:``, kept in the run's manifest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb.catalog.references import REFERENCES, Reference, known_references, register_reference


def suite_references(manifest: Mapping[str, Any] | None) -> list[Reference]:
    """The ``references:`` of the suite a benchmark run's manifest records (none for other runs)."""
    suite = (manifest or {}).get("suite_yaml") or {}
    return [Reference((dataset,), ref["metric"], float(ref["value"]), ref.get("model") or "reference",
                      ref["source"], ref.get("caveat") or "")
            for dataset, refs in (suite.get("references") or {}).items() for ref in refs]


def references_for(dataset: str, metric: str, manifest: Mapping[str, Any] | None = None) -> list[Reference]:
    """The reference numbers that match a prepared dataset name and a climb metric name.

    climb's own, then plugins', then those of the suite recorded in `manifest` (a run's).
    """
    candidates = [*known_references(), *suite_references(manifest)]
    return [r for r in candidates if dataset in r.datasets and metric == r.metric]


__all__ = ["REFERENCES", "Reference", "references_for", "register_reference", "suite_references"]
