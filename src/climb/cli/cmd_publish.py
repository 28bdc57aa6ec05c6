"""`climb publish RUN_DIR --out DIR [--push ORG/REPO]`: a training run as a Hugging Face model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def publish(
        run_dir: Path = typer.Argument(..., help="A finished `climb train` run directory."),
        out: Path = typer.Option(..., "--out", help="New folder for model.safetensors, config.json, README.md."),
        push: Optional[str] = typer.Option(None, "--push", help="Also upload to this hub repo (ORG/REPO); "
                                                                 "the token comes from HF_TOKEN only."),
        licence: Optional[str] = typer.Option(None, "--licence", help="Licence of the weights (hub id, e.g. "
                                                                       "cc-by-4.0); default 'other'."),
    ) -> None:
        """Publish a trained encoder: weights, config (contract, training record) and a model card."""
        from rich.console import Console

        from climb.errors import ClimbError, ClimbUsageError
        from climb.models.publish import publish as write, push_folder

        console = Console(stderr=True)
        try:
            folder = write(run_dir, out, licence=licence)
            console.print(f"published {run_dir} -> {folder} (load it: create_encoder({str(folder)!r}))")
            if push:
                url = push_folder(folder, push)
                console.print(f"pushed to hf-hub:{push} ({url})")
        except ClimbError as exc:
            typer.echo(f"error: {exc}", err=True)  # literal text: brackets in messages stay
            raise typer.Exit(2 if isinstance(exc, ClimbUsageError) else 1) from None
