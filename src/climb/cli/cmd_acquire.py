"""`climb download ID`: a thin shell over `climb.acquire.download`.

resolve -> manifest -> plan -> fetch -> verify -> rename -> mark complete all happen
in the library; this module only parses options and prints a one-line summary. Errors
become one line (and exit code 1, or 2 for a bad option) in `climb.cli.ClimbGroup`.
"""

from __future__ import annotations

import logging
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
        dest: Optional[str] = typer.Option(None, "--dest", help="Target directory (default: climb's raw cache)."),
        workers: int = typer.Option(4, "--workers", min=1, max=64, help="Parallel file transfers."),
        deadline: float = typer.Option(
            24.0, "--deadline", min=0, help="Hours this download may run; partial files are kept for a "
            "resume when it passes (0: no deadline)."),
        min_speed: float = typer.Option(
            1.0, "--min-speed", min=0, help="KiB/s a transfer must average over a minute, else it is retried "
            "(0: no minimum)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars (warnings still show)."),
    ) -> None:
        """Download and verify a dataset's raw files (resumable; safe to re-run)."""
        from climb.acquire import TransferLimits, download

        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
        limits = TransferLimits(min_speed=min_speed * 1024, deadline=deadline * 3600 or None)
        report = download(dataset, dest=dest, mirror=mirror, include=include or None, workers=workers,
                          quiet=quiet, trust_mirror=trust_mirror, limits=limits)
        typer.echo(report.summary())
