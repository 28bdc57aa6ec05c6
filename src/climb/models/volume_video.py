"""3D volume (B, C, D, H, W) and video (B, T, C, H, W) encoders.

- `resnet3d_10/18`: 3D ResNet (MedicalNet-style basic blocks, anisotropic stem that
  keeps depth), global average pooling.
- `*_25d`: 2.5D, a 2D backbone applied to every slice along D, then mean or gated
  attention pooling (Ilse et al. 2018) over slices.
- `*_video_*`: a 2D backbone per frame, then temporal mean pooling or a small
  temporal transformer over frame embeddings.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn



class BasicBlock3d(nn.Module):
    """Two 3x3x3 convs with batch norm and a residual (1x1x1 projection when shapes change)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv3d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(out_ch)
        self.conv2 = nn.Conv3d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_ch)
        self.act = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv3d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm3d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class ResNet3d(nn.Module):
    """3D ResNet with basic blocks; `layers` blocks per stage, widths 64-512."""

    def __init__(self, in_channels: int, layers: tuple[int, ...], widths: tuple[int, ...] = (64, 128, 256, 512)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, widths[0], (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(3, stride=2, padding=1),
        )
        stages, ch = [], widths[0]
        for i, (n_blocks, width) in enumerate(zip(layers, widths)):
            blocks = [BasicBlock3d(ch, width, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock3d(width, width) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            ch = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.out_dim = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


def resnet3d_10(in_channels: int, **kw: Any) -> nn.Module:
    return ResNet3d(in_channels, (1, 1, 1, 1), **kw)


def resnet3d_18(in_channels: int, **kw: Any) -> nn.Module:
    return ResNet3d(in_channels, (2, 2, 2, 2), **kw)


def _backbone_2d(name: str, in_channels: int, **kw: Any) -> nn.Module:
    """A registered 2D image encoder used per slice / frame."""
    from climb.models.registry import create_encoder, get_spec

    if get_spec(name).modality != "image":
        raise ValueError(f"2D backbone {name!r} is a {get_spec(name).modality} encoder, not an image one")
    return create_encoder(name, in_channels=in_channels, **kw)


class AttentionPool(nn.Module):
    """Gated attention pooling over a set: softmax(w^T (tanh(Vh) * sigmoid(Uh))) weighted sum."""

    def __init__(self, dim: int, hidden: int = 128):
        super().__init__()
        self.v = nn.Linear(dim, hidden)
        self.u = nn.Linear(dim, hidden)
        self.w = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, N, F) -> (B, F)
        scores = self.w(torch.tanh(self.v(h)) * torch.sigmoid(self.u(h)))
        return (torch.softmax(scores, dim=1) * h).sum(dim=1)


class SliceEncoder(nn.Module):
    """2.5D: a 2D backbone over the D slices of (B, C, D, H, W), pooled by mean or attention."""

    def __init__(self, in_channels: int, backbone: str = "resnet18_small", pool: str = "mean", **kw: Any):
        super().__init__()
        if pool not in ("mean", "attention"):
            raise ValueError(f"pool must be 'mean' or 'attention', got {pool!r}")
        self.backbone = _backbone_2d(backbone, in_channels, **kw)
        self.out_dim = self.backbone.out_dim
        self.pool = AttentionPool(self.out_dim) if pool == "attention" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = x.shape
        slices = x.permute(0, 2, 1, 3, 4).reshape(b * d, c, h, w)
        feats = self.backbone(slices).view(b, d, -1)
        return feats.mean(dim=1) if self.pool is None else self.pool(feats)


def sinusoidal_positions(n: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """(n, dim) sine/cosine position encoding (Vaswani et al. 2017); works for any length."""
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    enc = torch.zeros(n, dim, device=device)
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return enc


def transformer_encoder(dim: int, depth: int, heads: int, dropout: float = 0.1, ff_mult: int = 4) -> nn.TransformerEncoder:
    """Pre-norm batch-first transformer encoder stack."""
    layer = nn.TransformerEncoderLayer(
        dim, heads, dim_feedforward=ff_mult * dim, dropout=dropout, activation="gelu",
        batch_first=True, norm_first=True,
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class VideoEncoder(nn.Module):
    """Per-frame 2D backbone on (B, T, C, H, W), then temporal mean or a temporal transformer."""

    def __init__(self, in_channels: int, backbone: str = "resnet18", temporal: str = "mean",
                 depth: int = 2, heads: int = 8, dropout: float = 0.1, **kw: Any):
        super().__init__()
        if temporal not in ("mean", "transformer"):
            raise ValueError(f"temporal must be 'mean' or 'transformer', got {temporal!r}")
        self.backbone = _backbone_2d(backbone, in_channels, **kw)
        self.out_dim = self.backbone.out_dim
        self.temporal = transformer_encoder(self.out_dim, depth, heads, dropout) if temporal == "transformer" else None
        self.norm = nn.LayerNorm(self.out_dim) if self.temporal is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        feats = self.backbone(x.reshape(b * t, *x.shape[2:])).view(b, t, -1)
        if self.temporal is not None:
            feats = self.temporal(feats + sinusoidal_positions(t, self.out_dim, feats.device))
        return self.norm(feats.mean(dim=1))


def resnet18_25d(in_channels: int, **kw: Any) -> nn.Module:
    return SliceEncoder(in_channels, **{"backbone": "resnet18_small", "pool": "mean", **kw})


def resnet18_25d_attn(in_channels: int, **kw: Any) -> nn.Module:
    return SliceEncoder(in_channels, **{"backbone": "resnet18_small", "pool": "attention", **kw})


def convnextv2_atto_25d_attn(in_channels: int, **kw: Any) -> nn.Module:
    return SliceEncoder(in_channels, **{"backbone": "convnextv2_atto", "pool": "attention", **kw})


def resnet18_video_mean(in_channels: int, **kw: Any) -> nn.Module:
    return VideoEncoder(in_channels, **{"backbone": "resnet18", "temporal": "mean", **kw})


def resnet18_video_tf(in_channels: int, **kw: Any) -> nn.Module:
    return VideoEncoder(in_channels, **{"backbone": "resnet18", "temporal": "transformer", **kw})


def convnextv2_atto_video_tf(in_channels: int, **kw: Any) -> nn.Module:
    return VideoEncoder(in_channels, **{"backbone": "convnextv2_atto", "temporal": "transformer", **kw})
