"""Few-shot curves on a held-out ECG dataset: multitask-pretrained encoder vs from scratch.

1. Pretrain `resnet1d_wang` multitask on `--pretrain` datasets (default `ptbxl` + `ecg5000`)
   with `climb.train.train`; the held-out dataset (`--target`, default `ecg200`: 1-lead
   beats, normal vs myocardial infarction) is never seen. `--encoder-path` skips this.
2. `climb.train.few_shot` on the target: k = 1, 8, 32 examples per class (nested subsets
   of the official train split) x seeds 0, 1, 2 x {scratch fine-tune, multitask linear
   probe, multitask fine-tune}, each tested on the full official test split.

Prints test AUROC per (k, init, mode) as mean over seeds with the per-seed values and the
mean 95 % bootstrap CI, the gain of the pretrained encoder over scratch, and saves a PNG
plot of AUROC vs k.

    .venv/bin/python benchmarks/fewshot_curves.py                     # ~6-10 min on 2 busy cores
    .venv/bin/python benchmarks/fewshot_curves.py --pretrain ptbxl,ecg5000,mitdb --pretrain-epochs 30
"""

from __future__ import annotations

import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def pretrain(args) -> Path:
    from climb.train import TrainConfig, train

    names = [n for n in args.pretrain.split(",") if n]
    if args.target in names:
        raise SystemExit(f"the held-out dataset {args.target!r} must not be among the pretraining datasets")
    cfg = TrainConfig(datasets=names, encoder=args.encoder, epochs=args.pretrain_epochs, batch_size=32, lr=args.lr,
                      seed=0, n_boot=50, out_dir=args.out / "runs", run_name=f"pretrain__{'+'.join(names)}")
    if not args.resume:
        shutil.rmtree(cfg.run_dir, ignore_errors=True)
    result = train(cfg)
    print(f"multitask pretraining on {names}: {result.train_seconds / 60:.1f} min; "
          + ", ".join(f"{r.dataset} test AUROC {r.value:.3f}" for r in result.rows if r.metric == "auroc"))
    assert result.encoder_path is not None
    return result.encoder_path


def summarise(rows, target: str) -> tuple[list[C.Row], dict[str, dict[int, list[float]]]]:
    """Mean over seeds per (k, init-mode); curves[label][k] = per-seed AUROCs."""
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    cis: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if r.metric != "auroc":
            continue
        label, shots = f"{r.init} {r.mode}", int(r.shots)  # typed setting columns of the row
        curves[label][shots].append(r.value)
        cis[(label, shots)].append((r.ci_low, r.ci_high))
    out = []
    scratch = curves.get("scratch finetune", {})
    for label in sorted(curves):
        for k in sorted(curves[label]):
            vals = curves[label][k]
            low, high = np.mean([c[0] for c in cis[(label, k)]]), np.mean([c[1] for c in cis[(label, k)]])
            base = np.mean(scratch[k]) if k in scratch else None
            out.append(C.Row(target, "auroc", float(np.mean(vals)), float(low), float(high), reference=base,
                             setting=f"k={k} {label}",
                             extra={"per seed": " ".join(f"{v:.3f}" for v in vals), "sd": f"{np.std(vals):.3f}"}))
    return out, curves


def plot(curves, target: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, by_k in sorted(curves.items()):
        ks = sorted(by_k)
        mean = np.array([np.mean(by_k[k]) for k in ks])
        sd = np.array([np.std(by_k[k]) for k in ks])
        ax.errorbar(ks, mean, yerr=sd, marker="o", capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("examples per class (k)")
    ax.set_ylabel("test AUROC (mean ± sd over seeds)")
    ax.set_title(f"Few-shot on {target}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = C.parser("fewshot_curves", __doc__)
    p.add_argument("--target", default="ecg200")
    p.add_argument("--pretrain", default="ptbxl,ecg5000")
    p.add_argument("--encoder", default="resnet1d_wang")
    p.add_argument("--encoder-path", type=Path, default=None, help="a multitask encoder.safetensors to reuse")
    p.add_argument("--pretrain-epochs", type=int, default=6)
    p.add_argument("--epochs", type=int, default=20, help="few-shot training epochs")
    p.add_argument("--shots", default="1,8,32")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    C.setup(args)
    from climb.train import TrainConfig, few_shot

    C.prepare_datasets([args.target, *([] if args.encoder_path else args.pretrain.split(","))])
    info = C.machine_info()
    C.print_machine(info)
    encoder_path = args.encoder_path or pretrain(args)
    base = TrainConfig(datasets=[args.target], encoder=args.encoder, epochs=args.epochs, batch_size=16, lr=args.lr,
                       n_boot=min(args.n_boot, 200), out_dir=args.out / "runs" / "fewshot")
    if not args.resume:
        shutil.rmtree(base.out_dir, ignore_errors=True)
    with C.Timer() as t:
        rows = few_shot(base, shots=[int(k) for k in args.shots.split(",")],
                        seeds=[int(s) for s in args.seeds.split(",")],
                        inits={"scratch": None, "multitask": encoder_path})
    table, curves = summarise(rows, args.target)
    n_runs = sum(r.metric == "auroc" for r in rows)
    C.show(f"Few-shot {args.target} test AUROC: multitask ({args.pretrain}) encoder vs scratch", table, args.out,
           "fewshot_curves",
           caption=(f"'reference' = scratch fine-tune at the same k (ours - ref = gain of the initialisation). "
                    f"CI: mean over seeds of the 95% bootstrap CI ({min(args.n_boot, 200)} replicates). "
                    f"{n_runs} runs, {t.seconds / max(1, n_runs):.0f} s each on average. "
                    f"CLIMB reports +23% for ECG few-shot transfer. torch threads {info['torch_threads']}, "
                    f"load {info['load_1_5_15']}."))
    plot(curves, args.target, args.out / "fewshot_curves.png")
    print(f"plot: {args.out / 'fewshot_curves.png'}")


if __name__ == "__main__":
    main()
