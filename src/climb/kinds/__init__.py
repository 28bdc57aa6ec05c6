"""Field kinds: one registry of what a prepared field can be (image, signal, graph nodes, text, ...).

    from climb.kinds import get_kind
    get_kind("image").in_channels((3, 224, 224))   # 3
    get_kind("node_features").encoder_input        # "graph"

Each kind is one class in one file of this package (see `base.FieldKind` for what a kind
declares); a new modality is one more such file, registered with `@register_kind`
(docs/architecture.md, "How to add a field kind"). The store encodes fields by their kind,
the load layer builds default transforms and collates by it, exports pick media by it, and
training reads channel counts, adapters and encoder inputs from it.
"""

from __future__ import annotations

from climb.kinds.base import (FieldKind, TransformOptions, UnknownKindError, encoder_inputs, field_kind_for_input,
                              get_kind, kind_names, register_kind, unregister_kind)
from climb.kinds import image, volume, video, signal, eeg, tabular, timeseries, graph, text, scalar, mask  # noqa: E402,F401,I001  (registers the built-in kinds, in this order)

__all__ = ["FieldKind", "TransformOptions", "UnknownKindError", "encoder_inputs", "field_kind_for_input",
           "get_kind", "kind_names", "register_kind", "unregister_kind"]
