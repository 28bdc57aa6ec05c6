"""Metrics, patient-level bootstrap CIs, window aggregation, paired comparisons, tidy result rows."""

from climb.evaluate.bootstrap import (
    CI,
    PairedDifference,
    aggregate,
    aggregate_labels,
    bootstrap_ci,
    bootstrap_metrics,
    paired_difference,
)
from climb.evaluate.metrics import MetricReport, ResultRow, compute_metrics, result_rows, to_frame

__all__ = [
    "CI", "MetricReport", "PairedDifference", "ResultRow", "aggregate", "aggregate_labels", "bootstrap_ci",
    "bootstrap_metrics", "compute_metrics", "paired_difference", "result_rows", "to_frame",
]
