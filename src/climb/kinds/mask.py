"""`mask`: an auxiliary 0/1 array, e.g. which of a multilabel sample's labels were measured (K,)."""

from __future__ import annotations

from climb.kinds.base import FieldKind, register_kind


@register_kind
class Mask(FieldKind):
    name = "mask"
    layout = "(K,) or the shape of the field it masks"
