"""Self-supervised pretraining of any registered encoder: masked autoencoding and JEPA.

    from climb.train.ssl import SSLConfig, pretrain
    run = pretrain(SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", objective="jepa", epochs=20))
    TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", pretrained=run.encoder_path, ...)

Only the inputs of the `train` splits are read (labels never are). Inputs are cut
into patches: 2D `patch_size` x `patch_size` squares for images (C,H,W), 1D time
segments of `patch_size` samples for signals/EEG (C,S); a last partial patch is
kept and the padding is left out of every loss.

Objectives (both are adaptations to encoders that return one pooled embedding,
(B, out_dim), rather than per-patch tokens, so that every CNN and transformer in
the registry can be pretrained without changes):

* ``mae`` (images, signals, EEG): SimMIM/MAE-style masked modelling. `mask_ratio` of
  the patches (random, seeded per batch) are zeroed in the input, the encoder embeds
  the masked input, and a light decoder (an MLP fed the embedding plus a learned
  query per patch position) predicts every patch's pixels; the loss is the MSE on
  the masked patches, each target patch normalised by its own mean/std as in MAE
  (`norm_pix_loss`). Unlike MAE the encoder sees the whole (zeroed) input and the
  decoder sees no per-patch tokens: everything it reconstructs must pass through the
  pooled embedding, which makes this closer to a context-encoder bottleneck than to
  token-level MAE. It is honest pretraining of the embedding that the supervised
  protocols use, not a reproduction of MAE's numbers.
* ``jepa`` (signals, EEG): JEPA-style predictive pretraining. A context encoder sees
  the signal with `mask_ratio` of its time patches zeroed in a few contiguous blocks;
  a target encoder (an EMA copy of the context encoder, no gradients) sees the whole
  signal; a predictor MLP maps the context embedding plus the binary mask pattern to
  the (layer-normalised) target embedding; loss = smooth L1. The EMA momentum rises
  linearly from `ema_momentum[0]` to `ema_momentum[1]` over training. Against
  collapse we rely on the EMA target with a predictor (as BYOL / I-JEPA) *and* add a
  VICReg variance hinge on the context embedding (weight `var_weight`, 0 = EMA only);
  the per-dimension batch std of both embeddings is logged (`train/context_std`,
  `train/target_std`), so collapse is visible as these falling towards 0. The saved
  encoder is the target (EMA) encoder, as in I-JEPA.

Every run writes to `cfg.run_dir` through the shared engine (`climb.train.engine`):
`config.yaml`, CSV + TensorBoard logs (`logs/version_*/metrics.csv`, one version per
attempt), `checkpoints/last.ckpt` (re-running the same config resumes from it)
and `encoder.safetensors` (`save_encoder`), which `TrainConfig(pretrained=...)` and
`create_encoder(..., pretrained_path=...)` load. Only the encoder is kept: the MAE
decoder and the JEPA predictor are discarded.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import Callback
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn
from torch.nn import functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from climb.kinds import get_kind, kind_names
from climb.models import create_encoder, save_encoder
from climb.trackers import LoggerName
from climb.train.config import claim_run_dir
from climb.train.data import SeededShardSampler, pick_field, set_loader_epoch
from climb.train.module import encoder_modality
from climb.train.engine import check_precision, make_trainer, record_outputs

# the inputs each objective masks in patches, by the spatial dims of the field kind (its `adapter_dims`):
# MAE patches series (1-D) and images (2-D), JEPA series
OBJECTIVE_DIMS = {"mae": (1, 2), "jepa": (1,)}


class SSLConfig(BaseModel):
    """What to pretrain, on which unlabelled inputs, with which objective and budget."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)  # prepared dataset names, pooled
    encoder: str
    encoder_kwargs: dict[str, Any] = {}
    objective: Literal["mae", "jepa"] = "mae"
    input_field: str | None = None  # default: the first field whose kind the encoder reads
    select_channels: list[int] | None = None  # channel indices kept from every dataset
    splits: list[str] = ["train"]
    transform: str | None = "default"
    # masking
    mask_ratio: float = Field(0.6, gt=0, lt=1)
    patch_size: int | None = Field(None, ge=1)  # None: 4 px (<= 64 px images) / 16 px / S // 20 samples
    # MAE
    norm_pix_loss: bool = True
    decoder_dim: int = Field(256, ge=8)
    # JEPA
    mask_blocks: int = Field(4, ge=1)  # contiguous masked time blocks per signal
    predictor_dim: int = Field(512, ge=8)
    ema_momentum: tuple[float, float] = (0.996, 1.0)
    var_weight: float = Field(1.0, ge=0)
    # optimisation
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(5e-4, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    lr_schedule: Literal["cosine", "multistep", "constant"] = "cosine"  # per step, after the linear warmup
    warmup_fraction: float = Field(0.05, ge=0, lt=1)
    seed: int = 0
    num_workers: int = Field(0, ge=0)
    limit_train_batches: int | float = 1.0
    log_every_n_steps: int = Field(10, ge=1)
    # scale-out, passed to Lightning
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    num_nodes: int = 1
    logger: LoggerName = "tensorboard"  # experiment tracker next to the CSV log (climb.trackers)
    out_dir: Path = Path("runs/pretrain")
    run_name: str | None = None

    @field_validator("precision")
    @classmethod
    def _precision(cls, v: str) -> str:
        return check_precision(v)

    @field_validator("splits")
    @classmethod
    def _splits(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("splits must name at least one split")
        if "test" in v:
            raise ValueError("pretraining on the test split would leak into the benchmark's evaluation")
        return v

    @field_validator("ema_momentum")
    @classmethod
    def _momentum(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1] <= 1:
            raise ValueError("ema_momentum must be (start, end) with 0 <= start <= end <= 1")
        return v

    @property
    def name(self) -> str:
        return self.run_name or f"{'+'.join(self.datasets)}__{self.encoder}__{self.objective}__seed{self.seed}"

    @property
    def run_dir(self) -> Path:
        return self.out_dir / self.name

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> "SSLConfig":
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return cls.model_validate({**raw, **overrides})


@dataclass
class SSLResult:
    """What one pretraining run produced."""

    config: SSLConfig
    run_dir: Path
    encoder_path: Path | None
    final_loss: float
    steps: int
    train_seconds: float
    samples_per_second: float


# ---------------------------------------------------------------- patches and masks


def default_patch_size(kind: str, shape: Sequence[int]) -> int:
    """4 px for small images (<= 64 px), 16 px for larger ones; S // 20 samples for series (1-D kinds)."""
    if get_kind(kind).adapter_dims == 2:
        return 4 if min(shape[1:]) <= 64 else 16
    return max(1, int(shape[-1]) // 20)


def patch_grid(spatial: Sequence[int], patch: int) -> tuple[int, ...]:
    """Patches along each spatial axis (a last partial patch counts)."""
    return tuple(-(-int(s) // patch) for s in spatial)


def _pad_to_patches(x: torch.Tensor, patch: int) -> torch.Tensor:
    pads: list[int] = []
    for size in reversed(x.shape[2:]):
        pads += [0, (-size) % patch]
    return F.pad(x, pads) if any(pads) else x


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B,C,S) -> (B, N, C*p) or (B,C,H,W) -> (B, N, C*p*p), zero-padding a partial last patch."""
    x = _pad_to_patches(x, patch)
    b, c = x.shape[:2]
    if x.dim() == 3:
        n = x.shape[2] // patch
        return x.reshape(b, c, n, patch).permute(0, 2, 1, 3).reshape(b, n, c * patch)
    if x.dim() == 4:
        nh, nw = x.shape[2] // patch, x.shape[3] // patch
        x = x.reshape(b, c, nh, patch, nw, patch).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, nh * nw, c * patch * patch)
    raise ValueError(f"patchify expects (B,C,S) or (B,C,H,W), got shape {tuple(x.shape)}")


def mask_to_input(mask: torch.Tensor, spatial: Sequence[int], patch: int) -> torch.Tensor:
    """A patch mask (B, N) as an input-resolution mask (B, 1, *spatial) of 0/1."""
    grid = patch_grid(spatial, patch)
    m = mask.float().reshape(mask.shape[0], 1, *grid)
    for axis in range(2, 2 + len(grid)):
        m = m.repeat_interleave(patch, dim=axis)
    index = (slice(None), slice(None), *(slice(0, int(s)) for s in spatial))
    return m[index]


def apply_mask(x: torch.Tensor, mask: torch.Tensor, patch: int) -> torch.Tensor:
    """`x` with the masked patches (mask (B, N) True) set to zero."""
    return x * (1.0 - mask_to_input(mask, x.shape[2:], patch).to(x.dtype))


def _n_masked(n: int, ratio: float) -> int:
    return min(n - 1, max(1, round(ratio * n))) if n > 1 else 0


def random_patch_mask(batch: int, n: int, ratio: float, rng: np.random.Generator) -> torch.Tensor:
    """(batch, n) bool: exactly round(ratio * n) random patches per row masked (at least one kept)."""
    k = _n_masked(n, ratio)
    ranks = np.argsort(np.argsort(rng.random((batch, n)), axis=1), axis=1)
    return torch.from_numpy(ranks < k)


def block_patch_mask(batch: int, n: int, ratio: float, blocks: int, rng: np.random.Generator) -> torch.Tensor:
    """(batch, n) bool: exactly round(ratio * n) patches per row masked, in at most `blocks` runs."""
    k = _n_masked(n, ratio)
    out = np.zeros((batch, n), dtype=bool)
    for row in out:
        runs = min(blocks, k)
        if runs == 0:
            continue
        cuts = np.sort(rng.choice(np.arange(1, k), size=runs - 1, replace=False)) if runs > 1 else []
        lengths = np.diff([0, *cuts, k])
        gaps = rng.multinomial(n - k, np.full(runs + 1, 1.0 / (runs + 1)))
        start = 0
        for gap, length in zip(gaps, lengths):
            start += gap
            row[start:start + length] = True
            start += length
    return torch.from_numpy(out)


def batch_rng(seed: int, epoch: int, batch_idx: int, rank: int = 0) -> np.random.Generator:
    """The mask generator of one batch: reproducible, and different per epoch, batch and rank."""
    return np.random.default_rng([seed, epoch, batch_idx, rank])


def normalise_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each patch standardised by its own mean and (unbiased) variance, as MAE's norm_pix_loss."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, keepdim=True) if patches.shape[-1] > 1 else torch.zeros_like(mean)
    return (patches - mean) / (var + eps).sqrt()


def variance_penalty(z: torch.Tensor, target_std: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """VICReg variance hinge: mean over dimensions of relu(target_std - batch std)."""
    if z.shape[0] < 2:
        return z.new_zeros(())
    std = (z.float().var(dim=0) + eps).sqrt()
    return F.relu(target_std - std).mean()


# ---------------------------------------------------------------- heads


class PatchDecoder(nn.Module):
    """Embedding (B, D) -> pixels of every patch (B, N, P): an MLP with a learned query per position."""

    def __init__(self, embed_dim: int, n_patches: int, patch_dim: int, hidden: int = 256):
        super().__init__()
        self.proj = nn.Linear(embed_dim, hidden)
        self.queries = nn.Parameter(torch.randn(n_patches, hidden) * 0.02)
        self.mlp = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, patch_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.proj(z)[:, None, :] + self.queries[None])


def predictor_mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    """The JEPA predictor: context embedding + mask pattern -> target embedding."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.GELU(),
                         nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out_dim))


# ---------------------------------------------------------------- module


class SSLModule(L.LightningModule):
    """Encoder + MAE decoder, or context encoder + EMA target encoder + predictor (JEPA)."""

    def __init__(self, config: dict[str, Any], kind: str, input_shape: list[int]):
        super().__init__()
        self.save_hyperparameters()
        cfg = SSLConfig.model_validate(config)
        if get_kind(kind).adapter_dims not in OBJECTIVE_DIMS[cfg.objective]:
            supported = [k for k in kind_names() if get_kind(k).adapter_dims in OBJECTIVE_DIMS[cfg.objective]]
            raise ValueError(f"objective {cfg.objective!r} supports inputs of kind {supported}, not {kind!r}")
        self.cfg, self.kind, self.input_shape = cfg, kind, list(input_shape)
        self.patch = cfg.patch_size or default_patch_size(kind, input_shape)
        self.n_patches = math.prod(patch_grid(input_shape[1:], self.patch))
        if self.n_patches < 2:
            raise ValueError(f"patch_size {self.patch} leaves {self.n_patches} patch for inputs of shape "
                             f"{tuple(input_shape)}; masking needs at least 2")
        self.encoder = create_encoder(cfg.encoder, in_channels=input_shape[0], **cfg.encoder_kwargs)
        dim = self.encoder.out_dim
        if cfg.objective == "mae":
            patch_dim = input_shape[0] * self.patch ** (len(input_shape) - 1)
            self.decoder = PatchDecoder(dim, self.n_patches, patch_dim, cfg.decoder_dim)
        else:
            self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
            self.predictor = predictor_mlp(dim + self.n_patches, cfg.predictor_dim, dim)
        self.last_momentum: float | None = None
        self._total_steps = 1

    # ------------------------------------------------------------ masks and losses

    def make_mask(self, batch: int, rng: np.random.Generator) -> torch.Tensor:
        """This objective's patch mask for a batch: random patches (MAE) or time blocks (JEPA)."""
        if self.cfg.objective == "mae":
            return random_patch_mask(batch, self.n_patches, self.cfg.mask_ratio, rng)
        return block_patch_mask(batch, self.n_patches, self.cfg.mask_ratio, self.cfg.mask_blocks, rng)

    def mae_loss(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """MSE of the decoded pixels on the masked patches (padding excluded)."""
        pred = self.decoder(self.encoder(apply_mask(x, mask, self.patch))).float()
        target = patchify(x.float(), self.patch)
        valid = patchify(torch.ones_like(x[:1], dtype=torch.float32), self.patch)
        if self.cfg.norm_pix_loss:
            target = self._normalise_valid(target, valid)
        err = ((pred - target) ** 2 * valid).sum(-1) / valid.sum(-1)  # (B, N)
        m = mask.float()
        return (err * m).sum() / m.sum(), {}

    def _normalise_valid(self, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        if bool((valid == 1).all()):
            return normalise_patches(target)
        out = target.clone()
        for i in range(target.shape[1]):  # only partial edge patches take this path
            keep = valid[0, i] > 0
            out[:, i, keep] = normalise_patches(target[:, i, keep])
        return out * valid

    def jepa_loss(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Smooth L1 between predicted and EMA-target embeddings, plus the variance hinge."""
        context = self.encoder(apply_mask(x, mask, self.patch)).float()
        with torch.no_grad():
            raw_target = self.target_encoder(x).float()
            target = F.layer_norm(raw_target, raw_target.shape[-1:])
        pred = self.predictor(torch.cat([context, mask.to(context.dtype)], dim=1))
        pred_loss = F.smooth_l1_loss(pred, target)
        var_loss = variance_penalty(context)
        stats = {"pred_loss": pred_loss.detach(), "var_loss": var_loss.detach(),
                 "context_std": context.detach().std(dim=0).mean(), "target_std": raw_target.std(dim=0).mean()}
        return pred_loss + self.cfg.var_weight * var_loss, stats

    def ssl_loss(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = x.float()
        mask = mask.to(x.device)
        return self.mae_loss(x, mask) if self.cfg.objective == "mae" else self.jepa_loss(x, mask)

    # ------------------------------------------------------------ training

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        rng = batch_rng(self.cfg.seed, self.current_epoch, batch_idx, self.global_rank)
        loss, stats = self.ssl_loss(batch, self.make_mask(batch.shape[0], rng))
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite {self.cfg.objective} loss ({loss.item()}) at step {self.global_step}: lower the "
                "learning rate, check the inputs for NaN/inf, or use 32-bit precision")
        n = batch.shape[0]
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=n)
        for key, value in stats.items():
            self.log(f"train/{key}", value, on_step=True, on_epoch=True, batch_size=n)
        return loss

    def on_fit_start(self) -> None:
        self._total_steps = max(int(self.trainer.estimated_stepping_batches), 1)

    def momentum_at(self, step: int) -> float:
        """EMA momentum after `step` optimizer steps: linear from start to end over training."""
        start, end = self.cfg.ema_momentum
        return start + (end - start) * min(step / self._total_steps, 1.0)

    @torch.no_grad()
    def ema_update(self, momentum: float) -> None:
        """target <- momentum * target + (1 - momentum) * context (parameters); buffers copied."""
        for t, c in zip(self.target_encoder.parameters(), self.encoder.parameters()):
            t.mul_(momentum).add_(c.detach(), alpha=1.0 - momentum)
        for t, c in zip(self.target_encoder.buffers(), self.encoder.buffers()):
            t.copy_(c)
        self.last_momentum = momentum

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.cfg.objective == "jepa":
            momentum = self.momentum_at(self.global_step)
            self.ema_update(momentum)
            self.log("train/ema_momentum", momentum, on_step=True, on_epoch=False)

    def pretrained_encoder(self) -> nn.Module:
        """The encoder to keep: the EMA target (JEPA) or the trained encoder (MAE)."""
        return self.target_encoder if self.cfg.objective == "jepa" else self.encoder

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        # the learning rate (warmup, then lr_schedule, per step) is set by the engine's LRSchedule
        return torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)


# ---------------------------------------------------------------- data


class InputView(Dataset):
    """Only the input tensor of a `ClimbDataset` (optionally some channels), as float."""

    def __init__(self, dataset: Dataset, field: str, channels: list[int] | None = None):
        self.dataset, self.field, self.channels = dataset, field, channels

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> torch.Tensor:
        x = self.dataset[index][self.field]
        if self.channels is not None:
            x = x[self.channels]
        return x.float()


@dataclass
class PretrainData:
    """The pooled unlabelled inputs and what every example looks like."""

    dataset: Dataset
    kind: str
    shape: tuple[int, ...]
    sizes: dict[str, int]


def build_pretrain_data(cfg: SSLConfig) -> PretrainData:
    """The inputs of `cfg.splits` of every dataset, pooled; kinds and shapes must agree."""
    from climb.loading import load

    modality = encoder_modality(cfg.encoder)
    views: dict[str, InputView] = {}
    kinds: dict[str, str] = {}
    for name in cfg.datasets:
        probe = load(name, cfg.splits[0], transform=None, seed=cfg.seed)
        field, kinds[name] = pick_field(probe.card, modality, cfg.input_field)
        channels = _checked_channels(name, probe[0][field], cfg.select_channels)
        for split in cfg.splits:
            ds = load(name, split, transform=cfg.transform, fields=[field], seed=cfg.seed)
            views[f"{name}/{split}"] = InputView(ds, field, channels)
    if len(set(kinds.values())) > 1:
        raise ValueError(f"pooled datasets must share one input kind; got {kinds}")
    shapes = {key: tuple(view[0].shape) for key, view in views.items()}
    _check_shapes(shapes, cfg.select_channels)
    return PretrainData(ConcatDataset(list(views.values())), next(iter(kinds.values())),
                        next(iter(shapes.values())), {k: len(v) for k, v in views.items()})


def _checked_channels(name: str, example: torch.Tensor, select: list[int] | None) -> list[int] | None:
    if select is None:
        return None
    n = int(example.shape[0])
    bad = [i for i in select if not -n <= i < n]
    if bad:
        raise ValueError(f"{name}: select_channels {bad} out of range for its {n} channels")
    return list(select)


def _check_shapes(shapes: dict[str, tuple[int, ...]], select: list[int] | None) -> None:
    if len(set(shapes.values())) == 1:
        return
    channels = {k: s[0] for k, s in shapes.items()}
    if len(set(channels.values())) > 1 and select is None:
        raise ValueError(f"datasets have different channel counts {channels}; set select_channels "
                         "(channel indices kept from every dataset) to pool them")
    raise ValueError(f"pooled inputs must have one shape (after the transform); got {shapes}")


class PretrainDataModule(L.LightningDataModule):
    """A seeded, rank-sharded loader over the pooled inputs (built once the world size is known)."""

    def __init__(self, cfg: SSLConfig, data: PretrainData):
        super().__init__()
        self.cfg, self.data = cfg, data

    def train_dataloader(self) -> DataLoader:
        n, world = len(self.data.dataset), self.trainer.world_size  # type: ignore[arg-type]
        sampler = SeededShardSampler(n, self.cfg.seed, True, self.trainer.global_rank, world)
        loader = DataLoader(self.data.dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                            num_workers=self.cfg.num_workers, drop_last=n // world > self.cfg.batch_size)
        set_loader_epoch(loader, self.trainer.current_epoch)
        return loader


# ---------------------------------------------------------------- entry point


def pretrain(cfg: SSLConfig, callbacks: Sequence[Callback] = (), quiet: bool = True,
             fresh: bool = False) -> SSLResult:
    """Pretrain `cfg.encoder` on the pooled inputs of `cfg.datasets`; write `encoder.safetensors`."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data = build_pretrain_data(cfg)
    module = SSLModule(cfg.model_dump(mode="json"), data.kind, list(data.shape))
    run_dir = cfg.run_dir
    claim_run_dir(run_dir, cfg, fresh=fresh)
    run = make_trainer(cfg, run_dir, select=False, callbacks=callbacks, quiet=quiet, lr_interval="step",
                       warmup_fraction=cfg.warmup_fraction, log_every_n_steps=cfg.log_every_n_steps, validate=False)
    run.fit(module, PretrainDataModule(cfg, data), fresh=fresh)
    trainer = run.trainer
    loss = trainer.callback_metrics.get("train/loss_epoch", trainer.callback_metrics.get("train/loss"))
    final = float(loss) if loss is not None else float("nan")
    path = None
    if trainer.is_global_zero:
        path = save_encoder(module.pretrained_encoder(), run_dir / "encoder.safetensors")
        record_outputs(run_dir, final_loss=final, steps=trainer.global_step)
    return SSLResult(cfg, run_dir, path, final, trainer.global_step, run.seconds, run.speed.rate)


__all__ = [
    "SSLConfig", "SSLModule", "SSLResult", "apply_mask", "block_patch_mask", "build_pretrain_data",
    "patchify", "pretrain", "random_patch_mask",
]
