"""CPU training throughput: through `climb.train.train` vs a raw forward+backward loop.

Configurations (encoder @ input, dataset):
* resnet18_small @ 1x28x28   PneumoniaMNIST
* convnext_atto  @ 1x64x64   PneumoniaMNIST upsampled to 64 px (bilinear, written under
                             the benchmark home as a `pneumoniamnist_64` raw file; the shared
                             data has only the 28 px file; content does not matter for speed)
* resnet1d_wang  @ 12x1000   PTB-XL (100 Hz, 10 s)
* eegnet         @ 1x4097    Bonn EEG (one channel, 23.6 s at 173.61 Hz)

"train" = `RunResult.samples_per_second` of `climb.train.train` (1 epoch of `--batches`
batches, each timed from Lightning's batch start to batch end: forward, loss, backward,
optimiser, logging; the first 2 (warm-up) steps, data loading and validation excluded).
"raw" = the same encoder + linear head on a random tensor of the same shape: AdamW
forward+backward+step, `--batches` timed steps after 2 warm-up steps. Both in this
process, same batch size, same torch threads. The machine is shared, so the load
average is printed with each measurement.

    .venv/bin/python benchmarks/throughput.py                      # ~3-6 min on 2 busy cores
    .venv/bin/python benchmarks/throughput.py --batches 30 --threads 2
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

# label -> (encoder, prepared dataset, batch size)
CONFIGS = {
    "resnet18_small@28": ("resnet18_small", "pneumoniamnist", 128),
    "convnext_atto@64": ("convnext_atto", "pneumoniamnist_64", 64),
    "resnet1d_wang@12x1000": ("resnet1d_wang", "ptbxl", 32),
    "eegnet@bonn": ("eegnet", "bonn_eeg", 32),
}


def prepare_upsampled_64(home: Path) -> None:
    """`pneumoniamnist_64` from the 28 px shared file, bilinearly upsampled (speed tests only)."""
    import torch
    import torch.nn.functional as F

    from climb.config import shared_data_dir
    from climb.prepare import prepare

    raw = home / "derived" / "medmnist_64_upsampled"
    target = raw / "pneumoniamnist_64.npz"
    if not target.is_file():
        shared = shared_data_dir()
        if shared is None or not (shared / "medmnist" / "pneumoniamnist.npz").is_file():
            raise SystemExit("throughput: needs ../shared/data/medmnist/pneumoniamnist.npz")
        raw.mkdir(parents=True, exist_ok=True)
        with np.load(shared / "medmnist" / "pneumoniamnist.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        for key in [k for k in arrays if k.endswith("_images")]:
            x = torch.from_numpy(arrays[key]).float()[:, None]
            up = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
            arrays[key] = up[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()
        np.savez(target, **arrays)
    prepare("pneumoniamnist_64", raw=raw)


def raw_rate(encoder: str, shape: tuple[int, ...], batch: int, steps: int) -> float:
    """Samples/s of AdamW forward+backward+step on random input (encoder + linear head)."""
    import torch
    from torch import nn

    from climb.models import create_encoder

    torch.manual_seed(0)
    enc = create_encoder(encoder, in_channels=shape[0])
    model = nn.Sequential(enc, nn.Linear(enc.out_dim, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch, *shape), torch.randint(0, 2, (batch,))
    model.train()
    elapsed = 0.0
    for i in range(steps + 2):
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            elapsed += time.perf_counter() - start
    return steps * batch / elapsed


def main(argv: list[str] | None = None) -> None:
    p = C.parser("throughput", __doc__)
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"subset of {list(CONFIGS)}")
    p.add_argument("--batches", type=int, default=30, help="timed train batches per measurement")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.loading import load
    from climb.train import TrainConfig, train

    labels = [c for c in args.configs.split(",") if c]
    unknown = [c for c in labels if c not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown config(s) {unknown}; known: {list(CONFIGS)}")
    datasets = {CONFIGS[c][1] for c in labels}
    C.prepare_datasets(sorted(datasets - {"pneumoniamnist_64"}))
    if "pneumoniamnist_64" in datasets:
        prepare_upsampled_64(args.home)
    info = C.machine_info()
    C.print_machine(info)
    rows = []
    for label in labels:
        encoder, dataset, batch = CONFIGS[label]
        example = load(dataset, "train", transform="default")[0]
        field = next(k for k, v in example.items() if hasattr(v, "shape") and v.ndim >= 2)
        shape = tuple(example[field].shape)
        cfg = TrainConfig(datasets=[dataset], encoder=encoder, epochs=1, batch_size=batch,
                          limit_train_batches=args.batches, n_boot=0, out_dir=args.out / "runs",
                          run_name=f"{label.replace('@', '_')}")
        shutil.rmtree(cfg.run_dir, ignore_errors=True)
        result = train(cfg)
        load_train = C.machine_info()["load_1_5_15"][0]
        raw = raw_rate(encoder, shape, batch, args.batches)
        load_raw = C.machine_info()["load_1_5_15"][0]
        rows.append(C.Row(label, "train samples/s", result.samples_per_second, reference=raw,
                          setting=f"{dataset}, batch {batch}, {args.batches} batches",
                          extra={"input": "x".join(map(str, shape)), "load (train/raw)": f"{load_train}/{load_raw}"}))
    C.show("CPU training throughput: climb.train.train vs raw forward+backward (samples/s)", rows, args.out,
           "throughput",
           caption=(f"'reference' = raw forward+backward+AdamW on random input; ours/ref = share of the raw speed "
                    f"the training stack keeps. torch threads {info['torch_threads']}, cpus {info['cpus']}, "
                    f"load at start {info['load_1_5_15']}."))


if __name__ == "__main__":
    main()
