"""The LightningModule behind every protocol: one shared encoder, one head (and loss) per task.

Batches are single-task (`batch["task"]` names the dataset). A task whose input
channels differ from the encoder's gets a learnable 1x1 input adapter, so datasets of
one modality with different lead/channel counts can share an encoder (the encoder takes the
widest input). A non-finite
loss stops training with a clear message instead of silently producing NaN weights.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from climb.evaluate.metrics import compute_metrics, headline
from climb.kinds import get_kind
from climb.models import create_encoder, get_spec, make_head, make_loss
from climb.models.heads import RegressionLoss, TaskLoss
from climb.models.weights import Weights, resolve
from climb.train.config import TrainConfig
from climb.train.data import TaskData

ADAPTER_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}  # a kind's `adapter_dims` -> its 1x1 conv


def input_channels(kind: str, example: torch.Tensor) -> int | None:
    """Channels/features of one (unbatched) example, in the encoder's sense (the kind's `in_channels`)."""
    return get_kind(kind).in_channels(tuple(getattr(example, "shape", ())))


def _adapter(kind: str, c_in: int, c_out: int) -> nn.Module:
    """A learnable per-task channel map (1x1 conv / linear) into the encoder's input width.

    Initialised to preserve the input: a narrower input is tiled (output channel j = input
    channel j mod c_in, e.g. a grayscale image repeated as RGB, one ECG lead on all 12 encoder
    leads), a wider one is averaged in groups. So every task starts by showing the shared
    encoder its own signal, and a new task transferred to a pretrained encoder does not start
    from a random projection.
    """
    dims = get_kind(kind).adapter_dims
    layer = ADAPTER_CONV[dims](c_in, c_out, kernel_size=1) if dims else nn.Linear(c_in, c_out)
    weight = torch.zeros(c_out, c_in)
    if c_in <= c_out:
        weight[torch.arange(c_out), torch.arange(c_out) % c_in] = 1.0
    else:
        groups = torch.arange(c_in) % c_out
        weight[groups, torch.arange(c_in)] = 1.0
        weight /= weight.sum(dim=1, keepdim=True)
    with torch.no_grad():
        layer.weight.copy_(weight.reshape(layer.weight.shape))
        layer.bias.zero_()
    return layer


def encoder_width(channels: list[int | None], weights: Weights | None) -> int | None:
    """The encoder's input width: the pretrained weights' own, else the widest task's.

    The widest input feeds the encoder directly; narrower ones are lifted by an adapter, so no
    dataset loses channels (12-lead PTB-XL is never squeezed into 1 lead). Pretrained weights
    keep the width they were trained with (saved settings, zoo entry or input contract: a
    grayscale dataset reaches an RGB ImageNet encoder through the adapter, tiled).
    """
    if not channels or channels[0] is None:
        return None
    pretrained = weights.in_channels() if weights is not None else None
    return pretrained if pretrained is not None else max(channels)


def encoder_kwargs(cfg: TrainConfig, tasks: dict[str, dict[str, Any]], weights: Weights | None) -> dict[str, Any]:
    """Encoder settings: the pretrained weights' saved ones, then the input contract's adaptation
    (e.g. LaBraM's channel names), then the configuration's `encoder_kwargs` (which win)."""
    stored = (weights.stored_config() or {}) if weights is not None else {}
    stored.pop("in_channels", None)
    adapted = next((t["encoder_kwargs"] for t in tasks.values() if t.get("encoder_kwargs")), {})
    return {**stored, **adapted, **cfg.encoder_kwargs}


class ClimbModule(L.LightningModule):
    """Shared encoder + per-task heads; validation logs per-task AUROC and `val/score`."""

    def __init__(self, config: dict[str, Any], tasks: dict[str, dict[str, Any]]):
        super().__init__()
        self.save_hyperparameters()
        cfg = TrainConfig.model_validate(config)
        self.cfg, self.task_info = cfg, tasks
        weights = resolve(cfg.pretrained, cfg.encoder) if cfg.pretrained is not None else None
        enc_in = encoder_width([t["in_channels"] for t in tasks.values()], weights)
        self.encoder = create_encoder(cfg.encoder, in_channels=enc_in, pretrained=cfg.pretrained,
                                      **encoder_kwargs(cfg, tasks, weights))
        if cfg.freeze_encoder:
            self.encoder.requires_grad_(False)
        dim = self.encoder.out_dim
        self.adapters = nn.ModuleDict({
            n: _adapter(t["kind"], t["in_channels"], enc_in)
            for n, t in tasks.items() if t["in_channels"] is not None and t["in_channels"] != enc_in
        })
        self.heads = nn.ModuleDict({n: make_head(t["task"], dim, t["n_out"]) for n, t in tasks.items()})
        self.losses = nn.ModuleDict({n: task_loss(t["task"], t["label_stats"], cfg.balance_loss)
                                     for n, t in tasks.items()})
        self._val_outputs: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    @classmethod
    def task_info_from(cls, tasks: dict[str, TaskData]) -> dict[str, dict[str, Any]]:
        """The plain-data description of each task that the module is built from (and saved with)."""
        info = {}
        for name, t in tasks.items():
            example = t.train[0][t.field]
            info[name] = {"task": t.task.value, "n_out": t.n_out, "field": t.field, "kind": t.kind,
                          "in_channels": input_channels(t.kind, example), "label_names": t.label_names,
                          "label_stats": label_stats(t.task, t.train_labels, len(t.label_names)),
                          "has_val": t.val is not None, "encoder_kwargs": t.encoder_kwargs}
        return info

    # ------------------------------------------------------------ forward

    def embed(self, batch: dict[str, Any], task: str) -> torch.Tensor:
        info = self.task_info[task]
        x, kind = batch[info["field"]], get_kind(info["kind"])
        if kind.graph_role == "nodes":  # graph encoders take the collated edges too (PyG-style batch)
            return self.encoder(x.float(), batch["edge_index"], batch.get("edge_weight"), batch["batch"])
        if kind.value == "text":
            return self.encoder(x)
        x = x.float()
        if task in self.adapters:
            x = self.adapters[task](x)
        return self.encoder(x)

    def forward(self, batch: dict[str, Any], task: str) -> torch.Tensor:
        return self.heads[task](self.embed(batch, task))

    @staticmethod
    def batch_task(batch: dict[str, Any]) -> str:
        task = batch["task"]
        return task if isinstance(task, str) else task[0]

    # ------------------------------------------------------------ training

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        task = self.batch_task(batch)
        logits = self(batch, task)
        loss = self.losses[task](logits, batch["label"])
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite training loss ({loss.item()}) at step {self.global_step} on task {task!r}: "
                "lower the learning rate, check the inputs for NaN/inf, or use 32-bit precision")
        n = len(batch["label"])
        self.log(f"train/{task}/loss", loss, on_step=True, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
        return loss

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        # the step seed and the learning rate are set by the engine (climb.train.engine)
        if self.cfg.freeze_encoder:
            # a linear probe's encoder stays in eval mode: its BatchNorm statistics must not move
            # (Lightning restores per-module train flags around validation, so set it every step)
            self.encoder.eval()

    def validation_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        # one val loader per task that has a val split, in task order
        task = [n for n, info in self.task_info.items() if info.get("has_val", True)][dataloader_idx]
        scores = self.losses[task].scores(self(batch, task).float())
        self._val_outputs.setdefault(task, []).append((batch["label"].detach().cpu(), scores.detach().cpu()))

    def on_validation_epoch_end(self) -> None:
        values = {}
        for task, outs in self._val_outputs.items():
            y = torch.cat([o[0] for o in outs]).numpy()
            s = torch.cat([o[1] for o in outs]).numpy()
            kind = self.task_info[task]["task"]
            metric = headline(kind)
            value = compute_metrics(kind, y, s)[metric.name]
            self.log(f"val/{task}/{metric.name}", value, sync_dist=True)  # equal on every rank (full split each)
            values[task] = metric.oriented(value)
        self._val_outputs.clear()
        if values:
            self.log("val/score", val_score(values, selecting=self.cfg.selects_on_val), prog_bar=True,
                     sync_dist=True)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)


def val_score(values: dict[str, float], selecting: bool) -> float:
    """Mean over tasks of the headline validation metric, oriented higher = better: the model-selection score.

    The headline is the metric registry's (`climb.evaluate.headline`: AUROC for classification,
    MAE, negated, for regression). A task whose score is undefined (e.g. a validation split, or
    `limit_val_batches` share of it, with one class) cannot take part: when selecting on
    validation that is an error, not a silent mean over the other tasks (or a constant that
    would freeze the first epoch as best).
    """
    undefined = sorted(t for t, v in values.items() if not np.isfinite(v))
    if undefined and selecting:
        raise ValueError(f"validation score undefined for {undefined} (one class in the validation batches?); "
                         "model selection needs it: validate on more batches (limit_val_batches) or set "
                         "model_selection='last'")
    defined = [v for v in values.values() if np.isfinite(v)]
    return float(np.mean(defined)) if defined else float("nan")


def label_stats(task: object, labels: np.ndarray, n_classes: int) -> dict[str, Any]:
    """What a loss needs from the train labels (stored in checkpoints instead of the labels themselves).

    Classification: per-class counts (multilabel: positives per label, NaN ignored) and the
    number of samples; regression: the targets' mean and standard deviation.
    """
    from climb.models import class_counts_from_labels

    task_type = getattr(task, "value", task)
    labels = np.asarray(labels)
    if task_type == "regression":
        y = labels.astype(np.float64)
        return {"mean": float(np.nanmean(y)), "std": float(np.nanstd(y)) or 1.0}
    counts = class_counts_from_labels(task_type, labels, 2 if task_type == "binary" else n_classes)
    return {"class_counts": counts.tolist(), "n_samples": int(len(labels))}


def task_loss(task: str, stats: dict[str, Any], balance: bool) -> TaskLoss:
    """The task's loss from its `label_stats` (imbalance weights from the class counts when `balance`)."""
    if task == "regression":
        return RegressionLoss("mse", stats["mean"], stats["std"])
    return make_loss(task, class_counts=stats["class_counts"], n_samples=stats["n_samples"], balance=balance)


def encoder_modality(name: str) -> str:
    return get_spec(name).modality
