"""`image`: a 2D image (C, H, W), usually uint8."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from climb.kinds.base import FieldKind, TransformOptions, register_kind


def picture_pipeline(meta: Mapping[str, Any], train: bool, stats: Mapping[str, Any] | None,
                     options: TransformOptions) -> Callable:
    """To float ([0, 1] for uint8), resize-and-pad to `image_size` (else pad to square), train-only
    `RandomShiftFlip` when `augment`, normalise with `stats` (else ImageNet statistics)."""
    from climb.loading.transforms import Compose, Normalize, PadSquare, RandomShiftFlip, ResizePadSquare, ToFloat

    shape = meta.get("shape")
    channels = shape[-3] if shape else 3
    steps: list[Any] = [ToFloat(), ResizePadSquare(options.image_size) if options.image_size else PadSquare()]
    if options.augment and train:
        augment = dict(options.augment) if isinstance(options.augment, Mapping) else {"max_shift": 0.0}
        steps.append(RandomShiftFlip(seed=options.seed, **augment))
    steps.append(Normalize(stats["mean"], stats["std"]) if stats else Normalize.imagenet(channels))
    return Compose(steps)


@register_kind
class Image(FieldKind):
    name = "image"
    layout = "(C, H, W)"
    codecs = ("png", "jpeg")
    encoder_input = "image"
    channel_axis = 0
    adapter_dims = 2
    augmentable = True
    vlm_media = "image"
    vlm_noun = "image"

    def default_transform(self, meta, train, stats, options):
        return picture_pipeline(meta, train, stats, options)
