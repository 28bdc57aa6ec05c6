"""Reference numbers beside a run's results: climb's and plugins' (`climb.catalog.references`)
and the run's own, which its manifest keeps (`Suite.reference_numbers`: the suite's
``references:`` and those of the plugins the suite loaded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb.catalog.references import REFERENCES, Reference, known_references, register_reference


def run_references(manifest: Mapping[str, Any] | None) -> list[Reference]:
    """The reference numbers a benchmark run's manifest records (none for other runs)."""
    return [Reference(tuple(ref["datasets"]), ref["metric"], float(ref["value"]), ref.get("model") or "reference",
                      ref["source"], ref.get("caveat") or "")
            for ref in (manifest or {}).get("references") or []]


def references_for(dataset: str, metric: str, manifest: Mapping[str, Any] | None = None) -> list[Reference]:
    """The reference numbers that match a prepared dataset name and a climb metric name.

    climb's own, then plugins', then those `manifest` (a run's) records; each once.
    """
    candidates = dict.fromkeys([*known_references(), *run_references(manifest)])
    return [r for r in candidates if dataset in r.datasets and metric == r.metric]


__all__ = ["REFERENCES", "Reference", "references_for", "register_reference", "run_references"]
