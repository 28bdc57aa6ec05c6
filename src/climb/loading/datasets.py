"""`ClimbDataset`: a torch Dataset over one split of a prepared dataset, plus `collate`.

Items are dicts::

    {<field>: torch.Tensor | str, "label": tensor, "patient_id": str, "sample_id": str, "task": name}

Arrays come zero-copy from the memory-mapped Arrow store and are copied once into a
writable tensor. The dataset pickles without its memory map (only the path travels)
and re-opens it lazily, so it works with `DataLoader(num_workers > 0)`.

Collation (`collate`): tensors of equal shape are stacked, strings become lists
(`task` stays one string when the whole batch is one task), tensors of unequal shape
stay lists. Graph samples (`node_features` + `edge_index` fields) are collated PyG-style:
node features concatenated to (sum N, F), edge indices offset and concatenated to
(2, sum E), edge weights concatenated, plus `batch` (sum N,) = graph index of each node.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from climb.catalog.schema import Task
from climb.prepare.store import CardInfo, PreparedDataset

Sample = dict[str, Any]
ARRAY_KINDS = {"image", "volume", "video", "signal", "eeg", "tabular", "timeseries",
               "node_features", "edge_index", "edge_weight", "mask"}


class ClimbDataset(CardInfo, Dataset):
    """One split of a prepared dataset as a map-style torch Dataset.

    `transform`: a `FieldTransforms`/callable on the sample dict (numpy arrays, before
    conversion to tensors; called with `rng=` when it accepts it), a mapping
    field -> transform, or "default" for `default_transform(card, train=split == "train")`.
    Random transforms get a generator seeded by (seed, epoch, index): reproducible and
    independent of the number of DataLoader workers; call `set_epoch` between epochs.
    """

    def __init__(self, prepared: PreparedDataset | str | Path, split: str = "train",
                 transform: Callable | Mapping[str, Callable] | str | None = None,
                 fields: Sequence[str] | None = None, seed: int = 0):
        store = prepared if isinstance(prepared, PreparedDataset) else PreparedDataset(Path(prepared))
        self.root = store.root
        self.split = split
        self.card: dict[str, Any] = store.card
        if split not in self.card["splits"]:
            raise KeyError(f"{store.name} has no split {split!r}; splits: {store.splits}")
        self.kinds: dict[str, str] = {n: m["kind"] for n, m in self.card["fields"].items() if n != "label"}
        self.fields = list(self.kinds) if fields is None else list(fields)
        unknown = [f for f in self.fields if f not in self.kinds]
        if unknown:
            raise KeyError(f"{store.name}: unknown field(s) {unknown}; fields: {list(self.kinds)}")
        self.transform = _resolve_transform(transform, self.card, split)
        self.seed = seed
        self.epoch = 0
        self._store: PreparedDataset | None = store
        self._views: dict[str, Any] = {}
        self._labels: np.ndarray | None = None
        self._patient_ids: list[str] | None = None

    # -------------------------------------------------------------- metadata

    @property
    def labels(self) -> np.ndarray:
        """All labels of the split (int, float, or (N, K) multilabel), without decoding samples."""
        if self._labels is None:
            self._labels = self._open().labels(self.split)
        return self._labels

    @property
    def patient_ids(self) -> list[str]:
        if self._patient_ids is None:
            self._patient_ids = self._open().table(self.split).column("patient_id").to_pylist()
        return self._patient_ids

    @property
    def sample_ids(self) -> list[str]:
        return self._open().table(self.split).column("sample_id").to_pylist()

    def set_epoch(self, epoch: int) -> None:
        """Change the seed stream of random transforms (call once per epoch)."""
        self.epoch = int(epoch)

    # -------------------------------------------------------------- access

    def __len__(self) -> int:
        return int(self.card["splits"][self.split]["num_samples"])

    def _open(self) -> PreparedDataset:
        if self._store is None:
            self._store = PreparedDataset(self.root)
        return self._store

    def _view(self, name: str):
        if name not in self._views:
            self._views[name] = self._open().field(self.split, name)
        return self._views[name]

    def raw_sample(self, index: int) -> Sample:
        """Sample `index` as stored: numpy arrays (read-only views), label, ids; no transform."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {self.name}/{self.split} ({len(self)} samples)")
        index = index % len(self)
        sample: Sample = {name: self._view(name)[index] for name in self.fields}
        sample["label"] = self._view("label")[index]
        sample["patient_id"] = self._view("patient_id")[index]
        sample["sample_id"] = self._view("sample_id")[index]
        return sample

    def __getitem__(self, index: int) -> Sample:
        sample = self.raw_sample(int(index))
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, int(index) % len(self)])
            sample = self.transform(sample, rng=rng) if _takes_rng(self.transform) else self.transform(sample)
        out = {k: _to_tensor(v, self.kinds.get(k)) for k, v in sample.items() if k != "label"}
        out["label"] = self._label_tensor(sample["label"])
        out["task"] = self.name
        return out

    def _label_tensor(self, label: Any) -> torch.Tensor:
        if self.task in (Task.binary, Task.multiclass):
            return torch.tensor(int(label), dtype=torch.long)
        return torch.tensor(np.asarray(label, dtype=np.float32))

    # -------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None
        state["_views"] = {}
        return state

    def collate(self, batch: list[Sample]) -> dict[str, Any]:
        """`collate` with this dataset's field kinds (graph fields batched PyG-style)."""
        return collate(batch, self.kinds)

    def __repr__(self) -> str:
        return f"ClimbDataset({self.name!r}, split={self.split!r}, n={len(self)}, fields={self.fields})"


def set_epoch(ds: Dataset, epoch: int) -> None:
    """Set the epoch of every `ClimbDataset` inside `ds` (through subsets, concatenations, mixes).

    Random transforms are seeded by (seed, epoch, index): without this, every epoch would
    see the same crops and flips.
    """
    if isinstance(ds, Subset):
        set_epoch(ds.dataset, epoch)
    elif isinstance(ds, ConcatDataset):
        for part in ds.datasets:
            set_epoch(part, epoch)
    elif hasattr(ds, "set_epoch"):
        ds.set_epoch(epoch)


def _takes_rng(fn: Callable) -> bool:
    try:
        return "rng" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _resolve_transform(transform, card: Mapping[str, Any], split: str) -> Callable | None:
    from climb.loading.transforms import FieldTransforms, default_transform

    if transform is None or callable(transform):
        return transform
    if transform == "default":
        return default_transform(card, train=split == "train")
    if isinstance(transform, Mapping):
        return FieldTransforms(transform)
    raise TypeError(f"transform must be a callable, a mapping field -> transform or 'default', not {transform!r}")


def _to_tensor(value: Any, kind: str | None) -> Any:
    if isinstance(value, (str, torch.Tensor)) or value is None:
        return value
    if kind == "scalar":
        return torch.tensor(float(value), dtype=torch.float32)
    if np.isscalar(value):
        return torch.tensor(value)
    arr = np.asarray(value)
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, order="C")  # one copy out of the read-only memory map
    return torch.from_numpy(arr)


# ---------------------------------------------------------------- collation


def collate(batch: list[Sample], kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Collate samples into a batch (see the module docstring for the rules)."""
    if not batch:
        raise ValueError("collate: empty batch")
    kinds = kinds or {}
    graph = _graph_fields(batch[0], kinds)
    out: dict[str, Any] = {}
    if graph:
        out.update(_collate_graph(batch, *graph))
    for key in batch[0]:
        if key in out:
            continue
        values = [s[key] for s in batch]
        out[key] = _collate_values(key, values)
    return out


def _collate_values(key: str, values: list[Any]) -> Any:
    if key == "task" and all(isinstance(v, str) for v in values) and len(set(values)) == 1:
        return values[0]
    if all(isinstance(v, torch.Tensor) for v in values):
        if len({tuple(v.shape) for v in values}) == 1:
            return _stack(values)
        return values
    return list(values)


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """`torch.stack`; inside a DataLoader worker straight into shared memory (saves a copy)."""
    out = None
    if torch.utils.data.get_worker_info() is not None:
        first = tensors[0]
        storage = first._typed_storage()._new_shared(sum(t.numel() for t in tensors), device=first.device)
        out = first.new(storage).resize_(len(tensors), *first.shape)
    return torch.stack(tensors, out=out)


def _graph_fields(sample: Sample, kinds: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    by_kind = {kind: name for name, kind in kinds.items() if name in sample}
    if "node_features" in by_kind and "edge_index" in by_kind:
        return by_kind["node_features"], by_kind["edge_index"], by_kind.get("edge_weight")
    return None


def _collate_graph(batch: list[Sample], nodes: str, edges: str, weights: str | None) -> dict[str, Any]:
    counts = [int(s[nodes].shape[0]) for s in batch]
    offsets = np.cumsum([0] + counts[:-1])
    out: dict[str, Any] = {
        nodes: torch.cat([s[nodes] for s in batch]),
        edges: torch.cat([s[edges].long() + int(o) for s, o in zip(batch, offsets)], dim=1),
        "batch": torch.repeat_interleave(torch.arange(len(batch)), torch.tensor(counts)),
    }
    if weights is not None:
        out[weights] = torch.cat([s[weights] for s in batch])
    return out


__all__ = ["ClimbDataset", "collate", "set_epoch"]
