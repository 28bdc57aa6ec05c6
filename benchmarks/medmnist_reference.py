"""MedMNIST v2 reference: ResNet-18 (small stem, 28 px) single-task on PneumoniaMNIST and BreastMNIST.

Trains `resnet18_small` (3x3 stride-1 stem, no max-pool, last-BN init 1: the MedMNIST ResNet-18)
from scratch with `climb.train.train` on the official train split, picks the epoch with
the best validation AUROC, and reports test AUROC and ACC (threshold 0.5) with 95 %
bootstrap CIs next to MedMNIST v2 Table 3 (ResNet-18 (28): PneumoniaMNIST 0.944 / 0.854,
BreastMNIST 0.901 / 0.863). MedMNIST trained 100 epochs (Adam, lr 1e-3, batch 128, plain
cross-entropy); on a shared 2-core CPU the default budget is far smaller (see --help).
Input: the load layer's default image transform (uint8 -> [0, 1], normalised with
ImageNet statistics averaged over RGB for 1 channel; no augmentation).

    .venv/bin/python benchmarks/medmnist_reference.py                 # 3 seeds each, ~25 min on 2 idle cores
    .venv/bin/python benchmarks/medmnist_reference.py --pneumonia-epochs 20 --breast-epochs 100 --seeds 0
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

# dataset -> (reference AUROC, reference ACC), MedMNIST v2 (Yang et al. 2023) Table 3, ResNet-18 (28)
REFERENCE = {"pneumoniamnist": (0.944, 0.854), "breastmnist": (0.901, 0.863)}
SOURCE = "MedMNIST v2 (Yang et al. 2023), Table 3, ResNet-18 (28): 100 epochs, Adam lr 1e-3, batch 128"


def main(argv: list[str] | None = None) -> None:
    p = C.parser("medmnist_reference", __doc__)
    p.add_argument("--datasets", default="pneumoniamnist,breastmnist")
    p.add_argument("--pneumonia-epochs", type=int, default=5)
    p.add_argument("--breast-epochs", type=int, default=30)
    p.add_argument("--pneumonia-batch-size", type=int, default=128)
    p.add_argument("--breast-batch-size", type=int, default=32, help="546 train images: 128 gives 4 steps/epoch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--balance-loss", action="store_true", help="class-weighted loss (MedMNIST used plain CE)")
    p.add_argument("--augment", action="store_true",
                   help="random horizontal flip on train images (MedMNIST used none)")
    p.add_argument("--lr-schedule", default="cosine", choices=["cosine", "multistep", "constant"],
                   help="multistep = x0.1 at 50 %% and 75 %% of the epochs (MedMNIST)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW; 0 = Adam (MedMNIST)")
    p.add_argument("--ema-decay", type=float, default=None, help="EMA of the weights (MedMNIST used none)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated; one run per seed")
    p.add_argument("--resume", action="store_true", help="reuse finished/interrupted runs instead of retraining")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.train import TrainConfig, train

    names = [n for n in args.datasets.split(",") if n]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    C.prepare_datasets(names)
    info = C.machine_info()
    C.print_machine(info)
    rows = []
    for name in names:
        epochs = args.pneumonia_epochs if name == "pneumoniamnist" else args.breast_epochs
        batch = args.pneumonia_batch_size if name == "pneumoniamnist" else args.breast_batch_size
        setting = (f"{epochs} ep, batch {batch}, lr {args.lr} {args.lr_schedule}, wd {args.weight_decay}"
                   f"{', flip aug' if args.augment else ''}"
                   f"{', balanced loss' if args.balance_loss else ''}"
                   f"{f', EMA {args.ema_decay}' if args.ema_decay else ''}")
        results = []
        for seed in seeds:
            cfg = TrainConfig(datasets=[name], encoder="resnet18_small", epochs=epochs, batch_size=batch, lr=args.lr,
                              seed=seed, balance_loss=args.balance_loss, n_boot=args.n_boot, ema_decay=args.ema_decay,
                              lr_schedule=args.lr_schedule, weight_decay=args.weight_decay,
                              transform_options={"augment": True} if args.augment else {},
                              out_dir=args.out / "runs",
                              run_name=f"{name}__resnet18_small__e{epochs}_b{batch}_lr{args.lr}"
                                       f"{'' if args.lr_schedule == 'cosine' else '_' + args.lr_schedule}"
                                       f"{'' if args.weight_decay == 1e-4 else f'_wd{args.weight_decay}'}"
                                       f"{'_aug' if args.augment else ''}{'_bal' if args.balance_loss else ''}"
                                       f"{f'_ema{args.ema_decay}' if args.ema_decay else ''}__seed{seed}")
            if not args.resume:
                shutil.rmtree(cfg.run_dir, ignore_errors=True)
            results.append((seed, train(cfg)))
        rows += seed_rows(name, results, setting)
    C.show("MedMNIST (28 px) test: resnet18_small from scratch vs MedMNIST v2 ResNet-18 (28)", rows, args.out,
           "medmnist_reference",
           caption=f"Reference: {SOURCE}. CIs: 95% bootstrap over test images ({args.n_boot} replicates; "
                   f"MedMNIST publishes no patient ids); 'mean of seeds' CI = mean of the per-seed CIs. "
                   f"'val-selected' = the seed with the best validation AUROC (chosen without the test split). "
                   f"torch threads {info['torch_threads']}, load {info['load_1_5_15']}.")


def best_val_auroc(run_dir: Path, name: str) -> float:
    """The best validation AUROC logged in a run (the checkpoint that was tested)."""
    import pandas as pd

    logs = pd.concat(pd.read_csv(f) for f in run_dir.glob("logs/*/metrics.csv"))
    return float(logs[f"val/{name}/auroc"].max())


def seed_rows(name: str, results: list, setting: str) -> list[C.Row]:
    """Per-seed rows, the mean over seeds (with sd) and the validation-selected seed, for AUROC and ACC."""
    import numpy as np

    rows: list[C.Row] = []
    vals = {seed: best_val_auroc(r.run_dir, name) for seed, r in results}
    chosen = max(vals, key=vals.get)
    for metric, ref in zip(("auroc", "accuracy"), REFERENCE.get(name, (None, None))):
        cis = {seed: C.ci_of(r, name, metric) for seed, r in results}
        for seed, r in results:
            rows.append(C.row_from(r, name, metric, ref, setting=f"{setting}, seed {seed}",
                                   extra={"val auroc": f"{vals[seed]:.3f}",
                                          "train samples/s": f"{r.samples_per_second:.1f}",
                                          "min": f"{r.train_seconds / 60:.1f}"}))
        if len(results) > 1:
            v = np.array([c[0] for c in cis.values()])
            rows.append(C.Row(name, metric, float(v.mean()), float(np.mean([c[1] for c in cis.values()])),
                              float(np.mean([c[2] for c in cis.values()])), ref,
                              setting=f"{setting}, mean of seeds {','.join(map(str, cis))}",
                              notes=f"sd {v.std(ddof=1):.3f}"))
            value, low, high = cis[chosen]
            rows.append(C.Row(name, metric, value, low, high, ref, setting=f"{setting}, val-selected (seed {chosen})",
                              notes=f"best val AUROC {vals[chosen]:.3f}"))
    return rows


if __name__ == "__main__":
    main()
