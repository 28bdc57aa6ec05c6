"""`tabular`: one feature vector (F,); NaN = not recorded; feature names in the card."""

from __future__ import annotations

import numpy as np

from climb.kinds.base import FieldKind, register_kind


@register_kind
class Tabular(FieldKind):
    name = "tabular"
    layout = "(F,)"
    nan_means_missing = True
    encoder_input = "tabular"
    channel_axis = -1

    def stats_rows(self, array: np.ndarray) -> np.ndarray:
        return array.reshape(-1, array.shape[-1]).T

    def default_transform(self, meta, train, stats, options):
        """Standardisation with the field's statistics, NaN -> 0 (= the mean)."""
        from climb.loading.transforms import Tabular as Standardise

        return Standardise(**(stats or {}))
