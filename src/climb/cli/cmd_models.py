"""`climb models`: the encoder registry and the model zoo, from data alone (no model is built).

The listing reads `encoders.yaml` / `zoo.yaml` and never imports torch, so it answers in
well under 2 s; `--info NAME` shows one encoder or zoo tag with its weights' source,
licence, citation and input contract (timm tags ask the timm package for theirs).
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(
        modality: str | None = typer.Option(None, "--modality", "-m", help="only encoders of this input kind"),
        info: str | None = typer.Option(None, "--info", help="one encoder or zoo tag in full"),
        zoo: bool = typer.Option(False, "--zoo", help="list the pretrained weights (the model zoo)"),
        wide: bool = typer.Option(False, "--wide", help="all columns, however wide the terminal"),
    ) -> None:
        """List the encoders `create_encoder` builds (* = default for its kind) or the model zoo."""
        from rich.console import Console

        from climb.errors import ClimbUsageError
        from climb.models.registry import list_encoders

        console = Console(width=max(Console().width, 160)) if wide else Console()
        try:
            if info:
                _print_info(console, info)
            elif zoo:
                _print_zoo(console, modality, wide)
            else:
                _print_encoders(console, list_encoders(modality), wide)
        except ClimbUsageError as exc:
            raise typer.BadParameter(str(exc), param_hint="--info" if info else "--modality") from exc


def _print_encoders(console, names: list[str], wide: bool) -> None:
    from rich import box
    from rich.table import Table

    from climb.models.registry import get_spec
    from climb.models.zoo import zoo

    tagged = {e.encoder for e in zoo().values() if e.loadable}
    table = Table(title="CLIMB encoders (* default for its kind, + zoo weights: --info NAME)",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    widths = {"name": max((len(n) for n in names), default=4) + 1, "kind": 6, "dim": 4, "params": 7}
    if wide:
        widths["in"] = 3
    for col, width in widths.items():
        table.add_column(col, width=width, no_wrap=True, justify="left" if col in ("name", "kind") else "right")
    rest = console.width - sum(widths.values()) - 2 * (len(widths) + 1)
    table.add_column("description", width=max(rest, 10), overflow="fold" if wide else "ellipsis", no_wrap=not wide)
    for name in names:
        s = get_spec(name)
        mark = ("*" if s.default else "") + ("+" if name in tagged else "")
        row = [f"{name}{mark}", s.modality, str(s.out_dim or "-"), _millions(s.params)]
        if wide:
            row.append(str(s.default_in_channels or "-"))
        table.add_row(*row, s.description)
    console.print(table)


def _print_zoo(console, modality: str | None, wide: bool) -> None:
    from rich import box
    from rich.table import Table

    from climb.models.registry import get_spec
    from climb.models.zoo import zoo

    table = Table(title="CLIMB model zoo (pretrained=TAG; --info TAG)", box=box.SIMPLE_HEAD, pad_edge=False)
    tag_width = min(max(len(t) for t in zoo()), 26 if not wide else 60)
    table.add_column("tag", no_wrap=False, overflow="fold", width=tag_width)
    table.add_column("encoder", no_wrap=True, width=14)
    rest = console.width - tag_width - 14 - 2 * 4
    table.add_column("weights", width=max(rest, 10), overflow="fold" if wide else "ellipsis", no_wrap=not wide)
    for e in zoo().values():
        kind = get_spec(e.encoder).modality if e.encoder else (e.contract.kind if e.contract else "signal")
        if modality and kind != modality:
            continue
        where = f"timm:{e.timm}" if e.timm else (f"hf-hub:{e.hub}" if e.hub else "-")
        table.add_row(e.tag, e.encoder or "(not loadable)", where if e.loadable else f"listed: {e.reason}")
    console.print(table)


def _print_info(console, name: str) -> None:
    from climb.models.registry import MODALITIES, get_spec, list_encoders
    from climb.models.zoo import entries_for, get_entry, zoo

    if name in zoo():
        entry = get_entry(name)
        _print_entry(console, entry.resolved() if entry.loadable else entry)
        return
    s = get_spec(name)
    console.print(f"[bold]{name}[/bold]  ({s.modality}{', default' if s.default else ''})  {s.description}")
    console.print(f"  factory   {s.factory_path or '(registered at run time)'}")
    console.print(f"  input     {s.default_in_channels or '-'} channels by default; embedding {s.out_dim}; "
                  f"{_millions(s.params)} parameters")
    entries = entries_for(name)
    if not entries:
        console.print("  weights   none in the zoo (pretrained= a file, a folder or an hf-hub: id)")
    for e in entries:
        console.print("")
        _print_entry(console, e.resolved() if e.loadable else e)
    assert s.modality in MODALITIES and name in list_encoders()


def _print_entry(console, e) -> None:
    console.print(f"[bold]{e.tag}[/bold]{' (default)' if e.default else ''} -> encoder {e.encoder or '-'}")
    for label, value in (("weights", f"hf-hub:{e.hub}@{e.revision} {e.file}" if e.hub else "-"),
                         ("source", e.source), ("licence", e.licence), ("citation", e.citation),
                         ("contract", e.contract.describe() if e.contract else "-"),
                         ("not loaded", e.reason if not e.loadable else None)):
        if value:
            console.print(f"  {label:<10}{value}", overflow="fold")


def _millions(n: int | None) -> str:
    if not n:
        return "-"
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n / 1e3:.1f}k"
