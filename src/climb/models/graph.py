"""Graph encoders (torch_geometric): GCN, GAT and graph transformer with global mean pooling.

forward(x, edge_index, edge_weight=None, batch=None) -> (num_graphs, out_dim); a PyG
`Data`/`Batch` may be passed as the only argument. Edge weights enter GCN as
normalised edge weights and GAT / TransformerConv as a 1-d edge feature.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb.extras import require


class GraphEncoder(nn.Module):
    """`layers` message-passing convs (ReLU, dropout, residual when shapes match) + mean pool."""

    def __init__(self, in_channels: int, kind: str, hidden: int = 128, layers: int = 3,
                 heads: int = 4, dropout: float = 0.1):
        super().__init__()
        if kind in ("gat", "transformer") and hidden % heads:
            raise ValueError(f"hidden={hidden} must be divisible by heads={heads}")
        self.kind, self.dropout = kind, dropout
        self.convs = nn.ModuleList(_conv(kind, in_channels if i == 0 else hidden, hidden, heads) for i in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.out_dim = hidden

    def forward(self, x: Any, edge_index: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
        from torch_geometric.nn import global_mean_pool

        if edge_index is None:  # a PyG Data / Batch
            data = x
            x, edge_index, batch = data.x, data.edge_index, getattr(data, "batch", None)
            edge_weight = getattr(data, "edge_weight", None)
        h = x.float()
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.shape[1], device=h.device)
        edge_weight = edge_weight.float()
        for conv, norm in zip(self.convs, self.norms):
            out = conv(h, edge_index, edge_weight) if self.kind == "gcn" else conv(h, edge_index, edge_weight[:, None])
            out = nn.functional.dropout(torch.relu(norm(out)), self.dropout, self.training)
            h = out + h if out.shape == h.shape else out
        if batch is None:
            batch = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
        return global_mean_pool(h, batch)


def _conv(kind: str, in_ch: int, out_ch: int, heads: int) -> nn.Module:
    require("torch_geometric", "the graph encoders")
    from torch_geometric.nn import GATConv, GCNConv, TransformerConv

    if kind == "gcn":
        return GCNConv(in_ch, out_ch)
    if kind == "gat":
        return GATConv(in_ch, out_ch // heads, heads=heads, edge_dim=1)
    if kind == "transformer":
        return TransformerConv(in_ch, out_ch // heads, heads=heads, edge_dim=1)
    raise ValueError(f"unknown graph conv {kind!r}")


def gcn(in_channels: int, **kw: Any) -> nn.Module:
    return GraphEncoder(in_channels, "gcn", **kw)


def gat(in_channels: int, **kw: Any) -> nn.Module:
    return GraphEncoder(in_channels, "gat", **kw)


def graph_transformer(in_channels: int, **kw: Any) -> nn.Module:
    return GraphEncoder(in_channels, "transformer", **kw)
