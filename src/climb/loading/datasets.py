"""`ClimbDataset`: a torch Dataset over one split of a prepared dataset, plus `collate`.

Items are dicts::

    {<field>: torch.Tensor | str, "label": tensor, "patient_id": str, "sample_id": str, "task": name}

Arrays come zero-copy from the memory-mapped Arrow store and are copied once into a
writable tensor. The dataset pickles without its memory map (only the path travels)
and re-opens it lazily, so it works with `DataLoader(num_workers > 0)`.

Batched reads: a DataLoader with automatic batching calls `__getitems__(indices)`, which
gathers each field for the whole batch at once (`FieldView.take`: one numpy gather per shard
of the memory map, straight into shared memory inside a worker). Without a transform and
with fixed-shape fields it returns a `SampleBatch`, already collated, that `collate` passes
through; otherwise the per-sample transforms run on the gathered values exactly as in
`__getitem__` (same values, same (seed, epoch, index) generator) and `collate` stacks them.
Use the dataset's `collate` (or `climb.loading.collate`) as the loader's `collate_fn`.

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
from climb.kinds import get_kind
from climb.prepare.store import CardInfo, PreparedDataset

Sample = dict[str, Any]


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
        return self._finish(self.raw_sample(int(index)), int(index) % len(self))

    def _finish(self, sample: Sample, index: int) -> Sample:
        """Transform (seeded by (seed, epoch, index)) and convert one raw sample to tensors."""
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            sample = self.transform(sample, rng=rng) if _takes_rng(self.transform) else self.transform(sample)
        out = {k: _to_tensor(v, self.kinds.get(k)) for k, v in sample.items() if k != "label"}
        out["label"] = self._label_tensor(sample["label"])
        out["task"] = self.name
        return out

    def raw_batch(self, indices: Sequence[int]) -> dict[str, Any]:
        """Samples `indices` as stored, field by field: (n, ...) arrays for fixed shapes, else lists."""
        idx = self._checked(indices)
        names = [*self.fields, "label", "patient_id", "sample_id"]
        return {name: self._view(name).take(idx) for name in names}

    def __getitems__(self, indices: Sequence[int]) -> SampleBatch | list[Sample]:
        """A batch: one gather per field; collated already when nothing needs per-sample work."""
        idx = self._checked(indices)
        plan = self._batch_plan()
        if plan is None:
            raw = self.raw_batch(idx)
            return [self._finish({k: v[j] for k, v in raw.items()}, int(i)) for j, i in enumerate(idx)]
        columns: dict[str, Any] = {}
        for name, view, dtype in plan:
            if dtype is None:  # strings: lists, as `collate` makes them
                columns[name] = view.take(idx)
            elif view.shape == [] and dtype == torch.float32:  # numbers stored as float64
                columns[name] = torch.from_numpy(view.take(idx).astype(np.float32))
            else:
                out = _empty((len(idx), *view.shape), dtype)
                view.take(idx, out=out.numpy())
                columns[name] = out
        if self.task not in (Task.binary, Task.multiclass):
            columns["label"] = columns["label"].float()
        columns["task"] = self.name
        return SampleBatch(columns, len(idx))

    def _batch_plan(self) -> list[tuple[str, Any, torch.dtype | None]] | None:
        """(name, view, tensor dtype or None for strings) of every column of a collated batch;
        None when samples need per-sample work (a transform, variable shapes, graphs)."""
        if self.transform is not None or self._graph:
            return None
        plan: list[tuple[str, Any, torch.dtype | None]] = []
        for name in [*self.fields, "label", "patient_id", "sample_id"]:
            view = self._view(name)
            value = "text" if name in ("patient_id", "sample_id") else \
                ("array" if name == "label" else get_kind(self.kinds[name]).value)
            if value == "text":
                plan.append((name, view, None))
            elif not view.fixed:
                return None
            elif value == "number":
                plan.append((name, view, torch.float32))
            else:
                plan.append((name, view, torch.from_numpy(np.empty(0, view.value_dtype)).dtype))
        return plan

    @property
    def _graph(self) -> bool:
        return _graph_fields(dict.fromkeys(self.fields), self.kinds) is not None

    def _checked(self, indices: Sequence[int]) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            bad = idx[(idx < -len(self)) | (idx >= len(self))]
            raise IndexError(f"index {int(bad[0])} out of range for {self.name}/{self.split} ({len(self)} samples)")
        return idx % len(self)

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


class SampleBatch(Sequence):
    """A batch gathered field by field (`ClimbDataset.__getitems__`), already collated.

    `collate` returns `columns` as they are; indexing gives per-sample dicts (views of the
    batch), so code that iterates samples, such as torch's `default_collate`, still works.
    """

    def __init__(self, columns: dict[str, Any], size: int):
        self.columns, self.size = columns, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Sample:  # type: ignore[override]
        if not -self.size <= i < self.size:
            raise IndexError(i)
        return {k: v if k == "task" else v[i] for k, v in self.columns.items()}


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor; inside a DataLoader worker in shared memory (saves the copy into it)."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel)
    return torch.empty(0, dtype=dtype).new(storage).resize_(*shape)


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
    if kind is not None and get_kind(kind).value == "number":
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
    if isinstance(batch, SampleBatch):
        return dict(batch.columns)
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
    first = tensors[0]
    if torch.utils.data.get_worker_info() is None or first.device.type != "cpu":
        return torch.stack(tensors)
    return torch.stack(tensors, out=_empty((len(tensors), *first.shape), first.dtype))


def _graph_fields(sample: Sample, kinds: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """(nodes, edges, edge weights or None) field names when the sample is a graph (kinds' `graph_role`)."""
    by_role = {get_kind(kind).graph_role: name for name, kind in kinds.items() if name in sample}
    if "nodes" in by_role and "edges" in by_role:
        return by_role["nodes"], by_role["edges"], by_role.get("edge_weights")
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


__all__ = ["ClimbDataset", "SampleBatch", "collate", "set_epoch"]
