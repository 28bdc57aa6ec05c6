"""Tabular (B, F) and EHR time-series (B, T, F) encoders with explicit missingness.

Missing values are NaN in the standard sample. Each encoder replaces NaN by 0 and
appends a 0/1 observed-mask channel per feature, so "missing" and "measured 0" stay
distinct (standardise features beforehand so that 0 is the mean). Time-series
encoders take optional `lengths` (B,) for right-padded sequences.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb.models.volume_video import sinusoidal_positions, transformer_encoder


def with_missing_mask(x: torch.Tensor) -> torch.Tensor:
    """NaN -> 0 and concatenate the observed mask on the last axis: (..., F) -> (..., 2F)."""
    observed = torch.isfinite(x)
    return torch.cat([torch.where(observed, x, torch.zeros_like(x)), observed.to(x.dtype)], dim=-1)


def _padding_mask(lengths: torch.Tensor | None, b: int, t: int, device: torch.device) -> torch.Tensor:
    """(B, T) True at padded time steps (none when lengths is None)."""
    if lengths is None:
        return torch.zeros(b, t, dtype=torch.bool, device=device)
    return torch.arange(t, device=device)[None, :] >= lengths.to(device)[:, None]


class TabularMLP(nn.Module):
    """MLP over features + missing mask: Linear -> LayerNorm -> GELU -> Dropout, per hidden layer."""

    def __init__(self, in_channels: int, hidden: tuple[int, ...] = (256, 256), dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = 2 * in_channels
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LayerNorm(h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(with_missing_mask(x.float()))


class EHRGRU(nn.Module):
    """GRU over (B, T, F) + mask channels; embedding = hidden state at the last real step."""

    def __init__(self, in_channels: int, hidden: int = 128, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Linear(2 * in_channels, hidden)
        self.gru = nn.GRU(hidden, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.out_dim = hidden

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        h = torch.relu(self.proj(with_missing_mask(x.float())))
        out, _ = self.gru(h)
        last = (lengths.to(x.device).long() - 1).clamp(min=0) if lengths is not None else torch.full((b,), t - 1, device=x.device)
        return out[torch.arange(b, device=x.device), last]


class EHRTransformer(nn.Module):
    """Transformer over time steps (features + mask projected, sinusoidal time), masked mean pool."""

    def __init__(self, in_channels: int, dim: int = 128, depth: int = 3, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Linear(2 * in_channels, dim)
        self.encoder = transformer_encoder(dim, depth, heads, dropout)
        self.norm = nn.LayerNorm(dim)
        self.dim = self.out_dim = dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        pad = _padding_mask(lengths, b, t, x.device)
        h = self.proj(with_missing_mask(x.float())) + sinusoidal_positions(t, self.dim, x.device)
        h = self.encoder(h, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(h.dtype)
        return self.norm((h * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0))


def mlp(in_channels: int, **kw: Any) -> nn.Module:
    return TabularMLP(in_channels, **kw)


def ehr_gru(in_channels: int, **kw: Any) -> nn.Module:
    return EHRGRU(in_channels, **kw)


def ehr_transformer(in_channels: int, **kw: Any) -> nn.Module:
    return EHRTransformer(in_channels, **kw)
