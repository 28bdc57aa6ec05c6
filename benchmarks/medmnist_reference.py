"""MedMNIST v2 reference: ResNet-18 (small stem, 28 px) single-task on PneumoniaMNIST and BreastMNIST.

Trains `resnet18_small` (3x3 stride-1 stem, no max-pool, as in the MedMNIST experiments)
from scratch with `climb.train.train` on the official train split, picks the epoch with
the best validation AUROC, and reports test AUROC and ACC (threshold 0.5) with 95 %
bootstrap CIs next to MedMNIST v2 Table 3 (ResNet-18 (28): PneumoniaMNIST 0.944 / 0.854,
BreastMNIST 0.901 / 0.863). MedMNIST trained 100 epochs (Adam, lr 1e-3, batch 128, plain
cross-entropy); on a shared 2-core CPU the default budget is far smaller (see --help).
Input: the load layer's default image transform (uint8 -> [0, 1], normalised with
ImageNet statistics averaged over RGB for 1 channel; no augmentation).

    .venv/bin/python benchmarks/medmnist_reference.py                      # ~10-15 min on 2 busy cores
    .venv/bin/python benchmarks/medmnist_reference.py --pneumonia-epochs 20 --breast-epochs 100  # closer to MedMNIST
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
    p.add_argument("--pneumonia-epochs", type=int, default=2)
    p.add_argument("--breast-epochs", type=int, default=10)
    p.add_argument("--pneumonia-batch-size", type=int, default=128)
    p.add_argument("--breast-batch-size", type=int, default=32, help="546 train images: 128 gives 4 steps/epoch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--balance-loss", action="store_true", help="class-weighted loss (MedMNIST used plain CE)")
    p.add_argument("--augment", action="store_true",
                   help="random horizontal flip on train images (MedMNIST used none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="reuse finished/interrupted runs instead of retraining")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.train import TrainConfig, train

    names = [n for n in args.datasets.split(",") if n]
    C.prepare_datasets(names)
    info = C.machine_info()
    C.print_machine(info)
    rows = []
    for name in names:
        epochs = args.pneumonia_epochs if name == "pneumoniamnist" else args.breast_epochs
        batch = args.pneumonia_batch_size if name == "pneumoniamnist" else args.breast_batch_size
        cfg = TrainConfig(datasets=[name], encoder="resnet18_small", epochs=epochs, batch_size=batch, lr=args.lr,
                          seed=args.seed, balance_loss=args.balance_loss, n_boot=args.n_boot,
                          transform_options={"augment": True} if args.augment else {},
                          out_dir=args.out / "runs",
                          run_name=f"{name}__resnet18_small__e{epochs}_b{batch}_lr{args.lr}"
                                   f"{'_aug' if args.augment else ''}{'_bal' if args.balance_loss else ''}")
        if not args.resume:
            shutil.rmtree(cfg.run_dir, ignore_errors=True)
        result = train(cfg)
        setting = (f"{epochs} ep, batch {batch}, lr {args.lr}{', flip aug' if args.augment else ''}"
                   f"{', balanced loss' if args.balance_loss else ''}, {result.train_seconds / 60:.1f} min")
        ref_auc, ref_acc = REFERENCE.get(name, (None, None))
        extra = {"train samples/s": f"{result.samples_per_second:.1f}"}
        rows.append(C.row_from(result, name, "auroc", ref_auc, setting=setting, extra=extra))
        rows.append(C.row_from(result, name, "accuracy", ref_acc, setting=setting, extra=extra))
    C.show("MedMNIST (28 px) test: resnet18_small from scratch vs MedMNIST v2 ResNet-18 (28)", rows, args.out,
           "medmnist_reference",
           caption=f"Reference: {SOURCE}. CIs: 95% bootstrap over test images ({args.n_boot} replicates; "
                   f"MedMNIST publishes no patient ids). torch threads {info['torch_threads']}, "
                   f"load {info['load_1_5_15']}.")


if __name__ == "__main__":
    main()
