"""Multitask vs single-task on real ECG datasets: one shared resnet1d_wang vs one model per dataset.

Default datasets (one input kind, `signal`; all real recordings):
* `ptbxl`   12-lead 10 s records, superdiagnostic multilabel (500-record subset);
* `ecg5000` 1-lead beats of one CHF patient (BIDMC chf07), 5 beat classes (UCR);
* `ecg200`  1-lead beats, normal vs myocardial infarction (UCR).
`mitdb` can be added with `--datasets` (its 41k training beats then dominate proportional
sampling; cap them with `--limit-batches`). Variants of one source (`ptbxl_climb7`) are
not independent tasks and are not used.

Same encoder, epochs, batch size, learning rate and seeds in both arms. Budget: the
multitask epoch is the union of the single-task epochs (proportional sampling, batches
= sum of per-dataset batches), so each dataset gets about as many gradient steps in both
arms; the multitask model additionally sees the other datasets. The shared encoder
takes the most common channel count (1); 12-lead PTB-XL enters through the module's
learnable 1x1 input adapter (12 -> 1), a real handicap for it in the multitask arm.
Both arms are scored on the same official test samples; the paired difference
(multitask - single) of test macro AUROC has a 95 % paired bootstrap CI over patients
(`climb.evaluate.paired_difference` on both runs' predictions.npz).

    .venv/bin/python benchmarks/multitask_vs_single.py                    # ~6-10 min on 2 busy cores
    .venv/bin/python benchmarks/multitask_vs_single.py --epochs 30 --seeds 0,1,2
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def load_predictions(run_dir: Path, dataset: str) -> dict[str, np.ndarray]:
    """One dataset's test predictions from a run's predictions.npz."""
    with np.load(run_dir / "predictions.npz", allow_pickle=False) as npz:
        return {k: npz[f"{dataset}/{k}"] for k in ("y", "score", "patient_id")}


def paired_row(dataset: str, task: str, single_dir: Path, multi_dir: Path, seed: int, n_boot: int,
               setting: str) -> C.Row:
    from climb.evaluate import bootstrap_ci, paired_difference

    s, m = load_predictions(single_dir, dataset), load_predictions(multi_dir, dataset)
    if not (np.array_equal(s["patient_id"], m["patient_id"]) and np.array_equal(s["y"], m["y"])):
        raise RuntimeError(f"{dataset}: the two runs were not scored on the same test samples in the same order")
    d = paired_difference(s["y"], m["score"], s["score"], groups=s["patient_id"], metric="auroc", task=task,
                          n_boot=n_boot, seed=seed)
    single = bootstrap_ci("auroc", s["y"], s["score"], task=task, groups=s["patient_id"], n_boot=n_boot, seed=seed)
    multi = bootstrap_ci("auroc", m["y"], m["score"], task=task, groups=m["patient_id"], n_boot=n_boot, seed=seed)
    return C.Row(dataset, "auroc: multitask - single", d.difference, d.low, d.high, setting=setting,
                 notes="CI excludes 0" if d.excludes_zero else "CI includes 0",
                 extra={"single [95% CI]": C.fmt_ci(single.value, single.low, single.high),
                        "multitask [95% CI]": C.fmt_ci(multi.value, multi.low, multi.high),
                        "relative": f"{100 * d.difference / single.value:+.1f}%", "test n": len(s["y"])})


def main(argv: list[str] | None = None) -> None:
    p = C.parser("multitask_vs_single", __doc__)
    p.add_argument("--datasets", default="ptbxl,ecg5000,ecg200")
    p.add_argument("--encoder", default="resnet1d_wang")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seeds", default="0")
    p.add_argument("--limit-batches", type=int, default=0,
                   help="cap train batches per epoch per dataset (multitask: x number of datasets); 0 = none")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.loading import load
    from climb.train import TrainConfig, train

    names = [n for n in args.datasets.split(",") if n]
    if len(names) < 2:
        raise SystemExit("multitask needs at least two datasets")
    C.prepare_datasets(names)
    info = C.machine_info()
    C.print_machine(info)
    tasks = {n: load(n, "test").task.value for n in names}
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        base = dict(encoder=args.encoder, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=seed,
                    n_boot=min(args.n_boot, 200), out_dir=args.out / "runs")
        limit = args.limit_batches or 1.0
        multi_limit = args.limit_batches * len(names) if args.limit_batches else 1.0
        multi = TrainConfig(datasets=names, sampling="proportional", limit_train_batches=multi_limit,
                            run_name=f"multitask__{'+'.join(names)}__seed{seed}", **base)
        singles = {n: TrainConfig(datasets=[n], limit_train_batches=limit, run_name=f"single__{n}__seed{seed}",
                                  **base) for n in names}
        minutes = {}
        for cfg in [multi, *singles.values()]:
            if not args.resume:
                shutil.rmtree(cfg.run_dir, ignore_errors=True)
            minutes[cfg.run_name] = train(cfg).train_seconds / 60
        for n in names:
            setting = (f"seed {seed}, {args.epochs} ep, batch {args.batch_size}; train min single "
                       f"{minutes[singles[n].run_name]:.1f} / multitask (all) {minutes[multi.run_name]:.1f}")
            rows.append(paired_row(n, tasks[n], singles[n].run_dir, multi.run_dir, seed, args.n_boot, setting))
    C.show(f"Multitask ({'+'.join(names)}) vs single-task, {args.encoder}, official test splits", rows, args.out,
           "multitask_vs_single",
           caption=(f"Paired bootstrap over patients ({args.n_boot} replicates) on identical test samples. "
                    "Reference (CLIMB paper): up to +23% AUROC for ECG from multitask pretraining, on far more "
                    f"data and other encoders. torch threads {info['torch_threads']}, load {info['load_1_5_15']}."))


if __name__ == "__main__":
    main()
