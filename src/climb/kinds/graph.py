"""The three field kinds of a graph sample: `node_features` (N, F), `edge_index` (2, E), `edge_weight` (E,).

A dataset with `node_features` and `edge_index` fields is collated PyG-style (see
`climb.loading.datasets.collate`); `node_features` feeds graph encoders.
"""

from __future__ import annotations

from climb.kinds.base import FieldKind, register_kind


@register_kind
class NodeFeatures(FieldKind):
    name = "node_features"
    layout = "(N, F)"
    fixed_shape = False
    encoder_input = "graph"
    channel_axis = -1
    graph_role = "nodes"

    def default_transform(self, meta, train, stats, options):
        from climb.loading.transforms import ToFloat

        return ToFloat(1.0)


@register_kind
class EdgeIndex(FieldKind):
    name = "edge_index"
    layout = "(2, E)"
    fixed_shape = False
    graph_role = "edges"


@register_kind
class EdgeWeight(FieldKind):
    name = "edge_weight"
    layout = "(E,)"
    fixed_shape = False
    graph_role = "edge_weights"

    def default_transform(self, meta, train, stats, options):
        from climb.loading.transforms import ToFloat

        return ToFloat(1.0)
