"""`video`: frames (T, C, H, W), usually uint8; frame rate in the card (`fps`)."""

from __future__ import annotations

import numpy as np

from climb.kinds.base import FieldKind, register_kind
from climb.kinds.image import picture_pipeline


@register_kind
class Video(FieldKind):
    name = "video"
    layout = "(T, C, H, W)"
    codecs = ("png", "jpeg")
    encoder_input = "video"
    channel_axis = 1
    augmentable = True
    vlm_media = "video"
    vlm_noun = "video"

    def stats_rows(self, array: np.ndarray) -> np.ndarray:
        return np.moveaxis(array, 1, 0).reshape(array.shape[1], -1)

    def default_transform(self, meta, train, stats, options):
        return picture_pipeline(meta, train, stats, options)
