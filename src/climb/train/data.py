"""Datasets and loaders for training: one `TaskData` per prepared dataset, seeded shardable samplers.

Samplers are seeded per epoch (`set_epoch`) and shard themselves across DDP ranks, so
a run is reproducible, resumable at epoch boundaries, and identical in what it sees
whether it runs on one process or several.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from climb.catalog.schema import Task
from climb.kinds import get_kind
from climb.loading import ClimbDataset, MultiTaskBatchSampler, MultiTaskDataset, few_shot_indices, load, set_epoch
from climb.loading.transforms import default_transform

if TYPE_CHECKING:
    from climb.models.contract import InputContract
    from climb.train.config import TrainConfig

log = logging.getLogger(__name__)

CLASSIFICATION = (Task.binary, Task.multiclass, Task.multilabel)
EDGE_ROLES = ("edges", "edge_weights")


@dataclass
class TaskData:
    """One dataset as a training task: its splits, field, label space and train label stats."""

    name: str
    task: Task
    label_names: list[str]
    field: str
    kind: str
    train: Dataset
    val: ClimbDataset | None
    test: ClimbDataset | None
    train_labels: np.ndarray
    encoder_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)  # from the weights' input contract
    # the default transform's options its splits were built with (the configuration's, met to the contract)
    transform_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_out(self) -> int:
        if self.task == Task.binary:
            return 1
        if self.task == Task.regression:
            return 1
        return len(self.label_names)

    def collate(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        return self.val.collate(batch) if self.val is not None else _base(self.train).collate(batch)


def _base(ds: Dataset) -> ClimbDataset:
    return ds.dataset if isinstance(ds, Subset) else ds  # type: ignore[return-value]


def graph_fields(card: dict[str, Any]) -> list[str]:
    """The fields that complete a graph's nodes: its edges (and edge weights), by their kinds' `graph_role`."""
    return [f for f, m in card["fields"].items() if f != "label" and get_kind(m["kind"]).graph_role in EDGE_ROLES]


def pick_field(card: dict[str, Any], modality: str, requested: str | None) -> tuple[str, str]:
    """The (field, kind) an encoder of `modality` reads from a prepared dataset's card."""
    fields = {k: v["kind"] for k, v in card["fields"].items() if k != "label"}
    if requested is not None:
        if requested not in fields:
            raise ValueError(f"{card['name']}: no field {requested!r}; fields: {sorted(fields)}")
        return requested, fields[requested]
    for name, kind in fields.items():
        if get_kind(kind).encoder_input == modality:  # the kind feeds this encoder modality
            return name, kind
    raise ValueError(f"{card['name']}: no {modality!r} field (of a kind that feeds {modality} encoders); "
                     f"fields: {fields}")


def pretrained_contract(cfg: TrainConfig) -> InputContract | None:
    """The input contract of `cfg.pretrained` (None: no weights, or weights that declare none)."""
    from climb.models.weights import resolve

    return resolve(cfg.pretrained, cfg.encoder).contract if cfg.pretrained is not None else None


def contract_options(contract: InputContract, card: dict[str, Any], field_name: str,
                     options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`default_transform` options, encoder settings) that make `card`'s field meet the weights' contract.

    `climb.models.contract.meet_contract` decides and logs every adaptation (resize, channel
    repeat, lead selection), or raises `ContractError`. The configuration's own options are
    the user's explicit choice: they win over the contract's, and a `sampling_rate` equal to the
    contract's is the consent to resample (`allow_resample`).
    """
    from climb.models.contract import meet_contract

    consent = contract.sampling_rate is not None and options.get("sampling_rate") == contract.sampling_rate
    adaptation = meet_contract(contract, card, field_name, allow_resample=consent)
    overridden = sorted(k for k, v in options.items() if k in adaptation.transform_options
                        and v != adaptation.transform_options[k])
    if overridden:
        log.warning("%s.%s: transform option(s) %s set by the configuration, not the weights' contract (%s)",
                    card.get("name"), field_name, overridden, contract.describe())
    return {**adaptation.transform_options, **options}, adaptation.encoder_kwargs


def build_task(name: str, modality: str, *, input_field: str | None, transform: str | None,
               shots: int | None, seed: int, transform_options: dict[str, Any] | None = None,
               contract: InputContract | None = None) -> TaskData:
    """Load the splits of prepared dataset `name` for an encoder of `modality`.

    `transform="default"` builds `default_transform(card, train=..., **transform_options)` per
    split (augmentation, if asked for, only on train); with a pretrained encoder's `contract`,
    the options first meet it (`contract_options`).
    """
    train = load(name, "train", seed=seed)
    card = train.card
    field, kind = pick_field(card, modality, input_field)
    options, encoder_kwargs = dict(transform_options or {}), {}
    if contract is not None and transform == "default":
        options, encoder_kwargs = contract_options(contract, card, field, options)
    keep = [field, *graph_fields(card)] if get_kind(kind).graph_role == "nodes" else [field]

    def split(part: str) -> ClimbDataset:
        t: Any = transform
        if transform == "default":
            t = default_transform(card, train=part == "train", seed=seed, **options)
        return load(name, part, transform=t, fields=keep, seed=seed)

    train = split("train")
    splits = card["splits"]
    val = split("val") if "val" in splits else None
    test = split("test") if "test" in splits else None
    labels = train.labels
    subset: Dataset = train
    if shots is not None:
        idx = few_shot_indices(labels, shots, seed=seed, task=train.task)
        subset, labels = Subset(train, idx.tolist()), labels[idx]
    return TaskData(name, train.task, train.label_names, field, kind, subset, val, test, labels, encoder_kwargs,
                    options)


class SeededShardSampler(Sampler[int]):
    """A per-epoch seeded permutation (or identity), padded and split across ranks."""

    def __init__(self, n: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1):
        self.n, self.seed, self.shuffle, self.rank, self.world = n, seed, shuffle, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.n // self.world)

    def __iter__(self) -> Iterator[int]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
                 if self.shuffle else np.arange(self.n))
        order = np.resize(order, len(self) * self.world)  # pad by wrapping so ranks are equal
        return iter(order[self.rank::self.world].tolist())


class ShardedBatchSampler(Sampler[list[int]]):
    """Every `world`-th batch of a batch sampler, for rank `rank` (equal counts per rank)."""

    def __init__(self, inner: MultiTaskBatchSampler, rank: int = 0, world: int = 1):
        self.inner, self.rank, self.world = inner, rank, world

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.inner) // self.world

    def __iter__(self) -> Iterator[list[int]]:
        for i, batch in enumerate(self.inner):
            if i >= len(self) * self.world:
                return
            if i % self.world == self.rank:
                yield batch


def train_loader(tasks: Sequence[TaskData], batch_size: int, seed: int, *, sampling: str,
                 temperature: float, num_workers: int, rank: int = 0, world: int = 1) -> DataLoader:
    """One task: a seeded shuffled loader; several: single-task batches mixed by `sampling`."""
    if len(tasks) == 1:
        t = tasks[0]
        sampler = SeededShardSampler(len(t.train), seed, True, rank, world)
        return DataLoader(t.train, batch_size=batch_size, sampler=sampler, collate_fn=t.collate,
                          num_workers=num_workers, drop_last=len(t.train) // world > batch_size)
    multi = MultiTaskDataset({t.name: t.train for t in tasks})
    inner = MultiTaskBatchSampler(multi.sizes, batch_size, rule=sampling, temperature=temperature, seed=seed)
    return DataLoader(multi, batch_sampler=ShardedBatchSampler(inner, rank, world),
                      collate_fn=TaskCollate({t.name: t for t in tasks}), num_workers=num_workers)


class TaskCollate:
    """Collate a single-task batch with its task's collate (picklable, for worker processes)."""

    def __init__(self, tasks: dict[str, TaskData]):
        self.tasks = tasks

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = self.tasks[batch[0]["task"]].collate(batch)
        out["task"] = batch[0]["task"]
        return out


def set_loader_epoch(loader: DataLoader, epoch: int) -> None:
    """Seed epoch `epoch` of a training loader: its (batch) sampler's order and its datasets' augmentation.

    Lightning only seeds a loader's `sampler`, not a custom batch sampler (multitask) nor the
    datasets, whose random transforms are seeded by (seed, epoch, index). So every trainer
    rebuilds its training loader each epoch (`reload_dataloaders_every_n_epochs=1`) and seeds
    it here when building it. Workers are not persistent: they copy the dataset, with its
    epoch, when the loader is iterated (for a resumed run, before any epoch hook runs).
    """
    for sampler in (loader.sampler, loader.batch_sampler):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
    set_epoch(loader.dataset, epoch)


def eval_loader(ds: ClimbDataset, batch_size: int, num_workers: int = 0) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=ds.collate, num_workers=num_workers)
