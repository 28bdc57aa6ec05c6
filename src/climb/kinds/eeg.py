"""`eeg`: an EEG recording or window, (channels, samples); rate, channel names, line frequency in the card."""

from __future__ import annotations

from climb.kinds.base import FieldKind, register_kind
from climb.kinds.signal import signal_pipeline


@register_kind
class EEG(FieldKind):
    name = "eeg"
    layout = "(channels, samples)"
    encoder_input = "eeg"
    channel_axis = 0
    adapter_dims = 1

    def default_transform(self, meta, train, stats, options):
        return signal_pipeline(meta, train, options, band_pass=True)
