"""Loading throughput: the prepared store vs reading the raw files per sample.

For each dataset, samples/s of random-order access through `climb.load` (memory-mapped
Arrow store) and through the official raw files read per sample:

* PTB-XL (`ptbxl`, `ptbxl_500hz`): `wfdb.rdsamp` of the sample's record;
* MIT-BIH (`mitdb`): `wfdb.rdsamp` of the beat window (`sampfrom`/`sampto`, lead MLII);
* MedMNIST (`pneumoniamnist`): `np.load` of the npz and indexing the sample's array.

Both paths return a torch tensor and the label, in one process and through a
`DataLoader` with 2 workers (batch 64). Also reported: `prepare` throughput (samples/s
of a forced rebuild). Raw data comes from `climb.config.shared_data_dir()`; prepared
data goes to a temporary CLIMB_HOME unless `--home` is given.

    .venv/bin/python benchmarks/loading.py [--datasets pneumoniamnist,ptbxl,mitdb] [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

RAW_FOLDER = {"pneumoniamnist": "medmnist", "ptbxl": "ptbxl", "ptbxl_500hz": "ptbxl", "mitdb": "mitdb"}
DEFAULT_DATASETS = ("pneumoniamnist", "ptbxl", "ptbxl_500hz", "mitdb")
MIN_ORDER = 200_000


# ---------------------------------------------------------------- raw per-sample readers


class RawDataset(Dataset):
    """Reads one sample from the raw files per `__getitem__` (the no-prepare baseline)."""

    def __init__(self, read: Callable[[int], np.ndarray], labels: np.ndarray):
        self.read, self.labels = read, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"x": torch.from_numpy(np.ascontiguousarray(self.read(i), dtype=np.float32)),
                "label": torch.tensor(np.array(self.labels[i]))}


class MedMNISTReader:
    def __init__(self, npz: Path, split: str):
        self.npz, self.key = str(npz), f"{split}_images"

    def __call__(self, i: int) -> np.ndarray:
        with np.load(self.npz) as data:
            return data[self.key][i]


class PTBXLReader:
    def __init__(self, raw: Path, sample_ids: list[str], column: str):
        import pandas as pd

        table = pd.read_csv(raw / "ptbxl_database.csv", index_col="ecg_id")
        self.paths = [str(raw / table.loc[int(s), column]) for s in sample_ids]

    def __call__(self, i: int) -> np.ndarray:
        import wfdb

        signal, _ = wfdb.rdsamp(self.paths[i])
        return signal.T


class MITDBReader:
    def __init__(self, raw: Path, sample_ids: list[str], before: int, after: int):
        self.raw, self.before, self.after = raw, before, after
        self.beats = [(rec, int(pos)) for rec, pos in (s.split(":") for s in sample_ids)]

    def __call__(self, i: int) -> np.ndarray:
        import wfdb

        record, pos = self.beats[i]
        path = str(self.raw / record)
        mlii = wfdb.rdheader(path).sig_name.index("MLII")
        signal, _ = wfdb.rdsamp(path, sampfrom=pos - self.before, sampto=pos + self.after, channels=[mlii])
        return signal.T


def raw_dataset(name: str, ds, raw: Path) -> RawDataset:
    """The raw-file baseline for the same split and order as `ds` (a ClimbDataset)."""
    ids = ds.sample_ids
    if name == "pneumoniamnist":
        reader: Callable = MedMNISTReader(raw / "pneumoniamnist.npz", ds.split)
    elif name.startswith("ptbxl"):
        reader = PTBXLReader(raw, ids, "filename_hr" if name == "ptbxl_500hz" else "filename_lr")
    elif name == "mitdb":
        meta = ds.card["fields"]["signal"]
        reader = MITDBReader(raw, ids, meta["window_before"], meta["window_after"])
    else:
        raise KeyError(name)
    return RawDataset(reader, ds.labels)


# ---------------------------------------------------------------- timing


def single_process(dataset: Dataset, order: np.ndarray, seconds: float) -> float:
    """Samples/s reading `dataset[i]` for i in `order` until `seconds` have passed."""
    dataset[int(order[0])]  # open files / memory maps outside the clock
    start, count = time.perf_counter(), 0
    for i in order:
        dataset[int(i)]
        count += 1
        if time.perf_counter() - start > seconds:
            break
    return count / (time.perf_counter() - start)


def with_workers(dataset: Dataset, order: np.ndarray, seconds: float, workers: int) -> float:
    """Samples/s through a DataLoader (batch 64, `workers` workers), worker start-up included."""
    loader = DataLoader(dataset, batch_size=64, sampler=order.tolist(), num_workers=workers,
                        collate_fn=getattr(dataset, "collate", None))
    start, count = time.perf_counter(), 0
    for batch in loader:
        count += len(batch["label"])
        if time.perf_counter() - start > seconds:
            break
    return count / (time.perf_counter() - start)


def prepare_throughput(name: str, raw: Path) -> tuple[int, float]:
    from climb.prepare import prepare

    start = time.perf_counter()
    ds = prepare(name, raw=raw, force=True)
    return len(ds), len(ds) / (time.perf_counter() - start)


# ---------------------------------------------------------------- main


def run(names: list[str], seconds: float, workers: int) -> tuple[list[tuple], list[tuple]]:
    import climb
    from climb.config import shared_data_dir

    shared = shared_data_dir()
    if shared is None:
        raise SystemExit("real data not present: ../shared/data (or $CLIMB_SHARED_DATA) is missing")
    loading, preparing = [], []
    for name in names:
        raw = shared / RAW_FOLDER[name]
        n, rate = prepare_throughput(name, raw)
        preparing.append((name, n, rate))
        ds = climb.load(name, split="train")
        # random order, repeated so that small splits fill the time budget
        rng = np.random.default_rng(0)
        order = np.concatenate([rng.permutation(len(ds)) for _ in range(-(-MIN_ORDER // len(ds)))])
        baseline = raw_dataset(name, ds, raw)
        row = [name, len(ds)]
        for measure in (lambda d: single_process(d, order, seconds), lambda d: with_workers(d, order, seconds, workers)):
            fast, slow = measure(ds), measure(baseline)
            row += [fast, slow, fast / slow]
        loading.append(tuple(row))
    return loading, preparing


def print_tables(loading: list[tuple], preparing: list[tuple], workers: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Loading throughput, train split, random order (samples/s)")
    for col in ("dataset", "samples", "prepared 1p", "raw 1p", "ratio 1p",
                f"prepared {workers}w", f"raw {workers}w", f"ratio {workers}w"):
        table.add_column(col, justify="left" if col == "dataset" else "right")
    for name, n, *vals in loading:
        cells = [f"{v:,.0f}" if i % 3 != 2 else f"{v:,.1f}x" for i, v in enumerate(vals)]
        table.add_row(name, f"{n:,}", *cells)
    prep = Table(title="prepare throughput (forced rebuild from the raw files)")
    for col in ("dataset", "samples", "samples/s"):
        prep.add_column(col, justify="left" if col == "dataset" else "right")
    for name, n, rate in preparing:
        prep.add_row(name, f"{n:,}", f"{rate:,.0f}")
    console = Console(width=max(Console().width, 110))
    console.print(table)
    console.print(prep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    parser.add_argument("--seconds", type=float, default=4.0, help="time budget per measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="CLIMB_HOME to prepare into (default: temporary)")
    args = parser.parse_args()
    names = [n for n in args.datasets.split(",") if n]
    unknown = [n for n in names if n not in RAW_FOLDER]
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {sorted(RAW_FOLDER)}")
    with tempfile.TemporaryDirectory(prefix="climb-bench-") as tmp:
        os.environ["CLIMB_HOME"] = str(args.home or tmp)
        loading, preparing = run(names, args.seconds, args.workers)
    print_tables(loading, preparing, args.workers)


if __name__ == "__main__":
    main()
