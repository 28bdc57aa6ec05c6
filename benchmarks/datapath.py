"""The data path at CLIMB scale: preparation, loading and storage, side by side and as ratios, one run.

1. prepare: samples/s of forced rebuilds of real PTB-XL (500 WFDB records, `ptbxl`) and
   PneumoniaMNIST (5,856 npz images) with 1 and 2 worker processes and on a local
   two-worker Dask cluster (`distributed`); ratio to 1 worker;
2. load: real PneumoniaMNIST train (4,708 x 1x28x28 uint8), one thread, random order:
   per sample (`ds[i]`) and per batch (`ds.collate(ds.__getitems__(idx))`) through climb,
   vs indexing the same arrays held in memory (per sample: `torch.from_numpy(images[i])`
   and the label; per batch: a torch tensor indexed by the batch's indices); for the
   arrays store and the PNG store (decoded on read), and per batch with the default
   transform (float, ImageNet normalisation);
3. bytes per sample: raw source bytes vs the store (arrays / png / jpeg) for
   PneumoniaMNIST, PTB-XL and COVID-BLUES (24 real lung ultrasound MP4 clips,
   16 frames x 3 x 112 x 112).

    python benchmarks/datapath.py [--seconds 3] [--batch 128] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def rate(step: Callable[[int], int], seconds: float) -> float:
    """Samples/s of `step(k)` (returns samples done) called with k = 0, 1, ... for `seconds`."""
    step(0)  # warm: open memory maps, caches
    start, done, k = time.perf_counter(), 0, 1
    while (elapsed := time.perf_counter() - start) < seconds:
        done += step(k)
        k += 1
    return done / elapsed


def prepare_rates(shared: Path) -> list[tuple[str, int, float, float, float]]:
    """(dataset, samples, 1 worker, 2 workers, Dask 2 workers) samples/s of forced rebuilds."""
    from climb.prepare import prepare

    def timed(name: str, folder: str, **kw) -> tuple[int, float]:
        start = time.perf_counter()
        ds = prepare(name, raw=shared / folder, force=True, **kw)
        return len(ds), len(ds) / (time.perf_counter() - start)

    rows = []
    for name, folder in (("ptbxl", "ptbxl"), ("pneumoniamnist", "medmnist")):
        n, one = timed(name, folder, workers=1)
        _, two = timed(name, folder, workers=2)
        dask = float("nan")
        try:
            import distributed
        except ImportError:
            distributed = None
        if distributed is not None:
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cluster, distributed.Client(cluster) as client:
                _, dask = timed(name, folder, cluster=client)
        rows.append((name, n, one, two, dask))
    return rows


def load_rates(shared: Path, seconds: float, batch: int) -> list[tuple[str, float, float]]:
    """(what, per-sample samples/s, per-batch samples/s), one thread, random order."""
    import climb
    from climb.prepare import prepare

    raw = np.load(shared / "medmnist" / "pneumoniamnist.npz")
    images, labels = raw["train_images"][:, None], raw["train_labels"][:, 0].astype(np.int64)
    order = np.random.default_rng(0).permutation(np.resize(np.arange(len(labels)), 2_000_000))
    t_images, t_labels = torch.from_numpy(images), torch.from_numpy(labels)

    def per_sample(get: Callable[[int], object]) -> Callable[[int], int]:
        def step(k: int) -> int:
            for i in order[k * 256 % len(order):][:256]:
                get(int(i))
            return 256
        return step

    def per_batch(get: Callable[[np.ndarray], object]) -> Callable[[int], int]:
        def step(k: int) -> int:
            start = k * batch % (len(order) - batch)
            get(order[start:start + batch])
            return batch
        return step

    rows = [("in memory", rate(per_sample(lambda i: (torch.from_numpy(images[i]), torch.tensor(labels[i]))), seconds),
             rate(per_batch(lambda idx: (t_images[torch.from_numpy(idx)], t_labels[torch.from_numpy(idx)])), seconds))]
    for storage in ("arrays", "png"):
        prepare("pneumoniamnist", raw=shared / "medmnist", storage=storage)
        ds = climb.load("pneumoniamnist", "train")
        rows.append((f"climb, {storage} store", rate(per_sample(lambda i: ds[i]), seconds),
                     rate(per_batch(lambda idx: ds.collate(ds.__getitems__(idx))), seconds)))
    prepare("pneumoniamnist", raw=shared / "medmnist", storage="arrays")
    ds = climb.load("pneumoniamnist", "train", transform="default")
    rows.append(("climb, arrays, default transform", rate(per_sample(lambda i: ds[i]), seconds),
                 rate(per_batch(lambda idx: ds.collate(ds.__getitems__(idx))), seconds)))
    return rows


def storage_sizes(shared: Path) -> list[tuple[str, int, float, dict[str, float]]]:
    """(dataset, samples, raw source bytes/sample, {storage: stored bytes/sample})."""
    from climb.prepare import prepare

    cases = [("pneumoniamnist", shared / "medmnist", {}),
             ("covid_blues", shared / "real_samples" / "covid_blues", {}),
             ("ptbxl", shared / "ptbxl", {})]
    rows = []
    for name, raw, params in cases:
        sizes = {}
        for storage in ("arrays", "png", "jpeg"):
            ds = prepare(name, raw=raw, storage=storage, **params)
            sizes[storage] = sum(f["size"] for f in ds.card["files"].values()) / len(ds)
        source = sum((raw / f).stat().st_size for f in ds.card["source_checksums"]) / len(ds)
        rows.append((name, len(ds), source, sizes))
    return rows


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from climb.config import shared_data_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3.0, help="time per load measurement")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--home", type=Path, default=None, help="CLIMB_HOME to prepare into (default: temporary)")
    args = p.parse_args()
    shared = shared_data_dir()
    if shared is None:
        raise SystemExit("real data not present: ../shared/data (or $CLIMB_SHARED_DATA) is missing")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="climb-datapath-") as tmp:
        os.environ["CLIMB_HOME"] = str(args.home or tmp)
        preparing = prepare_rates(shared)
        loading = load_rates(shared, args.seconds, args.batch)
        sizes = storage_sizes(shared)
    console = Console(width=140)
    t = Table(title="prepare, forced rebuild (samples/s)")
    for col in ("dataset", "samples", "1 worker", "2 workers", "ratio", "Dask, 2 workers", "ratio"):
        t.add_column(col, justify="left" if col == "dataset" else "right")
    for name, n, one, two, dask in preparing:
        t.add_row(name, f"{n:,}", f"{one:,.0f}", f"{two:,.0f}", f"{two / one:.2f}x", f"{dask:,.0f}", f"{dask / one:.2f}x")
    console.print(t)
    base_sample, base_batch = loading[0][1], loading[0][2]
    t = Table(title=f"load, pneumoniamnist train, one thread, random order (samples/s; batch {args.batch})")
    for col in ("path", "per sample", "vs in memory", "per batch", "vs in memory"):
        t.add_column(col, justify="left" if col == "path" else "right")
    for what, one, many in loading:
        t.add_row(what, f"{one:,.0f}", f"{one / base_sample:.2f}x", f"{many:,.0f}", f"{many / base_batch:.2f}x")
    console.print(t)
    t = Table(title="bytes per sample: raw source vs prepared store")
    for col in ("dataset", "samples", "raw source", "arrays", "png", "jpeg", "arrays/raw", "png/raw", "jpeg/raw"):
        t.add_column(col, justify="left" if col == "dataset" else "right")
    for name, n, source, s in sizes:
        t.add_row(name, f"{n:,}", f"{source:,.0f}", *(f"{s[k]:,.0f}" for k in ("arrays", "png", "jpeg")),
                  *(f"{s[k] / source:.2f}x" for k in ("arrays", "png", "jpeg")))
    console.print(t)


if __name__ == "__main__":
    main()
