"""Load: prepared datasets as torch Datasets, transforms, multitask sampling, few-shot, export.

    import climb
    train = climb.load("pneumoniamnist", split="train", transform="default")
    loader = DataLoader(train, batch_size=64, shuffle=True, num_workers=2, collate_fn=train.collate)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb.loading.datasets import ClimbDataset, collate, set_epoch
from climb.loading.fewshot import FewShotSubset, few_shot_indices
from climb.loading.multitask import MultiTaskBatchSampler, MultiTaskDataset
from climb.loading.transforms import default_transform
from climb.prepare.store import PreparedDataset

__all__ = [
    "ClimbDataset", "FewShotSubset", "MultiTaskBatchSampler", "MultiTaskDataset", "collate",
    "default_transform", "few_shot_indices", "load", "open_store", "set_epoch",
]


def open_store(name: str | Path | PreparedDataset, prepare_if_missing: bool = False, download: bool = False,
               **prepare_kwargs: Any) -> PreparedDataset:
    """The prepared store for `name` (a dataset name, a prepared directory, or a store).

    With `prepare_if_missing`, a dataset that is not prepared yet is prepared first
    (`prepare_kwargs` go to `climb.prepare.prepare`, e.g. `raw=DIR`). `download` implies it and
    fetches the raw files first, verified (`climb.acquire`; `mirror=URL` stands in for the official
    host); a credentialed dataset says which credentials to provide. A prepared dataset is opened as is.
    """
    from climb.prepare import open_prepared, prepare

    if isinstance(name, PreparedDataset):
        return name
    if isinstance(name, Path) or (isinstance(name, str) and ("/" in name or "\\" in name)):
        return PreparedDataset(Path(name))
    try:
        return open_prepared(name)
    except FileNotFoundError:
        if not (prepare_if_missing or download):
            raise
        return prepare(name, download=download, **prepare_kwargs)


def load(name: str | Path | PreparedDataset, split: str = "train",
         transform: Callable | Mapping[str, Callable] | str | None = None,
         fields: Sequence[str] | None = None, prepare_if_missing: bool = False,
         seed: int = 0, download: bool = False, **prepare_kwargs: Any) -> ClimbDataset:
    """A `ClimbDataset` over `split` of prepared dataset `name` (see `ClimbDataset`).

    `download=True`: a dataset not prepared yet is downloaded (verified), prepared, then loaded
    (see `open_store`), like torchvision's and MedMNIST's `download=True`.
    """
    store = open_store(name, prepare_if_missing, download, **prepare_kwargs)
    return ClimbDataset(store, split=split, transform=transform, fields=fields, seed=seed)

