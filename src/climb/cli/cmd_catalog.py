"""`climb datasets` and `climb info ID`: a thin shell over `climb.catalog`.

`datasets` lists (and filters) the catalog with each dataset's local status, prints
count tables (`--summary`), draws the distribution (`--plot`) or emits JSON (`--json`);
`info` prints one dataset card with its sources and whether checksums are pinned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from climb.prepare.builder import builders_for


def register(app: typer.Typer) -> None:
    app.command("datasets")(datasets_cmd)
    app.command("info")(info_cmd)


def _console():
    from rich.console import Console

    console = Console()
    # Never squeeze the table below a readable width when output is piped or captured.
    return console if console.is_terminal else Console(width=200)


def datasets_cmd(
    modality: Optional[str] = typer.Option(None, "--modality", help="Substring of the modality, e.g. ecg."),
    family: Optional[str] = typer.Option(None, "--family", help="1d, 2d, 3d, graph or multimodal."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Substring of the clinical domain."),
    access: Optional[str] = typer.Option(None, "--access", help="open, registration or credentialed."),
    task: Optional[str] = typer.Option(None, "--task", help="binary, multiclass, multilabel, regression, other."),
    summary: bool = typer.Option(False, "--summary", help="Print counts per family, domain, access and task."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the distribution bar charts to this PNG."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the datasets climb knows (filters are case-insensitive substrings)."""
    from climb.catalog import entries
    from climb.catalog.summary import filter_entries, local_status, plot_distribution, summary_dict

    selected = filter_entries(entries(), modality=modality, family=family, domain=domain, access=access, task=task)
    if plot is not None:
        if not selected:
            typer.echo("error: no dataset matches the filters; nothing to plot", err=True)
            raise typer.Exit(1)
        written = plot_distribution(selected, plot)
        if not as_json:
            typer.echo(f"wrote {written}", err=True)
    if as_json:
        rows = [_row_dict(e, local_status(e.id, builders_for(e.id))) for e in selected]
        payload: dict = {"datasets": rows, "count": len(rows)}
        if summary:
            payload["summary"] = summary_dict(selected)
        typer.echo(json.dumps(payload, indent=2))
        return
    console = _console()
    if summary:
        _print_summary(console, selected)
    else:
        _print_table(console, selected, local_status)


def _row_dict(entry, status: str) -> dict:
    return {
        "id": entry.id, "name": entry.name, "modality": entry.modality, "family": entry.family.value,
        "domain": entry.domain, "task": entry.task.value, "n_labels": len(entry.labels),
        "access": entry.access.value, "in_climb": entry.in_climb, "local_status": status,
        "builders": builders_for(entry.id),
        "views": {name: {"task": v.task.value, "labels": v.labels} for name, v in entry.views.items()},
    }


def _print_table(console, selected, local_status) -> None:
    from rich.table import Table

    table = Table(title=f"climb datasets ({len(selected)})", show_lines=False)
    for column, style in [("id", "bold cyan"), ("name", ""), ("modality", ""), ("family", ""), ("domain", ""),
                          ("task", ""), ("#labels", ""), ("access", ""), ("local", "green")]:
        table.add_column(column, style=style or None, no_wrap=column in ("id", "#labels", "family", "local"),
                         justify="right" if column == "#labels" else "left")
    for e in selected:
        table.add_row(e.id, e.name, e.modality, e.family.value, e.domain, e.task.value, str(len(e.labels)),
                      e.access.value, local_status(e.id, builders_for(e.id)))
    console.print(table)


def _print_summary(console, selected) -> None:
    from rich.table import Table

    from climb.catalog.summary import DIMENSIONS, summarize

    for dimension, counts in summarize(selected).items():
        table = Table(title=f"{DIMENSIONS[dimension]} ({len(selected)} datasets)")
        table.add_column(DIMENSIONS[dimension])
        table.add_column("datasets", justify="right")
        table.add_column("share", justify="right")
        for row in counts.itertuples():
            table.add_row(str(row.value), str(row.datasets), f"{row.share:.0%}")
        console.print(table)


def info_cmd(dataset: str = typer.Argument(..., help="Catalog id, e.g. mitdb (see `climb datasets`).")) -> None:
    """Show one dataset card: all fields, sources with URLs, and whether checksums are pinned."""
    from climb.catalog import get
    from climb.catalog.summary import local_status

    try:
        entry = get(dataset)
    except KeyError as e:
        typer.echo(f"error: {e.args[0]}", err=True)
        raise typer.Exit(2) from None
    console = _console()
    console.print(_card(entry, local_status(entry.id, builders_for(entry.id))))


def _card(entry, status: str):
    from rich.markup import escape
    from rich.table import Table

    from climb.catalog import entries_dir, entry_origin

    card = Table.grid(padding=(0, 2))
    card.add_column(style="bold")
    card.add_column(overflow="fold")
    s = entry.splits
    sizes = ", ".join(f"{k}={v:,}" for k, v in [("total", s.total), ("train", s.train), ("val", s.val),
                                                ("test", s.test)] if v is not None) or "unknown"
    fields = [
        ("id", entry.id), ("name", entry.name), ("modality", entry.modality), ("family", entry.family.value),
        ("domain", entry.domain), ("task", entry.task.value),
        ("labels", f"{len(entry.labels)}: {', '.join(entry.labels)}"), ("sizes", f"{sizes} ({s.unit})"),
        ("access", entry.access.value), ("license", entry.license), ("citation", entry.citation),
        ("homepage", entry.homepage), ("in CLIMB", "yes" if entry.in_climb else "no"),
        ("shared folder", entry.shared_folder or "-"),
        ("builders", ", ".join(builders_for(entry.id)) or "- (no builder yet)"),
        *((f"view {name}", f"{v.task.value}, {len(v.labels)}: {', '.join(v.labels)}"
           + (f" ({v.description})" if v.description else "")) for name, v in entry.views.items()),
        ("local status", status), ("notes", entry.notes or "-"),
        *((("download parts", _parts_line(entry.parts)),) if entry.parts else ()),
    ]
    origin = entry_origin(entry.id)
    if not origin.startswith(str(entries_dir())):  # a user catalog's file or a plugin's registration
        fields.insert(1, ("defined in", origin))
    for key, value in fields:
        card.add_row(key, escape(str(value)))
    for i, source in enumerate(entry.sources, 1):
        for key, value in _source_lines(source):
            card.add_row(f"source {i} {key}", escape(value))
    return card


def _parts_line(parts) -> str:
    """The parts of a multi-part entry: every one is downloaded, each into its own folder."""
    return (f"{len(parts)}, each downloaded and verified into <raw>/<subdir>/: "
            + ", ".join(f"{p.subdir} ({', '.join(p.include) or 'all files'})" for p in parts))


def _source_lines(source) -> list[tuple[str, str]]:
    lines = [("part", f"{source.subdir}/")] if source.subdir else []
    lines.append(("kind", source.kind.value))
    if source.base_url:
        lines.append(("url", source.base_url))
    if source.kaggle:
        lines.append(("kaggle", source.kaggle))
    if source.zenodo_record:
        lines.append(("zenodo", str(source.zenodo_record)))
    if source.manifest:
        pinned = "pinned (manifest_sha256)" if source.manifest_sha256 else "not pinned"
        lines.append(("manifest", f"{source.manifest} ({source.manifest_algo}); manifest hash {pinned}"))
    if source.include:
        lines.append(("include", ", ".join(source.include)))
    for f in source.files:
        url = f.url or (source.base_url + f.path if source.base_url else "-")
        sums = [name for name in ("sha256", "md5") if getattr(f, name)]
        pinned = f"checksum pinned ({'+'.join(sums)})" if sums else "checksum not pinned"
        size = f", {f.size:,} bytes" if f.size is not None else ""
        lines.append(("file", f"{f.path} <- {url} [{pinned}{size}]"))
    lines.append(("checksums", _checksum_status(source)))
    if source.instructions:
        lines.append(("instructions", source.instructions))
    return lines


def _checksum_status(source) -> str:
    files = source.files
    pinned = sum(1 for f in files if f.sha256 or f.md5)
    if files and pinned == len(files):
        return f"pinned for all {len(files)} file(s)"
    if source.manifest and source.manifest_sha256:
        return "publisher manifest, itself pinned by sha256"
    if source.manifest:
        return "publisher manifest (verified per file; manifest itself not pinned)"
    if pinned:
        return f"pinned for {pinned} of {len(files)} file(s)"
    return "none pinned"
