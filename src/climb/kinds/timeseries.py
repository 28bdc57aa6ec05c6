"""`timeseries`: EHR measurements over time (T, F), NaN = missing; feature names and step in the card."""

from __future__ import annotations

import numpy as np

from climb.kinds.base import FieldKind, register_kind


@register_kind
class TimeSeries(FieldKind):
    name = "timeseries"
    layout = "(T, F)"
    fixed_shape = False  # stays differ in length
    nan_means_missing = True
    encoder_input = "timeseries"
    channel_axis = -1

    def stats_rows(self, array: np.ndarray) -> np.ndarray:
        return array.reshape(-1, array.shape[-1]).T

    def default_transform(self, meta, train, stats, options):
        """Forward-fill + observation mask + standardisation (`EHRTimeseries`)."""
        from climb.loading.transforms import EHRTimeseries

        return EHRTimeseries(**(stats or {}))
