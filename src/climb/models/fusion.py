"""Multimodal fusion heads: per-modality embeddings + presence masks -> task logits.

    fusion = make_fusion("cross_attention", {"signal": 256, "metadata": 64}, n_out=5)
    logits = fusion({"signal": e_sig, "metadata": e_meta},                  # (B, D_m) or (B, T_m, D_m)
                    present={"signal": has_sig, "metadata": has_meta})     # (B,) bool each

Strategies (`FUSION_STRATEGIES`):

* `late_average`   one head per modality; the logits are averaged over the present ones.
* `late_learned`   the same heads, weighted by a learned softmax restricted to the present ones.
* `early_concat`   projected embeddings concatenated (zeros for absent ones) with the presence
                   indicators, then an MLP.
* `cross_attention` every modality's tokens attend to the tokens of the OTHER modalities of the
                   same sample (attention along the token axis per sample, never across the
                   batch; absent modalities and padded tokens are masked keys), then a masked
                   mean over the present tokens and a head.
* `gated`          gated attention pooling (Ilse et al. 2018) over the modality embeddings.

Absent modalities never influence the output: their inputs are replaced by zeros before
any arithmetic (so even NaN inputs are harmless) and they are excluded from every mean,
softmax and attention. A modality left out of the input dict is absent for every sample.
At least one modality must be present per sample. In training mode, `modality_dropout`
drops each present modality with probability p but never all of a sample's modalities.
No layer mixes samples (no batch norm), so each sample's output depends on it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

FUSION_STRATEGIES = ("late_average", "late_learned", "early_concat", "cross_attention", "gated")


# ---------------------------------------------------------------- masking helpers


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over `dim` restricted to `mask`; all-masked slices give zeros (never NaN)."""
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=dim) * mask.to(scores.dtype)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean of `x` over `dim` where `mask` (broadcast to x without the feature axis) is True."""
    weight = mask.unsqueeze(-1).to(x.dtype)
    return (torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x))).sum(dim) / weight.sum(dim).clamp(min=1.0)


def modality_dropout(present: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop each present modality (columns of a (B, M) bool mask) with probability `p`.

    A sample that would lose all its modalities keeps one of its present ones, chosen at
    random; a sample with nothing present stays as it is.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"modality dropout probability must be in [0, 1), got {p}")
    if p == 0.0:
        return present
    draw = torch.rand(present.shape, generator=generator, device=present.device)
    kept = present & (draw >= p)
    emptied = present.any(dim=1) & ~kept.any(dim=1)
    if emptied.any():
        pick = torch.rand(present.shape, generator=generator, device=present.device).masked_fill(~present, -1.0)
        rescue = nn.functional.one_hot(pick.argmax(dim=1), present.shape[1]).bool()
        kept = kept | (rescue & emptied.unsqueeze(1))
    return kept


def _mlp(in_dim: int, hidden: int, n_out: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, n_out))


def _linear_head(in_dim: int, n_out: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(in_dim), nn.Dropout(dropout), nn.Linear(in_dim, n_out))


# ---------------------------------------------------------------- base class


class Fusion(nn.Module):
    """Shared input handling: validation, presence, zeroing of absent inputs, modality dropout."""

    def __init__(self, dims: Mapping[str, int], n_out: int, *, hidden: int = 128, dropout: float = 0.1,
                 modality_dropout: float = 0.0):
        super().__init__()
        if not dims:
            raise ValueError("fusion needs at least one modality")
        if n_out < 1 or hidden < 1:
            raise ValueError(f"n_out and hidden must be >= 1, got {n_out} and {hidden}")
        if not 0.0 <= modality_dropout < 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1), got {modality_dropout}")
        self.modalities = list(dims)
        self.dims = {m: int(d) for m, d in dims.items()}
        self.n_out, self.hidden, self.dropout_p = n_out, hidden, dropout
        self.modality_dropout = modality_dropout

    def forward(self, inputs: Mapping[str, torch.Tensor], present: Mapping[str, torch.Tensor] | None = None,
                token_mask: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """(B, n_out) logits from `inputs` (see the module docstring for the shapes)."""
        batch, ref = self._batch_size(inputs)
        mask = self._presence(inputs, present, batch, ref.device)
        if self.training and self.modality_dropout > 0:
            mask = modality_dropout(mask, self.modality_dropout)
        tokens, valid = {}, {}
        for i, m in enumerate(self.modalities):
            tokens[m], valid[m] = self._tokens(m, inputs.get(m), mask[:, i], (token_mask or {}).get(m), batch, ref)
        return self.fuse(tokens, valid, mask)

    def fuse(self, tokens: dict[str, torch.Tensor], valid: dict[str, torch.Tensor],
             present: torch.Tensor) -> torch.Tensor:
        """tokens[m] (B, T_m, D_m) zero where not valid; valid[m] (B, T_m); present (B, M)."""
        raise NotImplementedError

    # -------------------------------------------------------------- input checks

    def _batch_size(self, inputs: Mapping[str, torch.Tensor]) -> tuple[int, torch.Tensor]:
        unknown = sorted(set(inputs) - set(self.modalities))
        if unknown:
            raise KeyError(f"fusion: unknown modality {unknown}; this head fuses {self.modalities}")
        given = [inputs[m] for m in self.modalities if m in inputs]
        if not given:
            raise ValueError(f"fusion: no input for any of {self.modalities}")
        sizes = {int(x.shape[0]) for x in given}
        if len(sizes) != 1:
            raise ValueError(f"fusion: modalities have different batch sizes {sorted(sizes)}")
        return sizes.pop(), given[0]

    def _presence(self, inputs: Mapping[str, torch.Tensor], present: Mapping[str, torch.Tensor] | None,
                  batch: int, device: torch.device) -> torch.Tensor:
        columns = []
        for m in self.modalities:
            if m not in inputs:
                columns.append(torch.zeros(batch, dtype=torch.bool, device=device))
                continue
            col = (present or {}).get(m)
            if col is None:
                col = torch.ones(batch, dtype=torch.bool, device=device)
            if col.shape != (batch,):
                raise ValueError(f"fusion: presence mask of {m!r} must have shape ({batch},), got {tuple(col.shape)}")
            columns.append(col.to(device=device, dtype=torch.bool))
        mask = torch.stack(columns, dim=1)
        if not mask.any(dim=1).all():
            raise ValueError("fusion: every sample needs at least one present modality")
        return mask

    def _tokens(self, m: str, x: torch.Tensor | None, present: torch.Tensor, token_mask: torch.Tensor | None,
                batch: int, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dim = self.dims[m]
        if x is None:
            x = torch.zeros(batch, 1, dim, dtype=ref.dtype if ref.is_floating_point() else torch.float32,
                            device=ref.device)
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[-1] != dim:
            raise ValueError(f"fusion: {m!r} must be (B, {dim}) or (B, T, {dim}), got {tuple(x.shape)}")
        valid = present.unsqueeze(1).expand(batch, x.shape[1])
        if token_mask is not None:
            if token_mask.shape != x.shape[:2]:
                raise ValueError(f"fusion: token mask of {m!r} must be {tuple(x.shape[:2])}, "
                                 f"got {tuple(token_mask.shape)}")
            valid = valid & token_mask.bool()
        x = torch.where(valid.unsqueeze(-1), x, torch.zeros_like(x))  # absent inputs never reach arithmetic
        return x, valid

    @staticmethod
    def pooled(tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(B, D) masked mean over the tokens of one modality (zeros when absent)."""
        return masked_mean(tokens, valid, dim=1)


# ---------------------------------------------------------------- strategies


class LateAverage(Fusion):
    """Per-modality linear heads, logits averaged over the present modalities."""

    def __init__(self, dims: Mapping[str, int], n_out: int, **kw):
        super().__init__(dims, n_out, **kw)
        self.heads = nn.ModuleDict({m: _linear_head(d, n_out, self.dropout_p) for m, d in self.dims.items()})

    def modality_logits(self, tokens: dict[str, torch.Tensor], valid: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, M, n_out) logits of every modality's own head."""
        return torch.stack([self.heads[m](self.pooled(tokens[m], valid[m])) for m in self.modalities], dim=1)

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        p = present.to(torch.float32)
        return p / p.sum(dim=1, keepdim=True).clamp(min=1.0)

    def fuse(self, tokens, valid, present):
        logits = self.modality_logits(tokens, valid)
        w = self.weights(present).to(logits.dtype).unsqueeze(-1)
        return (torch.where(present.unsqueeze(-1), logits, torch.zeros_like(logits)) * w).sum(dim=1)


class LateLearned(LateAverage):
    """Per-modality heads weighted by learned softmax weights over the present modalities."""

    def __init__(self, dims: Mapping[str, int], n_out: int, **kw):
        super().__init__(dims, n_out, **kw)
        self.weight_logits = nn.Parameter(torch.zeros(len(self.modalities)))

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        return masked_softmax(self.weight_logits.unsqueeze(0).expand(present.shape[0], -1), present, dim=1)


class EarlyConcat(Fusion):
    """Concatenated projected embeddings (zeros when absent) + presence indicators -> MLP."""

    def __init__(self, dims: Mapping[str, int], n_out: int, **kw):
        super().__init__(dims, n_out, **kw)
        h = self.hidden
        self.proj = nn.ModuleDict({m: nn.Sequential(nn.LayerNorm(d), nn.Linear(d, h)) for m, d in self.dims.items()})
        self.mlp = _mlp(len(self.modalities) * (h + 1), h, n_out, self.dropout_p)

    def fuse(self, tokens, valid, present):
        parts = []
        for i, m in enumerate(self.modalities):
            z = self.proj[m](self.pooled(tokens[m], valid[m]))
            parts.append(torch.where(present[:, i:i + 1], z, torch.zeros_like(z)))
        parts.append(present.to(parts[0].dtype))
        return self.mlp(torch.cat(parts, dim=1))


class CrossModalAttention(nn.Module):
    """Multi-head attention of query tokens over key tokens of the same sample, with a key mask."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        if dim % heads:
            raise ValueError(f"cross_attention: hidden={dim} must be divisible by heads={heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """x (B, T, D); allowed (B, T, T): query t may read key s. Rows with no key give 0."""
        b, t, d = x.shape

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / self.head_dim ** 0.5  # (B, H, T, T): per sample only
        attn = self.drop(masked_softmax(scores, allowed.unsqueeze(1), dim=-1))
        return self.out((attn @ v).transpose(1, 2).reshape(b, t, d))


class CrossAttentionBlock(nn.Module):
    """Pre-norm cross-modal attention + feed-forward, both residual."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CrossModalAttention(dim, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), allowed)
        return x + self.ff(self.norm2(x))


class CrossAttention(Fusion):
    """Tokens of each modality attend to the other modalities' tokens of the same sample."""

    def __init__(self, dims: Mapping[str, int], n_out: int, *, heads: int = 4, layers: int = 1, **kw):
        super().__init__(dims, n_out, **kw)
        h = self.hidden
        self.proj = nn.ModuleDict({m: nn.Linear(d, h) for m, d in self.dims.items()})
        self.modality_embedding = nn.Parameter(torch.zeros(len(self.modalities), h))
        nn.init.normal_(self.modality_embedding, std=0.02)
        self.blocks = nn.ModuleList(CrossAttentionBlock(h, heads, self.dropout_p) for _ in range(layers))
        self.head = _linear_head(h, n_out, self.dropout_p)

    def fuse(self, tokens, valid, present):
        seq = torch.cat([self.proj[m](tokens[m]) + self.modality_embedding[i]
                         for i, m in enumerate(self.modalities)], dim=1)  # (B, T, H)
        key_valid = torch.cat([valid[m] for m in self.modalities], dim=1)  # (B, T)
        owner = torch.cat([torch.full((tokens[m].shape[1],), i, device=seq.device)
                           for i, m in enumerate(self.modalities)])
        other = owner.unsqueeze(0) != owner.unsqueeze(1)  # (T, T): query t reads keys of other modalities
        allowed = other.unsqueeze(0) & key_valid.unsqueeze(1)  # (B, T, T)
        seq = torch.where(key_valid.unsqueeze(-1), seq, torch.zeros_like(seq))
        for block in self.blocks:
            seq = block(seq, allowed)
        return self.head(masked_mean(seq, key_valid, dim=1))


class Gated(Fusion):
    """Gated attention pooling over the projected modality embeddings (present ones only)."""

    def __init__(self, dims: Mapping[str, int], n_out: int, **kw):
        super().__init__(dims, n_out, **kw)
        h = self.hidden
        self.proj = nn.ModuleDict({m: nn.Sequential(nn.LayerNorm(d), nn.Linear(d, h), nn.GELU())
                                   for m, d in self.dims.items()})
        self.attn_v, self.attn_u, self.attn_w = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, 1)
        self.head = _linear_head(h, n_out, self.dropout_p)

    def fuse(self, tokens, valid, present):
        z = torch.stack([self.proj[m](self.pooled(tokens[m], valid[m])) for m in self.modalities], dim=1)
        score = self.attn_w(torch.tanh(self.attn_v(z)) * torch.sigmoid(self.attn_u(z))).squeeze(-1)  # (B, M)
        a = masked_softmax(score, present, dim=1).unsqueeze(-1)
        return self.head((torch.where(present.unsqueeze(-1), z, torch.zeros_like(z)) * a).sum(dim=1))


_STRATEGIES: dict[str, type[Fusion]] = {
    "late_average": LateAverage, "late_learned": LateLearned, "early_concat": EarlyConcat,
    "cross_attention": CrossAttention, "gated": Gated,
}


def make_fusion(name: str, dims: Mapping[str, int], n_out: int, **kwargs) -> Fusion:
    """Fusion strategy `name` over modalities of embedding sizes `dims`, producing `n_out` logits.

    kwargs: hidden (128), dropout (0.1), modality_dropout (0.0); cross_attention also takes
    heads (4) and layers (1).
    """
    if name not in _STRATEGIES:
        raise ValueError(f"unknown fusion strategy {name!r}; known: {', '.join(FUSION_STRATEGIES)}")
    return _STRATEGIES[name](dims, n_out, **kwargs)


def presence_from_names(modalities: Sequence[str], absent: Sequence[str], batch: int,
                        device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """Presence masks with every modality in `absent` dropped for the whole batch."""
    return {m: torch.full((batch,), m not in absent, dtype=torch.bool, device=device) for m in modalities}


__all__ = [
    "FUSION_STRATEGIES", "CrossAttention", "EarlyConcat", "Fusion", "Gated", "LateAverage", "LateLearned",
    "make_fusion", "masked_mean", "masked_softmax", "modality_dropout", "presence_from_names",
]
