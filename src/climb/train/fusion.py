"""Multimodal fusion on real paired data: config, presets, Lightning module, runs, the CLIMB protocol.

    from climb.train.fusion import fusion_protocol, preset_config, run_fusion
    result = run_fusion(preset_config("abide", strategy="cross_attention", epochs=5))
    result.frame()                                  # tidy rows, patient-level bootstrap CIs
    table = fusion_protocol("ptbxl", epochs=10)     # unimodal, every strategy, full / 8-shot, drops

One encoder per modality (`FusionConfig.modalities`: modality -> dataset fields + encoder);
scalar and tabular fields of one modality are gathered into one standardised vector (NaN
kept as "missing" for the encoder's mask). A `models.fusion` strategy fuses the embeddings.
Every run evaluates the test split with all modalities and, for fused models, with each
modality dropped (`drop-<modality>`); presets with `test_on` also test on another site.

Presets are data: one YAML file per preset in `climb/train/presets/` (`FusionConfig` fields
plus a `description`), validated when the module loads; `preset_config` also takes the path
of a user's preset file in the same format.

Protocol labels: `unimodal-<modality>-<full|8shot>-<init>`, `fusion-<strategy>-<full|8shot>-<init>`,
and `...-drop-<modality>` for the missing-modality evaluation (init: scratch / pretrained).

Registry encoders give one pooled embedding per modality, so `cross_attention` attends
over modality tokens here (`models.fusion` itself also takes token sequences).
Statistics for standardisation come from the samples trained on (the k-shot subset in
few-shot runs) and are reused unchanged on validation, test and other-site data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import pandas as pd
import torch
import yaml
from lightning.pytorch.callbacks import Callback
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from climb.catalog.schema import Task
from climb.errors import ClimbUsageError
from climb.evaluate.bootstrap import bootstrap_metrics
from climb.evaluate.metrics import ResultRow, compute_metrics, headline, result_rows, to_frame
from climb.kinds import field_kind_for_input, get_kind
from climb.loading import ClimbDataset, few_shot_indices, load
from climb.loading.transforms import FieldTransforms, compute_stats, default_transform
from climb.models import create_encoder, get_spec, save_encoder
from climb.models.fusion import FUSION_STRATEGIES, make_fusion
from climb.trackers import LoggerName
from climb.train.config import RESUMABLE_CHANGES, ModelSelection, claim_run_dir, selects_on_val
from climb.train.data import SeededShardSampler, graph_fields, set_loader_epoch
from climb.safeio import atomic_write_text
from climb.train.engine import (check_precision, is_rank_zero, make_trainer, predict_loaders, record_outputs,
                                stack_predictions)
from climb.train.module import input_channels, label_stats, task_loss, val_score

# scalar and tabular fields of one modality, gathered into one vector for a `tabular` encoder
GATHERED = "tabular"
from climb.train.protocols import save_npz



# ---------------------------------------------------------------- configuration


class ModalityConfig(BaseModel):
    """One modality: the dataset fields it reads and the encoder that embeds them."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(min_length=1)  # several scalar/tabular fields = one gathered vector
    encoder: str
    encoder_kwargs: dict[str, Any] = {}
    # starting weights (as TrainConfig.pretrained): a single-modality encoder.safetensors, a published
    # folder, an hf-hub: id, or a zoo / timm tag
    pretrained: str | Path | None = None
    freeze: bool = False  # frozen encoders also stay in eval mode


class FusionConfig(BaseModel):
    """A fusion run: dataset, modalities, strategy, data budget and training settings."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    modalities: dict[str, ModalityConfig] = Field(min_length=1)
    strategy: str = "early_concat"
    fusion_kwargs: dict[str, Any] = {}  # hidden, dropout, heads, layers
    modality_dropout: float = Field(0.2, ge=0, lt=1)
    clip: dict[str, tuple[float, float]] = {}  # scalar/tabular field -> (low, high) before standardising
    test_on: list[str] = []  # other prepared datasets (sites) to test on, every split
    evaluate_missing: bool = True  # also test with each modality dropped
    label_leak: str | None = None  # set when a modality reads the answer: copied into every row
    shots: int | None = Field(None, ge=1)
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    lr_schedule: Literal["cosine", "multistep", "constant"] = "cosine"  # per epoch (climb.train.engine.lr_factor)
    weight_decay: float = Field(1e-4, ge=0)
    seed: int = 0
    num_workers: int = Field(0, ge=0)
    balance_loss: bool = True
    limit_train_batches: int | float = 1.0
    model_selection: ModelSelection = "auto"  # see climb.train.config.ModelSelection
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy_name: str = "auto"  # Lightning's distributed strategy ("strategy" is the fusion strategy)
    num_nodes: int = 1
    precision: str = "32-true"
    logger: LoggerName = "tensorboard"  # experiment tracker next to the CSV log (climb.trackers)
    n_boot: int = Field(200, ge=0)
    out_dir: Path = Path("runs/fusion")
    run_name: str | None = None
    protocol: str | None = None  # row label; default from strategy, shots and init

    @field_validator("precision")
    @classmethod
    def _precision(cls, v: str) -> str:
        return check_precision(v)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, v: str) -> str:
        if v not in FUSION_STRATEGIES:
            raise ValueError(f"unknown fusion strategy {v!r}; known: {', '.join(FUSION_STRATEGIES)}")
        return v

    @property
    def selects_on_val(self) -> bool:
        return selects_on_val(self.model_selection, self.shots)

    @property
    def setting(self) -> str:
        return "full" if self.shots is None else f"{self.shots}shot"

    @property
    def init(self) -> str:
        return "pretrained" if any(m.pretrained for m in self.modalities.values()) else "scratch"

    @property
    def label(self) -> str:
        if self.protocol:
            return self.protocol
        if len(self.modalities) == 1:
            return f"unimodal-{next(iter(self.modalities))}-{self.setting}-{self.init}"
        return f"fusion-{self.strategy}-{self.setting}-{self.init}"

    @property
    def encoders(self) -> str:
        return "+".join(f"{m}={c.encoder}" for m, c in self.modalities.items())

    @property
    def name(self) -> str:
        return self.run_name or f"{self.dataset}__{self.label}__seed{self.seed}"

    @property
    def run_dir(self) -> Path:
        return self.out_dir / self.name

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> FusionConfig:
        """A preset file (see `read_preset`) with `overrides`; errors name the file and the field."""
        return _validated(path, {**_config_fields(read_preset(path)), **overrides})


# ---------------------------------------------------------------- presets

PRESET_DIR = Path(__file__).with_name("presets")
PRESET_SUFFIXES = (".yaml", ".yml")


class PresetError(ClimbUsageError):
    """A fusion preset file that is not a valid `FusionConfig`, or an unknown preset name."""


class UnknownPreset(PresetError, KeyError):
    """No packaged preset of that name (a KeyError too, as before presets were files)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def read_preset(path: str | Path) -> dict[str, Any]:
    """A preset file: `FusionConfig` fields plus an optional `description`, validated.

    Packaged presets are one file each under `climb/train/presets/` (`<name>.yaml`): the same
    format a user passes by path, so any packaged preset is a template to copy, and each file
    reads on its own (no anchors or generated entries shared across presets).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PresetError(f"fusion preset file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise PresetError(f"fusion preset {path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise PresetError(f"fusion preset {path}: expected a mapping of FusionConfig fields")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise PresetError(f"fusion preset {path}: description: expected a string")
    _validated(path, _config_fields(raw))
    return {**raw, "description": description}


def _config_fields(preset: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in preset.items() if k != "description"}


def _validated(source: str | Path, preset: Mapping[str, Any]) -> FusionConfig:
    try:
        return FusionConfig.model_validate(preset)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PresetError(f"fusion preset {source}: {where}: {err['msg']}{more}") from None


# name -> the preset's raw mapping (FusionConfig fields + description), read from PRESET_DIR
PRESETS: dict[str, dict[str, Any]] = {p.stem: read_preset(p) for p in sorted(PRESET_DIR.glob("*.yaml"))}
PTBXL_REPORT_LEAK: str = PRESETS["ptbxl_with_report"]["label_leak"]


def is_preset_file(name: str | Path) -> bool:
    """Whether `name` names a preset file (a .yaml/.yml path) rather than a packaged preset."""
    return Path(name).suffix in PRESET_SUFFIXES


def preset_config(name: str | Path, **overrides: Any) -> FusionConfig:
    """The `FusionConfig` of preset `name` (a packaged name or a preset file path), with `overrides`."""
    if is_preset_file(name):
        return FusionConfig.from_yaml(name, **overrides)
    if name not in PRESETS:
        raise UnknownPreset(f"no fusion preset {name!r}; presets: {', '.join(PRESETS)} (or a .yaml preset file)")
    return _validated(name, {**_config_fields(PRESETS[str(name)]), **overrides})


# ---------------------------------------------------------------- data


@dataclass
class FusionData:
    """The splits of one dataset for a fusion run, plus what the module is built from."""

    name: str
    task: Task
    train: Dataset
    val: ClimbDataset | None
    tests: dict[str, tuple[str, Dataset]]  # dataset name -> (split label, dataset)
    info: dict[str, Any]
    collate: Any


def modality_kind(card: Mapping[str, Any], modality: str, mc: ModalityConfig) -> str:
    """`tabular` (gathered scalars/vectors), `graph`, or the single field's kind; checks the encoder."""
    kinds = {n: m["kind"] for n, m in card["fields"].items() if n != "label"}
    unknown = [f for f in mc.fields if f not in kinds]
    if unknown:
        raise ValueError(f"{card['name']}: modality {modality!r} reads unknown field(s) {unknown}; "
                         f"fields: {sorted(kinds)}")
    field_kinds = [kinds[f] for f in mc.fields]
    if all(_gathered(k) for k in field_kinds):
        kind = GATHERED
    elif len(mc.fields) == 1:
        kind = get_kind(field_kinds[0]).encoder_input or field_kinds[0]
    else:
        raise ValueError(f"{card['name']}: modality {modality!r} mixes fields of kinds {field_kinds}; only scalar/"
                         "tabular fields can be gathered into one modality")
    roles = {get_kind(k).graph_role for k in kinds.values()}
    if get_kind(field_kinds[0]).graph_role == "nodes" and "edges" not in roles:
        raise ValueError(f"{card['name']}: modality {modality!r} reads node features but the dataset has no edges")
    enc_modality = get_spec(mc.encoder).modality
    if enc_modality != kind:
        raise ValueError(f"{card['name']}: modality {modality!r} is {kind} data but encoder {mc.encoder!r} "
                         f"reads {enc_modality}")
    return kind


def _gathered(kind: str) -> bool:
    """Scalars and feature vectors of one modality are gathered into one standardised vector."""
    k = get_kind(kind)
    return k.value == "number" or k.encoder_input == GATHERED


def _graph_input(kind: str) -> bool:
    """A modality whose encoder reads node features (and the dataset's edges)."""
    return get_kind(field_kind_for_input(kind)).graph_role == "nodes"


def _edge_fields(card: Mapping[str, Any]) -> dict[str, str]:
    """edge kind -> field name (`edge_index`, and `edge_weight` when the dataset has one)."""
    return {card["fields"][n]["kind"]: n for n in graph_fields(card)}


def _loaded_fields(card: Mapping[str, Any], cfg: FusionConfig, kinds: Mapping[str, str]) -> list[str]:
    fields = [f for mc in cfg.modalities.values() for f in mc.fields]
    if any(_graph_input(k) for k in kinds.values() if k != GATHERED):
        fields += graph_fields(card)
    return list(dict.fromkeys(fields))


def _raw_rows(name: str, split: str, fields: list[str], indices: Sequence[int] | None) -> list[dict[str, Any]]:
    ds = load(name, split, fields=fields)
    return [ds.raw_sample(int(i)) for i in (range(len(ds)) if indices is None else indices)]


def _gather(row: Mapping[str, Any], fields: Sequence[str]) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(row[f], dtype=np.float64)).reshape(-1) for f in fields])


def _tabular_stats(rows: list[dict[str, Any]], fields: list[str], clip: Mapping[str, tuple[float, float]]
                   ) -> dict[str, list[float]]:
    """Per-feature mean/std of a gathered vector over `rows` (NaN ignored; 0/1 where undefined)."""
    x = np.stack([_gather(r, fields) for r in rows])
    low, high = _clip_bounds(rows[0], fields, clip)
    x = np.clip(x, low, high)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return {"mean": mean.tolist(), "std": std.tolist(), "low": low.tolist(), "high": high.tolist()}


def _clip_bounds(row: Mapping[str, Any], fields: Sequence[str], clip: Mapping[str, tuple[float, float]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    lows, highs = [], []
    for f in fields:
        width = np.atleast_1d(np.asarray(row[f])).size
        lo, hi = clip.get(f, (-np.inf, np.inf))
        lows += [lo] * width
        highs += [hi] * width
    return np.asarray(lows, float), np.asarray(highs, float)


def _transform(card: Mapping[str, Any], train: bool, keep: set[str], stats: dict[str, Any], seed: int
               ) -> FieldTransforms:
    """The default per-field transforms (signal, timeseries, graph) for the non-tabular fields only."""
    full = default_transform(card, train, stats=stats, seed=seed)
    return FieldTransforms({f: t for f, t in full.per_field.items() if f in keep})


def build_fusion_data(cfg: FusionConfig) -> FusionData:
    """Load train (k-shot when `cfg.shots`), val, test and other-site data for `cfg`."""
    probe = load(cfg.dataset, "train")
    card, task = probe.card, probe.task
    kinds = {m: modality_kind(card, m, mc) for m, mc in cfg.modalities.items()}
    fields = _loaded_fields(card, cfg, kinds)
    labels = probe.labels
    indices = None
    if cfg.shots is not None:
        if task == Task.regression:
            raise ValueError(f"{cfg.dataset}: few-shot subsets need class labels; the task is regression")
        indices = few_shot_indices(labels, cfg.shots, seed=cfg.seed, task=task)
        labels = labels[indices]
    rows = _raw_rows(cfg.dataset, "train", fields, indices)
    tab_stats = {m: _tabular_stats(rows, cfg.modalities[m].fields, cfg.clip)
                 for m, k in kinds.items() if k == GATHERED}
    # a single field whose NaN means "not observed" (EHR time series) is standardised with train statistics
    field_kinds = {f: card["fields"][f]["kind"] for m, k in kinds.items() if k != GATHERED
                   for f in cfg.modalities[m].fields[:1]}
    stats = {f: compute_stats([r[f] for r in rows], kind) for f, kind in field_kinds.items()
             if get_kind(kind).nan_means_missing}
    stats = {f: {k: np.nan_to_num(np.asarray(v), nan=0.0 if k == "mean" else 1.0).tolist() for k, v in s.items()}
             for f, s in stats.items()}
    keep = {f for m, k in kinds.items() if k != GATHERED for f in cfg.modalities[m].fields} | set(graph_fields(card))

    def split(name: str, part: str, train: bool) -> ClimbDataset:
        ds_card = load(name, part).card if name != cfg.dataset else card
        return load(name, part, fields=fields, transform=_transform(ds_card, train, keep, stats, cfg.seed),
                    seed=cfg.seed)

    train = split(cfg.dataset, "train", True)
    train_set: Dataset = train if indices is None else Subset(train, indices.tolist())
    splits = card["splits"]
    val = split(cfg.dataset, "val", False) if "val" in splits else None
    tests: dict[str, tuple[str, Dataset]] = {}
    if "test" in splits:
        tests[cfg.dataset] = ("test", split(cfg.dataset, "test", False))
    for other in cfg.test_on:
        other_splits = load(other, "train").card["splits"]
        tests[other] = ("all", ConcatDataset([split(other, s, False) for s in other_splits]))
    example = train[0]
    info = {
        "task": task.value, "label_names": probe.label_names,
        "n_out": len(probe.label_names) if task in (Task.multiclass, Task.multilabel) else 1,
        "label_stats": label_stats(task, labels, len(probe.label_names)), "tabular_stats": tab_stats,
        "modalities": {m: {"kind": k, "fields": cfg.modalities[m].fields,
                           "edges": _edge_fields(card) if k != GATHERED and _graph_input(k) else {},
                           "in_channels": (len(tab_stats[m]["mean"]) if k == GATHERED else
                                           input_channels(field_kind_for_input(k),
                                                          example[cfg.modalities[m].fields[0]]))}
                       for m, k in kinds.items()},
    }
    return FusionData(cfg.dataset, task, train_set, val, tests, info, train.collate)


# ---------------------------------------------------------------- the module


class Standardizer(nn.Module):
    """Clip, then (x - mean) / std per feature; NaN stays NaN (the encoder masks it)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], low: Sequence[float], high: Sequence[float]):
        super().__init__()
        for key, value in (("mean", mean), ("std", std), ("low", low), ("high", high)):
            self.register_buffer(key, torch.tensor(value, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.clamp(x, self.low, self.high) - self.mean) / self.std


class FusionModule(L.LightningModule):
    """One encoder per modality + a fusion strategy + the task loss; validation logs `val/score`."""

    def __init__(self, config: dict[str, Any], info: dict[str, Any]):
        super().__init__()
        self.save_hyperparameters()
        cfg = FusionConfig.model_validate(config)
        self.cfg, self.info = cfg, info
        self.kinds = {m: i["kind"] for m, i in info["modalities"].items()}
        self.encoders = nn.ModuleDict()
        for m, mc in cfg.modalities.items():
            enc = create_encoder(mc.encoder, in_channels=info["modalities"][m]["in_channels"],
                                 pretrained=mc.pretrained, **mc.encoder_kwargs)
            if mc.freeze:
                enc.requires_grad_(False).eval()
            self.encoders[m] = enc
        self.standardizers = nn.ModuleDict({m: Standardizer(**s) for m, s in info["tabular_stats"].items()})
        dims = {m: int(e.out_dim) for m, e in self.encoders.items()}
        self.fusion = make_fusion(cfg.strategy, dims, info["n_out"], modality_dropout=cfg.modality_dropout,
                                  **cfg.fusion_kwargs)
        self.loss = task_loss(info["task"], info["label_stats"], cfg.balance_loss)
        self.absent: set[str] = set()  # modalities dropped at test time
        self._text_cache: dict[tuple[str, str], torch.Tensor] = {}
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def train(self, mode: bool = True) -> FusionModule:
        super().train(mode)
        for m, mc in self.cfg.modalities.items():
            if mc.freeze:
                self.encoders[m].eval()  # frozen = a fixed feature extractor (no dropout noise)
        return self

    # ------------------------------------------------------------ forward

    def embed(self, batch: dict[str, Any], m: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) embedding of modality `m` and its (B,) presence in the data."""
        kind, fields, enc = self.kinds[m], self.cfg.modalities[m].fields, self.encoders[m]
        if kind == GATHERED:
            x = torch.cat([batch[f].float().reshape(len(batch["label"]), -1) for f in fields], dim=1)
            return enc(self.standardizers[m](x)), torch.isfinite(x).any(dim=1)
        x, field_kind = batch[fields[0]], get_kind(field_kind_for_input(kind))
        if field_kind.value == "text":
            present = torch.tensor([bool(t.strip()) for t in x], device=self.device)
            return self._embed_text(m, list(x)), present
        if field_kind.graph_role == "nodes":
            edges = self.info["modalities"][m]["edges"]
            weight = batch[edges["edge_weight"]].float() if edges.get("edge_weight") else None
            z = enc(x.float(), batch[edges["edge_index"]], weight, batch["batch"])
        else:
            z = enc(x.float())
        return z, torch.ones(z.shape[0], dtype=torch.bool, device=z.device)

    def _embed_text(self, m: str, texts: list[str]) -> torch.Tensor:
        enc = self.encoders[m]
        if not self.cfg.modalities[m].freeze:
            return enc(texts)
        missing = [t for t in dict.fromkeys(texts) if (m, t) not in self._text_cache]
        if missing:  # a frozen encoder in eval mode is a fixed function: embed each text once
            with torch.no_grad():
                for t, z in zip(missing, enc(missing)):
                    self._text_cache[(m, t)] = z.detach()
        return torch.stack([self._text_cache[(m, t)] for t in texts]).to(self.device)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        embeddings, present = {}, {}
        for m in self.encoders:
            if m not in self.absent:
                embeddings[m], present[m] = self.embed(batch, m)
        if not embeddings:
            raise ValueError(f"every modality is dropped ({sorted(self.absent)})")
        _no_empty_samples(present)
        return self.fusion(embeddings, present)

    # ------------------------------------------------------------ training

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch), batch["label"])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss ({loss.item()}) at step {self.global_step}: lower "
                                     "the learning rate or check the inputs")
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch["label"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._val.append((batch["label"].cpu(), self.loss.scores(self(batch).float()).cpu()))

    def on_validation_epoch_end(self) -> None:
        y = torch.cat([v[0] for v in self._val]).numpy()
        s = torch.cat([v[1] for v in self._val]).numpy()
        self._val.clear()
        metric = headline(self.info["task"])
        value = compute_metrics(self.info["task"], y, s)[metric.name]
        self.log(f"val/{self.cfg.dataset}/{metric.name}", value)
        self.log("val/score", val_score({self.cfg.dataset: metric.oriented(value)}, selecting=self.cfg.selects_on_val),
                 prog_bar=True)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)  # lr: the engine


def _no_empty_samples(present: dict[str, torch.Tensor]) -> None:
    """A sample with nothing present in its data is fed all its (available) modalities as they are."""
    stacked = torch.stack(list(present.values()), dim=1)
    empty = ~stacked.any(dim=1)
    if empty.any():
        for m in present:
            present[m] = present[m] | empty


# ---------------------------------------------------------------- runs


@dataclass
class FusionResult:
    """What one fusion run produced."""

    config: FusionConfig
    rows: list[ResultRow]
    predictions: dict[str, dict[str, np.ndarray]]
    run_dir: Path
    train_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return fusion_frame(self.rows, self.config)


def fusion_frame(rows: Sequence[ResultRow], cfg: FusionConfig) -> pd.DataFrame:
    """Tidy rows; the fusion strategy, modalities, shots, init and dropped modality are typed columns."""
    return to_frame(rows)


class FusionDataModule(L.LightningDataModule):
    """Loaders built once the trainer knows this process's rank and the world size."""

    def __init__(self, cfg: FusionConfig, data: FusionData):
        super().__init__()
        self.cfg, self.data = cfg, data

    def train_dataloader(self) -> DataLoader:
        cfg, n, world = self.cfg, len(self.data.train), self.trainer.world_size
        sampler = SeededShardSampler(n, cfg.seed, True, self.trainer.global_rank, world)
        loader = DataLoader(self.data.train, batch_size=cfg.batch_size, sampler=sampler, collate_fn=self.data.collate,
                            num_workers=cfg.num_workers, drop_last=n // world > cfg.batch_size)
        set_loader_epoch(loader, self.trainer.current_epoch)
        return loader

    def val_dataloader(self) -> list[DataLoader]:
        # every rank validates on the full split: AUROC needs all samples
        val = self.data.val
        return [_eval_loader(val, self.data.collate, self.cfg.eval_batch_size)] if val is not None else []


def _eval_loader(ds: Dataset, collate: Any, batch_size: int) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate)


# "strategy" is the fusion strategy here (a different model); Lightning's is strategy_name
FUSION_RESUMABLE = (RESUMABLE_CHANGES - {"strategy"}) | {"strategy_name", "eval_batch_size", "protocol"}


def run_fusion(cfg: FusionConfig, quiet: bool = True, callbacks: Sequence[Callback] = (),
               fresh: bool = False) -> FusionResult:
    """Train `cfg` and test it: all modalities, each one dropped, and on the `test_on` sites."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data = build_fusion_data(cfg)
    run_dir = cfg.run_dir
    claim_run_dir(run_dir, cfg, resumable=FUSION_RESUMABLE, fresh=fresh)
    module = FusionModule(cfg.model_dump(mode="json"), data.info)
    run = make_trainer(cfg, run_dir, select=data.val is not None and cfg.selects_on_val, callbacks=callbacks,
                       quiet=quiet, log_every_n_steps=5, strategy=cfg.strategy_name)
    run.fit(module, FusionDataModule(cfg, data), fresh=fresh)
    if not run.trainer.is_global_zero:
        return FusionResult(cfg, [], {}, run_dir, run.seconds)
    run.load_tested(module)  # weights loaded in place: no second construction of (large) encoders
    rows, preds = evaluate_fusion(module, data, cfg)
    module.cpu()
    for m, enc in module.encoders.items():
        save_encoder(enc, run_dir / "encoders" / f"{m}.safetensors")
    frame = fusion_frame(rows, cfg)
    frame["train_seconds"] = round(run.seconds, 2)
    frame["train_samples_per_second"] = round(run.speed.rate, 1)
    atomic_write_text(run_dir / "results.csv", frame.to_csv(index=False))
    save_npz(run_dir / "predictions.npz", {f"{key}/{k}": v for key, p in preds.items() for k, v in p.items()})
    record_outputs(run_dir)
    return FusionResult(cfg, rows, preds, run_dir, run.seconds, extra={"samples_per_second": run.speed.rate})


class FusionScorer(L.LightningModule):
    """Lightning's predict step for a fusion model (the modalities in `model.absent` dropped)."""

    def __init__(self, model: FusionModule):
        super().__init__()
        self.model = model

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        scores = self.model.loss.scores(self.model(batch).float())
        return {"y": batch["label"].cpu().numpy(), "score": scores.cpu().numpy(), "patient_id": list(batch["patient_id"])}


def predict_fusion(model: FusionModule, ds: Dataset, collate: Any, absent: Sequence[str] = (),
                   batch_size: int = 64) -> dict[str, np.ndarray]:
    """Labels, scores and patient ids of `ds` with the modalities in `absent` dropped (`Trainer.predict`)."""
    model.absent = set(absent)
    try:
        outputs = predict_loaders(FusionScorer(model), [_eval_loader(ds, collate, batch_size)], model.cfg)[0]
    finally:
        model.absent = set()
    return stack_predictions(outputs)


def evaluate_fusion(model: FusionModule, data: FusionData, cfg: FusionConfig
                    ) -> tuple[list[ResultRow], dict[str, dict[str, np.ndarray]]]:
    """Patient-level bootstrap CIs on every test set, with all modalities and each one dropped."""
    drops: list[tuple[str, ...]] = [()]
    if cfg.evaluate_missing and len(cfg.modalities) > 1:
        drops += [(m,) for m in cfg.modalities]
    rows: list[ResultRow] = []
    preds = {}
    for name, (split, ds) in data.tests.items():
        for absent in drops:
            p = predict_fusion(model, ds, data.collate, absent, cfg.eval_batch_size)
            label = cfg.label + "".join(f"-drop-{m}" for m in absent)
            preds[f"{name}/{label}"] = p
            cis = bootstrap_metrics(data.task.value, p["y"], p["score"], groups=p["patient_id"],
                                    n_boot=cfg.n_boot, seed=cfg.seed)
            rows += result_rows(cis, dataset=name, split=split, protocol="fusion", encoder=cfg.encoders,
                                seed=cfg.seed, notes=[cfg.label_leak] if cfg.label_leak else [],
                                task=data.task.value, trained_on=cfg.dataset, shots=cfg.shots, init=cfg.init,
                                fusion="unimodal" if len(cfg.modalities) == 1 else cfg.strategy,
                                modalities="+".join(cfg.modalities), dropped="+".join(absent) or None)
    return rows, preds


# ---------------------------------------------------------------- the CLIMB fusion protocol


def unimodal_config(base: FusionConfig, modality: str, **update: Any) -> FusionConfig:
    """`base` restricted to one modality (a linear head on its embedding)."""
    if modality not in base.modalities:
        raise KeyError(f"no modality {modality!r}; modalities: {list(base.modalities)}")
    return base.model_copy(update={"modalities": {modality: base.modalities[modality]},
                                   "strategy": "late_average", "modality_dropout": 0.0, "protocol": None, **update})


def _with_pretrained(base: FusionConfig, paths: Mapping[str, str | Path | None]) -> dict[str, ModalityConfig]:
    unknown = sorted(set(paths) - set(base.modalities))
    if unknown:
        raise KeyError(f"pretrained checkpoints for unknown modalities {unknown}; modalities: {list(base.modalities)}")
    from climb.models.weights import check_pretrained

    for m, p in paths.items():
        if p is not None:
            check_pretrained(p, base.modalities[m].encoder)
    return {m: mc.model_copy(update={"pretrained": paths.get(m)}) for m, mc in base.modalities.items()}


def fusion_protocol(dataset: str | FusionConfig, *, strategies: Sequence[str] = FUSION_STRATEGIES,
                    shots: Sequence[int | None] = (None, 8), pretrained: Mapping[str, str | Path | None] | None = None,
                    unimodal: bool = True, seeds: Sequence[int] = (0,), out_dir: Path | None = None,
                    quiet: bool = True, callbacks: Callable[[str], Sequence[Callback]] | None = None,
                    fresh: bool = False, **overrides: Any) -> pd.DataFrame:
    """The CLIMB fusion protocol on one preset (or config): a tidy table, also written to out_dir/results.csv.

    For each seed x data budget (full data, k-shot) x initialisation (scratch; pretrained
    when `pretrained` maps modalities to local single-modality encoder checkpoints):
    unimodal baselines (each modality alone) and every fusion strategy, each fused model
    also tested with each modality dropped. Few-shot is skipped for regression tasks.
    """
    if out_dir is not None:
        overrides["out_dir"] = Path(out_dir)
    base = preset_config(dataset, **overrides) if isinstance(dataset, str) \
        else dataset.model_copy(update=overrides)
    unknown = [s for s in strategies if s not in FUSION_STRATEGIES]
    if unknown:
        raise ValueError(f"unknown fusion strategies {unknown}; known: {', '.join(FUSION_STRATEGIES)}")
    regression = load(base.dataset, "train").task == Task.regression
    inits = {"scratch": base.modalities}
    if pretrained:
        inits["pretrained"] = _with_pretrained(base, pretrained)
    frames = []
    for seed in seeds:
        for k in shots:
            if k is not None and regression:
                warnings.warn(f"{base.dataset}: regression task, {k}-shot setting skipped", stacklevel=2)
                continue
            for init, modalities in inits.items():
                cfg = base.model_copy(update={"seed": seed, "shots": k, "modalities": modalities, "protocol": None})
                for cfg_run in _protocol_runs(cfg, strategies, unimodal, init):
                    extra = list(callbacks(cfg_run.name)) if callbacks else []
                    result = run_fusion(cfg_run, quiet=quiet, callbacks=extra, fresh=fresh)
                    frames.append(result.frame().assign(
                        train_samples_per_second=round(result.extra.get("samples_per_second", 0.0), 1)))
    table = pd.concat(frames, ignore_index=True)
    if is_rank_zero():  # other DDP ranks hold no rows
        base.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(base.out_dir / "results.csv", table.to_csv(index=False))
    return table


def _protocol_runs(cfg: FusionConfig, strategies: Sequence[str], unimodal: bool, init: str) -> list[FusionConfig]:
    runs = []
    if unimodal:
        for m, mc in cfg.modalities.items():
            if init == "pretrained" and mc.pretrained is None:
                continue  # no checkpoint for this modality: its scratch baseline already exists
            runs.append(unimodal_config(cfg, m))
    runs += [cfg.model_copy(update={"strategy": s}) for s in strategies]
    return runs


__all__ = [
    "FusionConfig", "FusionData", "FusionModule", "FusionResult", "ModalityConfig", "PRESETS", "PTBXL_REPORT_LEAK",
    "PresetError", "is_preset_file", "read_preset",
    "build_fusion_data", "evaluate_fusion", "fusion_frame", "fusion_protocol", "modality_kind", "predict_fusion",
    "preset_config", "run_fusion", "unimodal_config",
]
