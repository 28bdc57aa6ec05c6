"""`climb verify NAME | DIR | --all`: re-hash what climb wrote and report file by file.

* a prepared dataset (its name, or its directory): the card's own seal, then every shard's
  presence, size and sha256 against the card (`climb.prepare.integrity.check_store`, "full");
* `--all`: every prepared dataset under `$CLIMB_HOME/prepared`;
* any other directory: a training run or a benchmark run, through `climb.benchmark.verify_run`
  when this climb has it (see `_verify_run`).

Exit 0 when everything is intact, 1 when anything failed (a failed store is rebuilt by
`climb prepare NAME`), 2 for a bad argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

EXIT_FAILED, EXIT_USAGE = 1, 2


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def verify_store(root: Path, console: Any) -> bool:
    """Re-hash the store at `root`, print one row per file; True when it is intact."""
    from rich.markup import escape
    from rich.table import Table

    from climb.prepare.integrity import StoreError, check_store, read_card

    try:
        checks = check_store(root, read_card(root), "full")
    except StoreError as e:
        console.print(f"[red]{escape(root.name)}: FAILED[/red] {escape(str(e))}")
        return False
    table = Table(title=f"{root.name} ({root})", title_justify="left")
    for col in ("file", "bytes", "status", "detail"):
        table.add_column(col, justify="right" if col == "bytes" else "left")
    for c in checks:
        status = "[green]ok[/green]" if c.status == "ok" else ("extra" if c.ok else f"[red]{c.status}[/red]")
        table.add_row(escape(c.name), "" if c.size is None else f"{c.size:,}", status, escape(c.detail))
    console.print(table)
    failed = [c for c in checks if not c.ok]
    if failed:
        console.print(f"[red]{escape(root.name)}: {len(failed)} of {len(checks)} files FAILED[/red]; "
                      f"`climb prepare {escape(root.name)}` rebuilds it")
    else:
        console.print(f"{escape(root.name)}: all {len(checks)} files intact")
    return not failed


def _verify_run(path: Path, console: Any) -> bool:
    """Verify a training or benchmark run directory: `climb.benchmark.verify_run` re-hashes every
    file a finished run (`run.json`) or benchmark cell (`cell.json`) recorded; any problem fails."""
    from rich.markup import escape

    from climb.benchmark import verify_run

    problems = verify_run(path)
    for problem in problems:
        console.print(f"[red]FAILED[/red] {escape(str(problem))}")
    if not problems:
        console.print(f"[green]ok[/green] {escape(str(path))}: every recorded output matches its sha256")
    return not problems


def _stores(target: str | None, all_stores: bool) -> list[Path] | Path:
    """The store directories to verify, or a run directory (a `Path` not in a list)."""
    from climb.config import prepared_root

    if all_stores:
        root = prepared_root()
        return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / "card.json").is_file()) \
            if root.is_dir() else []
    assert target is not None
    path = Path(target)
    if path.is_dir() and (path / "card.json").is_file():
        return [path]
    if path.is_dir():
        return path
    store = prepared_root() / target
    if not (store / "card.json").is_file():
        raise _fail(f"{target!r} is neither a prepared dataset (run `climb prepare {target}`) nor a directory",
                    EXIT_FAILED)
    return [store]


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify_cmd(
        target: Optional[str] = typer.Argument(
            None, help="A prepared dataset name or directory, or a training / benchmark run directory."),
        all_stores: bool = typer.Option(False, "--all", help="Verify every prepared dataset."),
    ) -> None:
        """Re-hash a prepared dataset (or every one, or a run) and report file by file."""
        from rich.console import Console

        console = Console()
        if (target is None) == (not all_stores):
            raise _fail("give a dataset NAME or a directory, or --all (not both)", EXIT_USAGE)
        found = _stores(target, all_stores)
        if isinstance(found, Path):
            ok = _verify_run(found, console)
        else:
            if not found:
                console.print("no prepared datasets to verify")
            ok = all([verify_store(store, console) for store in found])
        if not ok:
            raise typer.Exit(EXIT_FAILED)
