"""`text`: a string (a report, a SMILES, clinical notes); fed to text encoders."""

from __future__ import annotations

from climb.kinds.base import FieldKind, register_kind


@register_kind
class Text(FieldKind):
    name = "text"
    layout = "str"
    value = "text"
    encoder_input = "text"
