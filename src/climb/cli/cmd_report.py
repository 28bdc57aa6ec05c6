"""`climb report RUN`: HTML + Markdown report of a benchmark run directory."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        run: Path = typer.Argument(..., help="run directory written by `climb benchmark`"),
        out: Path | None = typer.Option(None, "--out", help="output folder [the run directory]"),
        open_browser: bool = typer.Option(False, "--open", help="open the report in a web browser"),
    ) -> None:
        """Write report.html, report.md and figures/*.png for a benchmark run."""
        from rich.console import Console

        from climb.report import RunError, build_report

        try:
            html_path = build_report(run, out)
        except RunError as exc:
            Console(stderr=True).print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        Console().print(f"wrote {html_path} and {html_path.with_name('report.md')}")
        if open_browser:
            import webbrowser

            webbrowser.open(html_path.resolve().as_uri())
