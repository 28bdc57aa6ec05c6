"""`climb download ID`: a thin shell over `climb.acquire.download`.

resolve -> manifest -> plan -> fetch -> verify -> rename -> mark complete all happen
in the library; this module only parses options, prints a one-line summary, and turns
any acquisition error into a one-line message and exit code 1 (never a traceback).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("download")
    def download_cmd(
        dataset: str = typer.Argument(..., help="Catalog id, e.g. mitdb (see `climb datasets`)."),
        mirror: Optional[str] = typer.Option(
            None, "--mirror", help="Directory or URL prefix standing in for the official host."),
        include: Optional[list[str]] = typer.Option(
            None, "--include", help="Glob, file path or record name (e.g. 100), or @FILE listing them "
            "one per line; repeatable."),
        trust_mirror: bool = typer.Option(
            False, "--trust-mirror", help="Verify against the mirror's own MANIFEST.sha256 instead of the "
            "official checksums (for a mirror holding a modified subset); files that differ are reported."),
        dest: Optional[Path] = typer.Option(None, "--dest", help="Target directory (default: climb's raw cache)."),
        workers: int = typer.Option(4, "--workers", min=1, max=64, help="Parallel file transfers."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Download and verify a dataset's raw files (resumable; safe to re-run)."""
        from climb.acquire import AcquireError, download

        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
        try:
            report = download(dataset, dest=dest, mirror=mirror, include=include or None,
                              workers=workers, quiet=quiet, trust_mirror=trust_mirror)
        except (AcquireError, ValueError) as e:  # ValueError: a malformed catalog entry
            typer.echo("error: " + " ".join(str(e).split()), err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: partial files are kept; re-run the same command to resume", err=True)
            raise typer.Exit(130) from None
        except OSError as e:
            typer.echo(f"error: {e.strerror or e} ({e.filename})" if e.filename else f"error: {e}", err=True)
            raise typer.Exit(1) from None
        typer.echo(report.summary())
