"""`scalar`: one number per sample (metadata such as age or sex); NaN = not recorded."""

from __future__ import annotations

from climb.kinds.base import FieldKind, register_kind


@register_kind
class Scalar(FieldKind):
    name = "scalar"
    layout = "float"
    value = "number"
    nan_means_missing = True
