"""`climb train` and `climb fewshot`: the supervised protocols from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from climb.cli.options import logger_option


def _config(dataset: list[str], encoder: Optional[str], config: Optional[Path], **overrides):
    from climb.train import TrainConfig

    values = {k: v for k, v in overrides.items() if v is not None}
    if dataset:
        values["datasets"] = dataset
    if encoder:
        values["encoder"] = encoder
    if not config:
        return TrainConfig.model_validate(values)
    import yaml

    from climb.errors import ClimbUsageError

    raw = yaml.safe_load(Path(config).read_text()) or {}
    if not isinstance(raw, dict):
        raise ClimbUsageError(f"{config}: not a mapping of TrainConfig fields")
    if "transform_options" in values:  # flags add to the YAML's transform options
        values["transform_options"] = {**(raw.get("transform_options") or {}), **values["transform_options"]}
    # one validation of the file and the flags together: a file may leave datasets/encoder to the flags
    return TrainConfig.model_validate({**raw, **values})


def _print(result, console) -> None:
    from rich.table import Table

    table = Table(title=f"{result.config.name}: test split (95% CI, patient-level bootstrap)")
    for col in ("dataset", "metric", "value", "95% CI"):
        table.add_column(col)
    for r in result.rows:
        table.add_row(r.dataset, r.metric, f"{r.value:.4f}", f"[{r.ci_low:.4f}, {r.ci_high:.4f}]")
    console.print(table)
    console.print(f"train throughput: {result.samples_per_second:.1f} samples/s; run dir: {result.run_dir}")


# help for the TrainConfig fields that have no description (the config's defaults and types are its own)
HELP = {
    "datasets": "Prepared dataset (repeat for multitask).",
    "encoder": "Encoder name (`climb models`).",
    "lr_schedule": "cosine (default), multistep, constant.",
    "shots": "k training examples per class (few-shot).",
    "pretrained": "Starting weights: a checkpoint or published folder, hf-hub:ORG/REPO[@REV], or a zoo/timm tag.",
    "freeze_encoder": "Linear probe: train the heads only.",
    "accelerator": "cpu, gpu, auto.",
    "devices": "Number of devices (or 'auto').",
    "strategy": "auto, ddp, fsdp, ...",
    "precision": "32-true, bf16-mixed, ...",
    "limit_train_batches": "Batches per epoch (5) or a fraction of them (0.25).",
    "limit_val_batches": "Validation batches (5) or a fraction of them (0.25).",
    "ema_decay": "EMA of the weights (e.g. 0.99) for val/test.",
    "model_selection": "Tested weights: best_val, last, or auto (default: last when --shots, else best_val).",
    "n_boot": "Bootstrap replicates for the CIs.",
    "out_dir": "Directory for runs (default runs/train).",
    "input_field": "Field to train on (default: the first field whose kind the encoder reads).",
    "weight_decay": "AdamW weight decay (default 1e-4).",
    "num_workers": "DataLoader worker processes (default 0).",
    "transform": "Input transform (default: the field kind's default transform).",
    "balance_loss": "Class-imbalance loss weights from train counts (default on).",
    "sampling": "Multitask batches: proportional (default), temperature, round_robin.",
    "temperature": "Multitask temperature sampling exponent (default 2).",
    "run_name": "Run folder name under --out (default: datasets__encoder__seed).",
}


def _train_options() -> list:
    """`climb train`'s options: one per scalar TrainConfig field, plus the ones that are not fields."""
    import inspect

    from climb.cli.options import config_options
    from climb.train.config import TrainConfig

    def extra(name: str, annotation, option) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)

    return [
        extra("dataset", list[str], typer.Option([], "--dataset", "-d", help=HELP["datasets"])),
        *config_options(TrainConfig, names={"encoder": ("--encoder", "-e"), "out_dir": ("--out",)},
                        help_text=HELP, custom={"logger": logger_option()}),
        extra("pretrained", Optional[str], typer.Option(None, help=HELP["pretrained"])),
        extra("test_on", Optional[list[str]], typer.Option(
            None, "--test-on", help="External validation: also test on this prepared dataset (same labels; repeatable).")),
        extra("config", Optional[Path], typer.Option(None, "--config", help="YAML TrainConfig; flags override it.")),
        extra("augment", Optional[bool], typer.Option(None, "--augment/--no-augment",
                                                      help="Random horizontal flip on train images.")),
        extra("image_size", Optional[int], typer.Option(None, help="Resize-and-pad images to this side.")),
        extra("quiet", bool, typer.Option(False, "--quiet", "-q")),
    ]


def register(app: typer.Typer) -> None:
    def train(**options) -> None:
        """Train an encoder on one dataset (single-task) or several (multitask) and test it."""
        from pydantic import ValidationError
        from rich.console import Console

        from climb.cli.options import config_values
        from climb.errors import ClimbError, ClimbUsageError
        from climb.train import TrainConfig
        from climb.train import train as run

        transform = {k: options.pop(k) for k in ("augment", "image_size") if options.get(k) is not None}
        dataset, config, quiet = options.pop("dataset"), options.pop("config"), options.pop("quiet")
        options["test_on"] = options.get("test_on") or None  # not given: the YAML's (or no) external tests
        try:
            values = config_values(TrainConfig, options)
            cfg = _config(dataset, values.pop("encoder", None), config, **values,
                          transform_options=transform or None)
            result = run(cfg, quiet=quiet)
        except (ClimbError, ValidationError, ValueError, KeyError, FileNotFoundError, FloatingPointError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2 if isinstance(e, ClimbUsageError) else 1) from None
        if result.rows:
            _print(result, Console())

    from climb.cli.options import with_options

    app.command()(with_options(train, _train_options()))

    @app.command()
    def fewshot(
        dataset: str = typer.Argument(..., help="Held-out prepared dataset to transfer to."),
        encoder: str = typer.Option(..., "--encoder", "-e"),
        shots: str = typer.Option("1,8,32", help="Comma-separated k per class."),
        seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
        init: list[str] = typer.Option([], help="LABEL=WEIGHTS (repeatable): a checkpoint, a published folder, "
                                                "hf-hub:ORG/REPO or a zoo/timm tag; 'scratch' is always included."),
        epochs: int = typer.Option(20), batch_size: int = typer.Option(32),
        n_boot: int = typer.Option(200), out: Path = typer.Option(Path("runs/fewshot"), "--out"),
        logger: Optional[str] = logger_option(),
    ) -> None:
        """Few-shot transfer: k per class x seeds x initialisations x (linear probe, fine-tune).

        Every input (shots, seeds, checkpoints, dataset, encoder) is checked before the first run trains.
        """
        from rich.console import Console

        from climb.errors import ClimbError, ClimbUsageError
        from climb.evaluate.metrics import to_frame
        from climb.safeio import atomic_write_text
        from climb.train import TrainConfig
        from climb.train.protocols import few_shot_configs, train as run_one

        console = Console(stderr=True)
        try:
            inits: dict[str, str | None] = {"scratch": None}
            for item in init:
                label, _, path = item.partition("=")
                if not label or not path:
                    raise ClimbUsageError(f"--init needs LABEL=PATH, got {item!r}")
                inits[label] = path
            base = TrainConfig(datasets=[dataset], encoder=encoder, epochs=epochs, batch_size=batch_size,
                               n_boot=n_boot, out_dir=out, **({"logger": logger} if logger else {}))
            runs = few_shot_configs(base, _ints(shots, "--shots"), _ints(seeds, "--seeds"), inits,
                                    ("linear_probe", "finetune"))
            rows = [r for init, cfg in runs for r in run_one(cfg, protocol="fewshot", init=init).rows]
        except (ClimbError, ValueError, FileNotFoundError, FloatingPointError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2 if isinstance(e, ClimbUsageError) else 1) from None
        frame = to_frame(rows)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "fewshot_results.csv", frame.to_csv(index=False))
        from climb.evaluate import headline

        metric = headline(frame.task.dropna().iloc[0]).name if frame.task.notna().any() else "auroc"
        summary = frame[frame.metric == metric].groupby(["shots", "init", "mode"])["value"].agg(["mean", "std", "count"])
        Console().print(f"test {metric}, mean over seeds\n{summary.to_string()}")


def _ints(text: str, option: str) -> list[int]:
    """Comma-separated integers of an option, or a one-line usage error naming it."""
    from climb.errors import ClimbUsageError

    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ClimbUsageError(f"{option}: expected comma-separated integers, got {text!r}") from None
