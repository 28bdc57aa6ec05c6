"""`climb export`: a prepared split to a Hugging Face dataset or a VLM instruction JSONL."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class ExportFormat(str, Enum):
    hf = "hf"
    jsonl = "jsonl"


def export(
    name: str = typer.Argument(..., help="Prepared dataset name (see `climb prepare`)."),
    split: str = typer.Option("test", help="Split to export: train, val or test."),
    to: ExportFormat = typer.Option(ExportFormat.hf, "--to", help="hf: datasets.save_to_disk; jsonl: VLM JSONL."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    limit: int = typer.Option(None, help="Export only the first N samples."),
) -> None:
    """Export a prepared split (Hugging Face `datasets` or image/video + question JSONL)."""
    from rich.console import Console
    from rich.markup import escape

    from climb.errors import ClimbError
    from climb.loading import open_store
    from climb.loading.export import to_hf_dataset, to_vlm_jsonl

    console = Console()
    try:
        store = open_store(name)
        if to == ExportFormat.hf:
            ds = to_hf_dataset(store, split, limit=limit)
            ds.save_to_disk(str(out))
            console.print(f"wrote {len(ds)} rows of {name}/{split} as a Hugging Face dataset to {out}")
        else:
            path = to_vlm_jsonl(store, split, out, limit=limit)
            lines = sum(1 for _ in open(path))
            console.print(f"wrote {lines} lines to {path}")
    except (ClimbError, FileNotFoundError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(message))}", soft_wrap=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("export")(export)
