"""`signal`: a physiological signal such as an ECG, (leads, samples); rate and lead names in the card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb.kinds.base import FieldKind, TransformOptions, register_kind


def signal_pipeline(meta: Mapping[str, Any], train: bool, options: TransformOptions, band_pass: bool):
    """Lead selection (`leads`, by the card's lead names), EEG band-pass 0.5-45 Hz + notch at the
    card's `line_freq` (`band_pass`), resampling to `sampling_rate`, random (train) / centre
    (eval) crop of `crop_seconds`, per-lead standardisation."""
    from climb.loading.transforms import (BandPass, CenterCrop1D, Compose, Notch, RandomCrop1D, Resample,
                                          SelectLeads, Standardize, ToFloat, lead_names, sampling_rate)

    steps: list[Any] = [ToFloat(1.0)]
    if options.leads is not None:
        available = lead_names(meta)
        if available is None:
            raise KeyError("lead selection asked for, but the card lists no lead_names for this field")
        steps.append(SelectLeads(options.leads, available))
    fs = sampling_rate(meta)
    if band_pass and fs:
        steps.append(BandPass(fs, 0.5, min(45.0, 0.4 * fs)))
        if meta.get("line_freq") and meta["line_freq"] < fs / 2:
            steps.append(Notch(fs, float(meta["line_freq"])))
    if options.sampling_rate and fs and options.sampling_rate != fs:
        steps.append(Resample(fs, options.sampling_rate))
        fs = options.sampling_rate
    if options.crop_seconds:
        if not fs:
            raise KeyError("crop_seconds needs the field's sampling_rate in the card")
        length = int(round(options.crop_seconds * fs))
        steps.append(RandomCrop1D(length, options.seed) if train else CenterCrop1D(length))
    steps.append(Standardize())
    return Compose(steps)


@register_kind
class Signal(FieldKind):
    name = "signal"
    layout = "(leads, samples)"
    encoder_input = "signal"
    channel_axis = 0
    adapter_dims = 1

    def default_transform(self, meta, train, stats, options):
        return signal_pipeline(meta, train, options, band_pass=False)
