"""`climb pretrain`: self-supervised pretraining (MAE / JEPA), a thin shell over `climb.train.ssl`.

    climb pretrain --dataset ptbxl --encoder resnet1d_wang --objective jepa --epochs 20 --out runs/ssl

Options override the fields of an optional `--config` YAML (an `SSLConfig`). A bad
configuration exits 2; bad input data (unprepared dataset, mismatched channels,
non-finite loss) exits 1, with one line and never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from climb.cli.options import logger_option

EXIT_DATA, EXIT_USAGE = 1, 2


def parse_channels(text: str) -> list[int]:
    """`"0,1,6"` -> `[0, 1, 6]`."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"expected comma-separated channel indices, got {text!r}") from exc


def parse_limit(text: str) -> int | float:
    """Lightning's convention: `"5"` = 5 batches per epoch, `"0.25"` = a quarter of them."""
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError as exc:
        raise typer.BadParameter(f"expected a batch count (5) or a fraction (0.25), got {text!r}") from exc


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def register(app: typer.Typer) -> None:
    @app.command("pretrain")
    def pretrain_cmd(
        dataset: Optional[list[str]] = typer.Option(None, "--dataset", "-d", help="Prepared dataset (repeat to pool)."),
        encoder: Optional[str] = typer.Option(None, "--encoder", "-e", help="Registered encoder name."),
        objective: Optional[str] = typer.Option(None, "--objective", help="mae (images, signals) or jepa (signals)."),
        epochs: Optional[int] = typer.Option(None, "--epochs"),
        batch_size: Optional[int] = typer.Option(None, "--batch-size"),
        lr: Optional[float] = typer.Option(None, "--lr"),
        mask_ratio: Optional[float] = typer.Option(None, "--mask-ratio"),
        patch_size: Optional[int] = typer.Option(None, "--patch-size", help="Pixels (images) or samples (signals)."),
        select_channels: Optional[str] = typer.Option(None, "--select-channels",
                                                      help="Channel indices kept from every dataset, e.g. 0,1."),
        seed: Optional[int] = typer.Option(None, "--seed"),
        limit_train_batches: Optional[str] = typer.Option(
            None, "--limit-train-batches", help="Batches per epoch (5) or a fraction of them (0.25)."),
        accelerator: Optional[str] = typer.Option(None, "--accelerator", help="cpu, gpu, auto, ..."),
        devices: Optional[str] = typer.Option(None, "--devices"),
        precision: Optional[str] = typer.Option(None, "--precision", help="e.g. bf16-mixed on GPUs."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/pretrain)."),
        run_name: Optional[str] = typer.Option(None, "--run-name"),
        logger: Optional[str] = logger_option(),
        config: Optional[Path] = typer.Option(None, "--config", help="SSLConfig YAML; options override it."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Progress bar and model summary."),
    ) -> None:
        """Pretrain an encoder without labels; writes encoder.safetensors for `TrainConfig(pretrained=...)`."""
        from pydantic import ValidationError

        from climb.train.ssl import SSLConfig, pretrain

        options: dict[str, Any] = {
            "datasets": dataset or None, "encoder": encoder, "objective": objective, "epochs": epochs,
            "batch_size": batch_size, "lr": lr, "mask_ratio": mask_ratio, "patch_size": patch_size,
            "select_channels": parse_channels(select_channels) if select_channels is not None else None,
            "seed": seed, "accelerator": accelerator, "precision": precision, "out_dir": out, "run_name": run_name,
            "logger": logger,
            "limit_train_batches": parse_limit(limit_train_batches) if limit_train_batches is not None else None,
            "devices": (int(devices) if devices.isdigit() else devices) if devices is not None else None,
        }
        overrides = {k: v for k, v in options.items() if v is not None}
        try:
            cfg = SSLConfig.from_yaml(config, **overrides) if config else SSLConfig.model_validate(overrides)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise _fail(f"invalid configuration: {problems}", EXIT_USAGE) from None
        except (OSError, ValueError) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        try:
            result = pretrain(cfg, quiet=not verbose)
        except KeyError as exc:  # unknown encoder name
            raise _fail(str(exc.args[0]) if exc.args else str(exc), EXIT_USAGE) from None
        except (FileNotFoundError, ValueError, FloatingPointError) as exc:
            raise _fail(str(exc), EXIT_DATA) from None
        typer.echo(f"{cfg.objective} pretraining: {result.steps} steps, final loss {result.final_loss:.4f}, "
                   f"{result.samples_per_second:.1f} samples/s")
        typer.echo(f"encoder: {result.encoder_path}")
