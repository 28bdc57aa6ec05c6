"""`climb export`: a prepared dataset to a Hugging Face dataset (local or pushed to the Hub) or a VLM JSONL."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class ExportFormat(str, Enum):
    hf = "hf"
    hub = "hub"
    jsonl = "jsonl"


def export(
    name: str = typer.Argument(..., help="Prepared dataset name (see `climb prepare`)."),
    split: str = typer.Option(None, help="Split to export: train, val or test [hf, jsonl: test; hub: all splits]."),
    to: ExportFormat = typer.Option(ExportFormat.hf, "--to",
                                    help="hf: datasets.save_to_disk of one split; hub: a Hugging Face Hub dataset "
                                         "folder (parquet per split + dataset card); jsonl: VLM JSONL."),
    out: Path = typer.Option(None, "--out", help="Output directory [with --push: $CLIMB_HOME/hub/ORG--NAME]."),
    push: str = typer.Option(None, "--push", help="ORG/NAME: write the hub folder and upload it to this Hugging "
                                                  "Face dataset repository (token from HF_TOKEN only)."),
    limit: int = typer.Option(None, help="Export only the first N samples (of each split)."),
) -> None:
    """Export a prepared dataset (Hugging Face `datasets`, a Hub dataset with its card, or image/video JSONL)."""
    from rich.console import Console
    from rich.markup import escape

    from climb.errors import ClimbError, ClimbUsageError

    console = Console()
    try:
        if push is not None and to == ExportFormat.jsonl:
            raise ClimbUsageError("--push uploads a Hugging Face dataset: use it with --to hf or --to hub")
        if out is None and push is None:
            raise ClimbUsageError("give --out DIR (or --push ORG/NAME)")
        if push is not None or to == ExportFormat.hub:
            _export_hub(console, name, split, out, push, limit)
        else:
            _export_split(console, name, split or "test", to, out, limit)
    except ClimbUsageError as e:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (ClimbError, FileNotFoundError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(message))}", soft_wrap=True)
        raise typer.Exit(1) from None


def _export_split(console, name: str, split: str, to: ExportFormat, out: Path, limit: int | None) -> None:
    from climb.loading import open_store
    from climb.loading.export import to_hf_dataset, to_vlm_jsonl

    store = open_store(name)
    if to == ExportFormat.hf:
        ds = to_hf_dataset(store, split, limit=limit)
        ds.save_to_disk(str(out))
        console.print(f"wrote {len(ds)} rows of {name}/{split} as a Hugging Face dataset to {out}")
    else:
        path = to_vlm_jsonl(store, split, out, limit=limit)
        lines = sum(1 for _ in open(path))
        console.print(f"wrote {lines} lines to {path}")


def _export_hub(console, name: str, split: str | None, out: Path | None, push: str | None,
                limit: int | None) -> None:
    from climb.config import climb_home
    from climb.hubio import check_repo_id, hub_api
    from climb.loading import open_store
    from climb.loading.hub import check_pushable, export_hub_folder, push_hub_dataset

    store = open_store(name)
    if push is not None:  # refuse before any work: a bad repo id, a licence that does not allow sharing, no token
        check_repo_id(push)
        check_pushable(store)
        api = hub_api()
    folder = out if out is not None else climb_home() / "hub" / push.replace("/", "--")
    export_hub_folder(store, folder, [split] if split else None, limit=limit)
    console.print(f"wrote {name} as a Hugging Face Hub dataset folder (README.md dataset card) to {folder}")
    if push is not None:
        url = push_hub_dataset(folder, push, api=api)
        console.print(f"pushed to https://huggingface.co/datasets/{push} ({url})")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
