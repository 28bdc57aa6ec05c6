"""A published climb encoder vs scratch on an ECG dataset held out of its pretraining.

The encoder is a `climb publish` folder (default: the resnet1d_wang pretrained multitask on
ptbxl + mitdb, see benchmarks/README.md); the target (default `ecg200`, UCR ECG200: 1-lead
beats, normal vs myocardial infarction, from another source and another recording setup)
was never seen. `climb.train.few_shot` runs k = 1/8/32 examples per class x seeds x
{scratch fine-tune, published linear probe, published fine-tune}; each run is tested on
the full official test split. The gain of the published encoder over scratch is a
paired bootstrap difference of test AUROC (same resampled test beats for both runs,
`climb.evaluate.bootstrap.paired_difference`), per seed, then the mean over seeds.

    python benchmarks/pretrained_transfer.py --encoder /work/homes/pretrained/published/ecg-ptbxl-mitdb
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main() -> None:
    p = C.parser("pretrained_transfer", __doc__)
    p.add_argument("--encoder", type=Path, required=True, help="a `climb publish` folder")
    p.add_argument("--target", default="ecg200")
    p.add_argument("--shots", default="1,8,32")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=20)
    args = p.parse_args()
    C.setup(args)
    C.prepare_datasets([args.target])

    import json

    from climb.evaluate.bootstrap import paired_difference
    from climb.train import TrainConfig, few_shot

    config = json.loads((args.encoder / "config.json").read_text())
    pretrained_on = [d["name"] for d in config["training"]["datasets"]]
    if args.target in pretrained_on:
        raise SystemExit(f"{args.target} was in the encoder's pretraining ({pretrained_on}): not held out")
    base = TrainConfig(datasets=[args.target], encoder=config["climb_encoder"], epochs=args.epochs, batch_size=32,
                       n_boot=args.n_boot, out_dir=args.out / "runs")
    shots, seeds = [int(k) for k in args.shots.split(",")], [int(s) for s in args.seeds.split(",")]
    rows = few_shot(base, shots, seeds, {"scratch": None, "climb": args.encoder / "model.safetensors"})
    auroc = {(r.shots, r.init, r.mode, r.seed): r for r in rows if r.metric == "auroc"}  # typed result columns

    def preds(k: int, init: str, mode: str, seed: int) -> dict[str, np.ndarray]:
        run = args.out / "runs" / f"{args.target}__{base.encoder}__k{k}__{init}__{mode}__seed{seed}"
        npz = np.load(run / "predictions.npz")
        return {key.split("/", 1)[1]: npz[key] for key in npz.files}

    table, gains = [], defaultdict(list)
    for k in shots:
        for mode in ("linear_probe", "finetune"):
            per_seed = []
            for seed in seeds:
                ours = auroc[(k, "climb", mode, seed)]
                ref = auroc[(k, "scratch", "finetune", seed)]
                a, b = preds(k, "climb", mode, seed), preds(k, "scratch", "finetune", seed)
                diff = paired_difference(a["y"], a["score"], b["score"], n_boot=args.n_boot, seed=seed)
                per_seed.append((ours, ref.value, diff))
                gains[(k, mode)].append(diff.difference)
            mean = lambda xs: float(np.mean(xs))  # noqa: E731
            table.append(C.Row(
                dataset=args.target, setting=f"k={k}, climb {mode} vs scratch fine-tune, seeds {args.seeds}",
                metric="auroc", value=mean([o.value for o, _, _ in per_seed]),
                ci_low=mean([o.ci_low for o, _, _ in per_seed]), ci_high=mean([o.ci_high for o, _, _ in per_seed]),
                reference=mean([r for _, r, _ in per_seed]),
                notes=(f"paired gain, mean {mean(gains[(k, mode)]):+.3f}; per seed: "
                       + ", ".join(f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" for *_, d in per_seed)),
            ))
    C.show(f"{args.target}: published climb encoder ({'+'.join(pretrained_on)}) vs scratch (reference column)",
           table, args.out, "pretrained_transfer",
           caption="ours = climb encoder, test AUROC mean over seeds [mean of per-seed 95 % CIs]; reference = "
                   "scratch fine-tune; notes = paired bootstrap AUROC gain (same resampled test beats) per seed")


if __name__ == "__main__":
    main()
