"""Multitask training over several datasets: one shared encoder, one head per dataset.

`MultiTaskDataset` concatenates datasets (global index = offset of the task + local
index) and tags every item with its task name. A batch of one task (what the sampler
yields) is read with that task's batched read (`__getitems__`: one gather per field). `MultiTaskBatchSampler` yields batches
of global indices, each from ONE task, so `batch["task"]` (one string after `collate`)
says which head to apply.

Task choice per batch (`rule`):
    proportional   P(task t) ∝ n_t                       (every sample ~once per epoch)
    temperature    P(task t) ∝ n_t ** (1 / T)            (T=1: proportional, T->inf: uniform)
    round_robin    tasks in turn: t0, t1, ..., t0, ...    (equal batches per task)

Epoch length: by default one epoch has sum_t ceil(n_t / batch_size) batches, i.e. as
many batches as iterating each dataset once on its own would take (override with
`num_batches`). Within a task, samples come from a seeded permutation that is reshuffled
whenever it is exhausted, so small tasks that are oversampled cycle through all their
samples before repeating one. A batch holds min(batch_size, n_t) distinct samples.
Everything is seeded by (seed, epoch); call `set_epoch` each epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Sampler

RULES = ("proportional", "temperature", "round_robin")


class MultiTaskDataset(Dataset):
    """Several datasets behind one index space; items carry `task` = the dataset's name."""

    def __init__(self, datasets: Mapping[str, Any] | Sequence[Any]):
        if isinstance(datasets, Mapping):
            self.datasets = dict(datasets)
        else:
            self.datasets = {getattr(d, "name", str(i)): d for i, d in enumerate(datasets)}
            if len(self.datasets) != len(datasets):
                raise ValueError("two datasets share a name; pass a mapping task -> dataset")
        if not self.datasets:
            raise ValueError("MultiTaskDataset needs at least one dataset")
        self.tasks = list(self.datasets)
        self.sizes = [len(d) for d in self.datasets.values()]
        self.offsets = np.cumsum([0] + self.sizes)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[str, int]:
        """(task name, local index) of global `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range ({len(self)} samples)")
        t = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return self.tasks[t], int(index - self.offsets[t])

    def __getitem__(self, index: int) -> dict[str, Any]:
        task, local = self.locate(int(index))
        item = dict(self.datasets[task][local])
        item["task"] = task
        return item

    def __getitems__(self, indices: Sequence[int]) -> Any:
        """A batch: through the task dataset's own batched read when all indices are one task's."""
        idx = np.asarray(indices, dtype=np.int64)
        if len(idx) and idx.min() >= 0 and idx.max() < len(self):
            tasks = np.searchsorted(self.offsets, idx, side="right") - 1
            if (tasks == tasks[0]).all():
                task = self.tasks[int(tasks[0])]
                ds = self.datasets[task]
                if callable(getattr(ds, "__getitems__", None)):
                    return _tagged(ds.__getitems__((idx - self.offsets[tasks[0]]).tolist()), task)
        return [self[int(i)] for i in indices]

    def collate(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Collate a single-task batch with that task's collate function."""
        task = batch[0]["task"]
        ds = self.datasets[task]
        if hasattr(ds, "collate"):
            return ds.collate(batch)
        from climb.loading.datasets import collate

        return collate(batch)

    def batch_sampler(self, batch_size: int, **kwargs: Any) -> MultiTaskBatchSampler:
        return MultiTaskBatchSampler(self.sizes, batch_size, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        from climb.loading.datasets import set_epoch

        for ds in self.datasets.values():
            set_epoch(ds, epoch)


def _tagged(batch: Any, task: str) -> Any:
    """`batch` (a `SampleBatch` or a list of samples) with `task` set, as `__getitem__` sets it."""
    from climb.loading.datasets import SampleBatch

    if isinstance(batch, SampleBatch):
        return SampleBatch({**batch.columns, "task": task}, len(batch))
    return [{**item, "task": task} for item in batch]


def task_probabilities(sizes: Sequence[int], rule: str, temperature: float = 1.0) -> np.ndarray:
    """Probability of drawing each task for a batch under `rule` (round_robin: uniform)."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
    n = np.asarray(sizes, dtype=np.float64)
    if rule == "temperature":
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        weights = n ** (1.0 / temperature)
    elif rule == "proportional":
        weights = n
    else:
        weights = (n > 0).astype(np.float64)
    return weights / weights.sum()


class MultiTaskBatchSampler(Sampler[list[int]]):
    """Batches of global indices of a `MultiTaskDataset`, each from one task (module doc)."""

    def __init__(self, sizes: Sequence[int], batch_size: int, rule: str = "proportional",
                 temperature: float = 1.0, seed: int = 0, num_batches: int | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if any(s < 1 for s in sizes):
            raise ValueError(f"every task needs samples; sizes: {list(sizes)}")
        self.sizes = [int(s) for s in sizes]
        self.offsets = np.cumsum([0] + self.sizes)
        self.batch_size = batch_size
        self.rule = rule
        self.temperature = temperature
        self.probabilities = task_probabilities(self.sizes, rule, temperature)
        self.seed = seed
        self.epoch = 0
        self.num_batches = num_batches or sum(-(-s // batch_size) for s in self.sizes)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches

    def task_schedule(self, rng: np.random.Generator) -> np.ndarray:
        """The task index of each batch of the epoch."""
        if self.rule == "round_robin":
            return np.arange(self.num_batches) % len(self.sizes)
        return rng.choice(len(self.sizes), size=self.num_batches, p=self.probabilities)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        streams = [_Stream(n, rng) for n in self.sizes]
        for t in self.task_schedule(rng):
            local = streams[t].take(min(self.batch_size, self.sizes[t]))
            yield (local + int(self.offsets[t])).tolist()


class _Stream:
    """Endless seeded permutations of range(n); `take` never repeats within one batch."""

    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng
        self.order = rng.permutation(n)
        self.pos = 0

    def take(self, count: int) -> np.ndarray:
        out = self.order[self.pos:self.pos + count]
        self.pos += len(out)
        if len(out) < count:
            fresh = self.rng.permutation(np.setdiff1d(np.arange(self.n), out))
            need = count - len(out)
            out = np.concatenate([out, fresh[:need]])
            rest = np.setdiff1d(np.arange(self.n), fresh[:need])
            self.order = np.concatenate([fresh[:need], self.rng.permutation(rest)])
            self.pos = need
        return out


__all__ = ["MultiTaskBatchSampler", "MultiTaskDataset", "RULES", "task_probabilities"]
