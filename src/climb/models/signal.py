"""ECG (B, leads, samples) and EEG (B, channels, samples) encoders, compact torch versions.

ECG: `resnet1d_wang` and `xresnet1d50/101` follow Strodthoff et al. 2020 (PTB-XL
benchmark) with concat (avg+max) pooling; `ecg_patch_transformer` follows ECG-JEPA
(Kim 2024): per-lead patches, lead + time embeddings, cross-pattern attention
(a token attends to its own lead across time and to all leads at its time step).

EEG: `shallow_fbcsp` (Schirrmeister et al. 2017) and `eegnet` (EEGNet-8,2, Lawhern
et al. 2018) keep the papers' layer structure; the classifier's flatten is replaced
by adaptive average pooling to `pooled_steps` time steps so the embedding size does
not depend on the input length. `eeg_conformer` follows Song et al. 2023 (conv patch
embedding + transformer, mean over tokens); `biot` follows Yang et al. 2023 (STFT
tokens per channel + channel and position embeddings + transformer, mean over
tokens; standard softmax attention instead of the paper's linear attention).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb.models.registry import register_encoder
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


@register_encoder("resnet1d_wang", "signal", in_channels=12, description="ResNet1d-Wang (PTB-XL benchmark)")
def resnet1d_wang(in_channels: int, **kw: Any) -> nn.Module:
    return ResNet1dWang(in_channels, **kw)


@register_encoder("xresnet1d50", "signal", in_channels=12, description="xresnet1d50, kernel 5 (PTB-XL benchmark)")
def xresnet1d50(in_channels: int, **kw: Any) -> nn.Module:
    return XResNet1d(in_channels, (3, 4, 6, 3), **kw)


@register_encoder("xresnet1d101", "signal", in_channels=12, description="xresnet1d101, kernel 5 (PTB-XL benchmark)")
def xresnet1d101(in_channels: int, **kw: Any) -> nn.Module:
    return XResNet1d(in_channels, (3, 4, 23, 3), **kw)


@register_encoder("ecg_patch_transformer", "signal", in_channels=12,
                  description="ECG-JEPA-style patch transformer, cross-pattern attention over lead/time tokens")
def ecg_patch_transformer(in_channels: int, **kw: Any) -> nn.Module:
    return ECGPatchTransformer(in_channels, **kw)


# ---------------------------------------------------------------- EEG


class MaxNormConv2d(nn.Conv2d):
    """Conv2d whose filters are renormalised to L2 norm <= max_norm before each use (EEGNet)."""

    def __init__(self, *args: Any, max_norm: float = 1.0, **kw: Any):
        super().__init__(*args, **kw)
        self.max_norm = max_norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            self.weight.data = torch.renorm(self.weight.data, p=2, dim=0, maxnorm=self.max_norm)
        return super().forward(x)


class ShallowFBCSPNet(nn.Module):
    """Temporal conv -> spatial conv -> BN -> square -> mean pool -> log -> dropout."""

    def __init__(self, in_channels: int, n_filters: int = 40, filter_length: int = 25,
                 pool_length: int = 75, pool_stride: int = 15, dropout: float = 0.5, pooled_steps: int = 4):
        super().__init__()
        self.conv_time = nn.Conv2d(1, n_filters, (1, filter_length))
        self.conv_spat = nn.Conv2d(n_filters, n_filters, (in_channels, 1), bias=False)
        self.bn = nn.BatchNorm2d(n_filters)
        self.pool_length, self.pool_stride = pool_length, pool_stride
        self.drop = nn.Dropout(dropout)
        self.pooled = nn.AdaptiveAvgPool1d(pooled_steps)
        self.out_dim = n_filters * pooled_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn(self.conv_spat(self.conv_time(x.unsqueeze(1)))) ** 2  # (B, F, 1, T)
        k = min(self.pool_length, h.shape[-1])
        h = nn.functional.avg_pool2d(h, (1, k), (1, self.pool_stride))
        h = self.drop(torch.log(torch.clamp(h, min=1e-6))).squeeze(2)
        return self.pooled(h).flatten(1)


class EEGNet(nn.Module):
    """EEGNet-F1,D: temporal conv, depthwise spatial conv (max-norm 1), separable conv."""

    def __init__(self, in_channels: int, f1: int = 8, depth_mult: int = 2, f2: int = 16,
                 kernel_length: int = 64, dropout: float = 0.25, pooled_steps: int = 4):
        super().__init__()
        f1d = f1 * depth_mult
        self.block1 = nn.Sequential(
            nn.Conv2d(1, f1, (1, kernel_length), padding=(0, kernel_length // 2), bias=False),
            nn.BatchNorm2d(f1),
            MaxNormConv2d(f1, f1d, (in_channels, 1), groups=f1, bias=False, max_norm=1.0),
            nn.BatchNorm2d(f1d), nn.ELU(), nn.AvgPool2d((1, 4)), nn.Dropout(dropout),
        )
        self.block2 = nn.Sequential(
            nn.Conv2d(f1d, f1d, (1, 16), padding=(0, 8), groups=f1d, bias=False),
            nn.Conv2d(f1d, f2, 1, bias=False),
            nn.BatchNorm2d(f2), nn.ELU(), nn.AvgPool2d((1, 8), ceil_mode=True), nn.Dropout(dropout),
        )
        self.pooled = nn.AdaptiveAvgPool1d(pooled_steps)
        self.out_dim = f2 * pooled_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.block2(self.block1(x.unsqueeze(1))).squeeze(2)
        return self.pooled(h).flatten(1)


class EEGConformer(nn.Module):
    """Conv patch embedding (temporal, spatial, BN, ELU, pool, 1x1 projection) + transformer."""

    def __init__(self, in_channels: int, emb: int = 40, depth: int = 6, heads: int = 10,
                 pool_length: int = 75, pool_stride: int = 15, dropout: float = 0.5):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 40, (1, 25)), nn.Conv2d(40, 40, (in_channels, 1)), nn.BatchNorm2d(40), nn.ELU()
        )
        self.pool_length, self.pool_stride = pool_length, pool_stride
        self.drop = nn.Dropout(dropout)
        self.project = nn.Conv2d(40, emb, 1)
        self.encoder = transformer_encoder(emb, depth, heads, dropout)
        self.norm = nn.LayerNorm(emb)
        self.out_dim = emb

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.unsqueeze(1))
        k = min(self.pool_length, h.shape[-1])
        h = self.project(self.drop(nn.functional.avg_pool2d(h, (1, k), (1, self.pool_stride))))
        tokens = h.squeeze(2).transpose(1, 2)  # (B, T', emb)
        return self.norm(self.encoder(tokens).mean(dim=1))


class BIOT(nn.Module):
    """STFT magnitude tokens per channel -> linear -> + channel and time embeddings -> transformer."""

    def __init__(self, in_channels: int, dim: int = 256, depth: int = 4, heads: int = 8,
                 n_fft: int = 200, hop_length: int = 100, dropout: float = 0.2):
        super().__init__()
        self.n_fft, self.hop_length, self.dim = n_fft, hop_length, dim
        self.freq_embed = nn.Linear(n_fft // 2 + 1, dim)
        self.channel_embed = nn.Embedding(in_channels, dim)
        self.encoder = transformer_encoder(dim, depth, heads, dropout)
        self.out_dim = dim
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, s = x.shape
        _check_channels(c, self.channel_embed.num_embeddings, "biot")
        if s <= self.n_fft // 2:
            raise ValueError(f"BIOT: signal of {s} samples is too short for n_fft={self.n_fft}")
        spec = torch.stft(x.reshape(b * c, s), self.n_fft, self.hop_length, window=self.window, return_complex=True)
        tokens = self.freq_embed(spec.abs().transpose(1, 2))  # (B*C, frames, dim)
        frames = tokens.shape[1]
        tokens = tokens.view(b, c, frames, self.dim) + self.channel_embed.weight[:c, None, :]
        tokens = tokens + sinusoidal_positions(frames, self.dim, x.device)
        return self.encoder(tokens.reshape(b, c * frames, self.dim)).mean(dim=1)


@register_encoder("shallow_fbcsp", "eeg", in_channels=16, description="ShallowFBCSPNet (Schirrmeister 2017)")
def shallow_fbcsp(in_channels: int, **kw: Any) -> nn.Module:
    return ShallowFBCSPNet(in_channels, **kw)


@register_encoder("eegnet", "eeg", in_channels=16, description="EEGNet-8,2 (Lawhern 2018)")
def eegnet(in_channels: int, **kw: Any) -> nn.Module:
    return EEGNet(in_channels, **kw)


@register_encoder("eeg_conformer", "eeg", in_channels=16, description="EEG Conformer (Song 2023)")
def eeg_conformer(in_channels: int, **kw: Any) -> nn.Module:
    return EEGConformer(in_channels, **kw)


@register_encoder("biot", "eeg", in_channels=16, description="BIOT-style STFT-token transformer (Yang 2023)")
def biot(in_channels: int, **kw: Any) -> nn.Module:
    return BIOT(in_channels, **kw)
