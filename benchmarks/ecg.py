"""ECG: PTB-XL (500-record subset) superdiagnostic and MIT-BIH inter-patient (DS1 -> DS2) AAMI classes.

* `ptbxl`: 12-lead 100 Hz 10 s records, 5 diagnostic superclasses (multilabel), official
  folds (1-8 train, 9 val, 10 test). The shared data holds ecg_id 1-500 only (352 / 72 / 64
  labelled records), so the reference macro AUROC 0.930 (resnet1d_wang on the FULL 21,799
  records, Strodthoff et al. 2020) is context, not a target.
* `mitdb`: one beat window (MLII, 0.25 s before + 0.46 s after the R peak, 360 Hz) per
  AAMI beat; train DS1 (minus 4 whole validation records), test the full DS2 (22 records,
  ~49.7k beats). Reported: macro AUROC (one-vs-rest) and, from the argmax of the test
  predictions, per-class sensitivity and positive predictive value (N, S, V, F, Q) with
  95 % bootstrap CIs over records (patients). Training sees a capped number of batches per
  epoch (`--mitdb-batches`) to fit a CPU budget.

Both use `resnet1d_wang` from scratch through `climb.train.train`; the input is the load
layer's default signal transform (per-lead standardisation).

    .venv/bin/python benchmarks/ecg.py                     # ~10-15 min on 2 busy cores
    .venv/bin/python benchmarks/ecg.py --ptbxl-epochs 50 --mitdb-epochs 10 --mitdb-batches 0   # full epochs
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

PTBXL_REFERENCE = 0.930  # Strodthoff et al. 2020, resnet1d_wang, superdiagnostic, full PTB-XL, fold 10
AAMI = ["N", "S", "V", "F", "Q"]


def per_class_rows(pred: dict[str, np.ndarray], n_boot: int, seed: int) -> list[C.Row]:
    """Sensitivity and PPV of each AAMI class from argmax predictions, CIs over records."""
    from climb.evaluate import bootstrap_ci

    y, hat, groups = pred["y"].astype(int), pred["score"].argmax(axis=1), pred["patient_id"]
    rows = []
    for k, name in enumerate(AAMI):
        support, predicted = int((y == k).sum()), int((hat == k).sum())
        for metric, fn in (("sensitivity", _sensitivity(k)), ("ppv", _ppv(k))):
            ci = bootstrap_ci(fn, y, hat, groups=groups, n_boot=n_boot, seed=seed)
            rows.append(C.Row("mitdb", f"{metric} {name}", ci.value, ci.low, ci.high,
                              extra={"test beats": support, "predicted": predicted}))
    return rows


def _sensitivity(k: int):
    def fn(y: np.ndarray, hat: np.ndarray) -> float:
        pos = y == k
        return float((hat[pos] == k).mean()) if pos.any() else float("nan")
    return fn


def _ppv(k: int):
    def fn(y: np.ndarray, hat: np.ndarray) -> float:
        called = hat == k
        return float((y[called] == k).mean()) if called.any() else float("nan")
    return fn


def confusion(pred: dict[str, np.ndarray]) -> str:
    y, hat = pred["y"].astype(int), pred["score"].argmax(axis=1)
    m = np.zeros((len(AAMI), len(AAMI)), dtype=int)
    np.add.at(m, (y, hat), 1)
    lines = ["confusion (rows = true, columns = predicted): " + " ".join(f"{c:>7}" for c in AAMI)]
    lines += [f"{AAMI[i]:>46} " + " ".join(f"{v:>7}" for v in m[i]) for i in range(len(AAMI))]
    return "\n".join(lines)


def run(cfg, resume: bool):
    from climb.train import train

    if not resume:
        shutil.rmtree(cfg.run_dir, ignore_errors=True)
    return train(cfg)


def main(argv: list[str] | None = None) -> None:
    p = C.parser("ecg", __doc__)
    p.add_argument("--tasks", default="ptbxl,mitdb")
    p.add_argument("--ptbxl-epochs", type=int, default=10)
    p.add_argument("--ptbxl-batch-size", type=int, default=32)
    p.add_argument("--mitdb-epochs", type=int, default=2)
    p.add_argument("--mitdb-batch-size", type=int, default=128)
    p.add_argument("--mitdb-batches", type=int, default=20, help="train batches per epoch (0 = all ~320)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.train import TrainConfig

    tasks = [t for t in args.tasks.split(",") if t]
    C.prepare_datasets(tasks)
    info = C.machine_info()
    C.print_machine(info)
    rows: list[C.Row] = []
    if "ptbxl" in tasks:
        cfg = TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", epochs=args.ptbxl_epochs,
                          batch_size=args.ptbxl_batch_size, lr=args.lr, seed=args.seed, n_boot=args.n_boot,
                          out_dir=args.out / "runs", run_name=f"ptbxl__e{args.ptbxl_epochs}_b{args.ptbxl_batch_size}")
        res = run(cfg, args.resume)
        setting = (f"500-record subset (352/72/64), {args.ptbxl_epochs} ep, batch {args.ptbxl_batch_size}, "
                   f"{res.train_seconds / 60:.1f} min")
        rows.append(C.row_from(res, "ptbxl", "auroc", PTBXL_REFERENCE, setting=setting,
                               notes="reference on full PTB-XL (21,799 records)"))
        rows.append(C.row_from(res, "ptbxl", "auprc", setting=setting))
    if "mitdb" in tasks:
        limit = args.mitdb_batches or 1.0
        cfg = TrainConfig(datasets=["mitdb"], encoder="resnet1d_wang", epochs=args.mitdb_epochs,
                          batch_size=args.mitdb_batch_size, lr=args.lr, seed=args.seed, n_boot=args.n_boot,
                          limit_train_batches=limit, out_dir=args.out / "runs",
                          run_name=f"mitdb__e{args.mitdb_epochs}_b{args.mitdb_batch_size}_n{args.mitdb_batches}")
        res = run(cfg, args.resume)
        seen = args.mitdb_epochs * (args.mitdb_batches or 322) * args.mitdb_batch_size
        setting = (f"DS1->DS2, {args.mitdb_epochs} ep x {args.mitdb_batches or 'all'} batches of "
                   f"{args.mitdb_batch_size} (~{seen} beats seen), {res.train_seconds / 60:.1f} min")
        rows.append(C.row_from(res, "mitdb", "auroc", setting=setting, notes="macro one-vs-rest"))
        rows.append(C.row_from(res, "mitdb", "balanced_accuracy", setting=setting))
        pred = res.predictions["mitdb"]
        rows += per_class_rows(pred, args.n_boot, args.seed)
        print(confusion(pred))
    C.show("ECG test: resnet1d_wang from scratch", rows, args.out, "ecg",
           caption=(f"CIs: 95% bootstrap over patients ({args.n_boot} replicates; MIT-BIH: records). "
                    "PTB-XL reference: Strodthoff et al. 2020 (full data). MIT-BIH inter-patient: no published "
                    "number is quoted here; per-class S/V sensitivity and PPV are what the literature "
                    f"compares. torch threads {info['torch_threads']}, load {info['load_1_5_15']}."))


if __name__ == "__main__":
    main()
