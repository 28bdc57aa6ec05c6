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
    if config:
        base = TrainConfig.from_yaml(config)
        if "transform_options" in values:  # flags add to the YAML's transform options
            values["transform_options"] = {**base.transform_options, **values["transform_options"]}
        return base.model_validate({**base.model_dump(exclude_unset=True), **values})
    return TrainConfig.model_validate(values)


def _print(result, console) -> None:
    from rich.table import Table

    table = Table(title=f"{result.config.name}: test split (95% CI, patient-level bootstrap)")
    for col in ("dataset", "metric", "value", "95% CI"):
        table.add_column(col)
    for r in result.rows:
        table.add_row(r.dataset, r.metric, f"{r.value:.4f}", f"[{r.ci_low:.4f}, {r.ci_high:.4f}]")
    console.print(table)
    console.print(f"train throughput: {result.samples_per_second:.1f} samples/s; run dir: {result.run_dir}")


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        dataset: list[str] = typer.Option([], "--dataset", "-d", help="Prepared dataset (repeat for multitask)."),
        encoder: Optional[str] = typer.Option(None, "--encoder", "-e", help="Encoder name (`climb models`)."),
        config: Optional[Path] = typer.Option(None, "--config", help="YAML TrainConfig; flags override it."),
        epochs: Optional[int] = typer.Option(None), batch_size: Optional[int] = typer.Option(None),
        lr: Optional[float] = typer.Option(None), seed: Optional[int] = typer.Option(None),
        lr_schedule: Optional[str] = typer.Option(None, help="cosine (default), multistep, constant."),
        shots: Optional[int] = typer.Option(None, help="k training examples per class (few-shot)."),
        pretrained: Optional[Path] = typer.Option(None, help="Local encoder checkpoint to start from."),
        freeze_encoder: Optional[bool] = typer.Option(None, help="Linear probe: train the heads only."),
        accelerator: Optional[str] = typer.Option(None, help="cpu, gpu, auto."),
        devices: Optional[str] = typer.Option(None, help="Number of devices (or 'auto')."),
        strategy: Optional[str] = typer.Option(None, help="auto, ddp, fsdp, ..."),
        precision: Optional[str] = typer.Option(None, help="32-true, bf16-mixed, ..."),
        num_nodes: Optional[int] = typer.Option(None),
        limit_train_batches: Optional[float] = typer.Option(None),
        limit_val_batches: Optional[float] = typer.Option(None),
        augment: Optional[bool] = typer.Option(None, help="Random horizontal flip on train images."),
        image_size: Optional[int] = typer.Option(None, help="Resize-and-pad images to this side."),
        ema_decay: Optional[float] = typer.Option(None, help="EMA of the weights (e.g. 0.99) for val/test."),
        model_selection: Optional[str] = typer.Option(
            None, help="Tested weights: best_val, last, or auto (default: last when --shots, else best_val)."),
        n_boot: Optional[int] = typer.Option(None, help="Bootstrap replicates for the CIs."),
        logger: Optional[str] = logger_option(),
        out: Optional[Path] = typer.Option(None, "--out", help="Directory for runs (default runs/train)."),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """Train an encoder on one dataset (single-task) or several (multitask) and test it."""
        from pydantic import ValidationError
        from rich.console import Console

        from climb.errors import ClimbError, ClimbUsageError
        from climb.train import train as run

        console = Console(stderr=True)
        devices_value = int(devices) if devices and devices.isdigit() else devices
        limit = int(limit_train_batches) if limit_train_batches and limit_train_batches >= 1 else limit_train_batches
        limit_val = int(limit_val_batches) if limit_val_batches and limit_val_batches >= 1 else limit_val_batches
        options = {k: v for k, v in {"augment": augment, "image_size": image_size}.items() if v is not None}
        try:
            cfg = _config(dataset, encoder, config, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                          lr_schedule=lr_schedule,
                          shots=shots, pretrained=pretrained, freeze_encoder=freeze_encoder,
                          accelerator=accelerator, devices=devices_value, strategy=strategy,
                          precision=precision, num_nodes=num_nodes, limit_train_batches=limit,
                          limit_val_batches=limit_val, n_boot=n_boot, out_dir=out, ema_decay=ema_decay,
                          model_selection=model_selection, logger=logger, transform_options=options or None)
            result = run(cfg, quiet=quiet)
        except (ClimbError, ValidationError, ValueError, KeyError, FileNotFoundError, FloatingPointError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2 if isinstance(e, ClimbUsageError) else 1) from None
        if result.rows:
            _print(result, Console())

    @app.command()
    def fewshot(
        dataset: str = typer.Argument(..., help="Held-out prepared dataset to transfer to."),
        encoder: str = typer.Option(..., "--encoder", "-e"),
        shots: str = typer.Option("1,8,32", help="Comma-separated k per class."),
        seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
        init: list[str] = typer.Option([], help="LABEL=PATH of a local encoder checkpoint (repeatable); "
                                                "'scratch' is always included."),
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
        from climb.train import TrainConfig
        from climb.train.protocols import few_shot_configs, train as run_one

        console = Console(stderr=True)
        try:
            inits: dict[str, Path | None] = {"scratch": None}
            for item in init:
                label, _, path = item.partition("=")
                if not label or not path:
                    raise ClimbUsageError(f"--init needs LABEL=PATH, got {item!r}")
                inits[label] = Path(path)
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
        frame.to_csv(out / "fewshot_results.csv", index=False)
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
