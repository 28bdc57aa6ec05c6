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
from climb.evaluate.metrics import (
    METRICS,
    SETTING,
    Metric,
    MetricReport,
    ResultRow,
    compute_metrics,
    headline,
    metric_label,
    metrics_for,
    register_metric,
    result_rows,
    to_frame,
)

__all__ = [
    "CI", "METRICS", "SETTING", "Metric", "MetricReport", "PairedDifference", "ResultRow", "aggregate",
    "aggregate_labels", "bootstrap_ci", "bootstrap_metrics", "compute_metrics", "headline", "metric_label",
    "metrics_for", "paired_difference", "register_metric", "result_rows", "to_frame",
]
