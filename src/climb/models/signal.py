"""ECG (B, leads, samples) encoders, compact torch versions (EEG encoders: `climb.models.eeg`).

ECG: `resnet1d_wang` and `xresnet1d50/101` follow Strodthoff et al. 2020 (PTB-XL
benchmark) with concat (avg+max) pooling; `ecg_patch_transformer` follows ECG-JEPA
(Kim 2024): per-lead patches, lead + time embeddings, cross-pattern attention
(a token attends to its own lead across time and to all leads at its time step).

No maintained library ships these ECG architectures (braindecode is EEG-only, timm 2D),
so they are written here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb.models.volume_video import sinusoidal_positions, transformer_encoder


class ConcatPool1d(nn.Module):
    """Adaptive average and max pooling over time, concatenated: (B, C, S) -> (B, 2C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


def _conv_bn(in_ch: int, out_ch: int, k: int, stride: int = 1, act: bool = True, zero_bn: bool = False) -> nn.Sequential:
    bn = nn.BatchNorm1d(out_ch)
    if zero_bn:
        nn.init.zeros_(bn.weight)
    layers: list[nn.Module] = [nn.Conv1d(in_ch, out_ch, k, stride=stride, padding=(k - 1) // 2, bias=False), bn]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock1d(nn.Module):
    """ResNet basic block in 1D with per-conv kernel sizes (resnet1d_wang: 5 then 3)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, kernels: tuple[int, int] = (5, 3)):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(in_ch, out_ch, kernels[0], stride), _conv_bn(out_ch, out_ch, kernels[1], act=False))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = _conv_bn(in_ch, out_ch, 1, stride, act=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNet1dWang(nn.Module):
    """resnet1d_wang: stem conv k7 s1 (no pooling), 3 basic blocks of 128 channels, concat pool."""

    def __init__(self, in_channels: int, width: int = 128, blocks: tuple[int, ...] = (1, 1, 1)):
        super().__init__()
        self.stem = _conv_bn(in_channels, width, 7)
        stages = []
        for i, n in enumerate(blocks):
            stages += [BasicBlock1d(width, width, stride=1 if i == 0 else 2)]
            stages += [BasicBlock1d(width, width) for _ in range(n - 1)]
        self.stages = nn.Sequential(*stages)
        self.pool = ConcatPool1d()
        self.out_dim = 2 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x)))


class XBottleneck1d(nn.Module):
    """fastai xresnet bottleneck: 1x1, kxk (stride), 1x1 (zero-init BN); avg-pool shortcut."""

    def __init__(self, in_ch: int, mid: int, out_ch: int, stride: int, k: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(in_ch, mid, 1), _conv_bn(mid, mid, k, stride), _conv_bn(mid, out_ch, 1, act=False, zero_bn=True)
        )
        short: list[nn.Module] = []
        if stride != 1:
            short.append(nn.AvgPool1d(stride, stride, ceil_mode=True))
        if in_ch != out_ch:
            short.append(_conv_bn(in_ch, out_ch, 1, act=False))
        self.shortcut = nn.Sequential(*short)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class XResNet1d(nn.Module):
    """xresnet1d (bag-of-tricks ResNet in 1D): 3-conv stem, max-pool, bottleneck stages, concat pool."""

    def __init__(self, in_channels: int, layers: tuple[int, ...], kernel_size: int = 5, expansion: int = 4):
        super().__init__()
        self.stem = nn.Sequential(
            _conv_bn(in_channels, 32, kernel_size, stride=2), _conv_bn(32, 32, kernel_size),
            _conv_bn(32, 64, kernel_size), nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, ch = [], 64
        for i, (n, mid) in enumerate(zip(layers, (64, 128, 256, 512))):
            out = mid * expansion
            for j in range(n):
                stages.append(XBottleneck1d(ch, mid, out, 2 if (i > 0 and j == 0) else 1, kernel_size))
                ch = out
        self.stages = nn.Sequential(*stages)
        self.pool = ConcatPool1d()
        self.out_dim = 2 * ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x)))


def _check_channels(got: int, built_for: int, name: str) -> None:
    if got > built_for:
        raise ValueError(f"{name}: input has {got} channels but the encoder was built for {built_for} (in_channels)")


class ECGPatchTransformer(nn.Module):
    """ECG-JEPA-style encoder: per-lead patch tokens with lead and time embeddings."""

    def __init__(self, in_channels: int, patch_size: int = 50, dim: int = 192, depth: int = 6,
                 heads: int = 6, dropout: float = 0.1, cross_pattern: bool = True):
        super().__init__()
        self.patch_size, self.dim, self.cross_pattern = patch_size, dim, cross_pattern
        self.patch_embed = nn.Linear(patch_size, dim)
        self.lead_embed = nn.Embedding(in_channels, dim)
        self.encoder = transformer_encoder(dim, depth, heads, dropout)
        self.norm = nn.LayerNorm(dim)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, leads, s = x.shape
        _check_channels(leads, self.lead_embed.num_embeddings, "ecg_patch_transformer")
        pad = (-s) % self.patch_size
        x = nn.functional.pad(x, (0, pad))
        n = x.shape[-1] // self.patch_size
        tokens = self.patch_embed(x.view(b, leads, n, self.patch_size))  # (B, L, N, D)
        tokens = tokens + self.lead_embed.weight[:leads, None, :] + sinusoidal_positions(n, self.dim, x.device)
        mask = self._attention_mask(leads, n, x.device) if self.cross_pattern else None
        out = self.encoder(tokens.reshape(b, leads * n, self.dim), mask=mask)
        return self.norm(out.mean(dim=1))

    @staticmethod
    def _attention_mask(leads: int, n: int, device: torch.device) -> torch.Tensor:
        """True where attention is blocked: tokens of another lead at another time step."""
        lead = torch.arange(leads, device=device).repeat_interleave(n)
        time = torch.arange(n, device=device).repeat(leads)
        allowed = (lead[:, None] == lead[None, :]) | (time[:, None] == time[None, :])
        return ~allowed


def resnet1d_wang(in_channels: int, **kw: Any) -> nn.Module:
    return ResNet1dWang(in_channels, **kw)


def xresnet1d50(in_channels: int, **kw: Any) -> nn.Module:
    return XResNet1d(in_channels, (3, 4, 6, 3), **kw)


def xresnet1d101(in_channels: int, **kw: Any) -> nn.Module:
    return XResNet1d(in_channels, (3, 4, 23, 3), **kw)


def ecg_patch_transformer(in_channels: int, **kw: Any) -> nn.Module:
    return ECGPatchTransformer(in_channels, **kw)
