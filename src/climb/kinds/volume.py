"""`volume`: a 3D scan (C, D, H, W); CT in Hounsfield units when the card says `units: HU`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from climb.kinds.base import FieldKind, register_kind


def hu_window(meta: Mapping[str, Any]):
    """The card's `hu_window` (a preset name or (level, width)) as an `HUWindow`; default lung."""
    from climb.loading.transforms import HUWindow

    window = meta.get("hu_window", "lung")
    return HUWindow.preset(window) if isinstance(window, str) else HUWindow(*window)


@register_kind
class Volume(FieldKind):
    name = "volume"
    layout = "(C, D, H, W)"
    encoder_input = "volume"
    channel_axis = 0
    adapter_dims = 3
    vlm_media = "image"
    vlm_noun = "scan"
    vlm_note = "The image shows the middle slice of the 3D scan."

    def default_transform(self, meta, train, stats, options):
        """HU window (CT) else to float; `volume_size` -> trilinear resize."""
        from climb.loading.transforms import Compose, Resize3D, ToFloat

        steps: list[Any] = [hu_window(meta) if meta.get("units") == "HU" else ToFloat()]
        if options.volume_size is not None:
            steps.append(Resize3D(options.volume_size))
        return Compose(steps)

    def vlm_picture(self, array: np.ndarray) -> np.ndarray:
        return array[:, array.shape[1] // 2]
