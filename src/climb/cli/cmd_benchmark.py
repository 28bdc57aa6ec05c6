"""`climb benchmark SUITE`: run a benchmark suite end to end into a resumable run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from climb.cli.options import logger_option


def _devices(value: Optional[str]) -> int | str | None:
    return int(value) if value and value.isdigit() else value


def _print_plan(planned, console) -> None:
    from rich.table import Table

    table = Table(title="cells (dry run: nothing is prepared or trained)")
    for col in ("cell", "action", "note"):
        table.add_column(col, overflow="fold")
    for p in planned:
        table.add_row(p.cell.id, p.action, p.message or "")
    console.print(table)


def _summary(run_dir: Path, console) -> None:
    import json

    manifest = json.loads((run_dir / "manifest.json").read_text())
    counts: dict[str, int] = {}
    for cell in manifest["cells"].values():
        counts[cell["status"]] = counts.get(cell["status"], 0) + 1
    demo = "  [bold yellow]DEMO suite: small budgets, not benchmark numbers[/bold yellow]" if manifest["demo"] else ""
    console.print(f"suite {manifest['suite']}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + demo)
    console.print(f"run dir: {run_dir} (results.csv, results.parquet, manifest.json, cells/)")


def register(app: typer.Typer) -> None:
    @app.command()
    def benchmark(
        suite: str = typer.Argument("demo", help="A shipped suite (demo, shared-real, climb) or a suite YAML file."),
        out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default runs/<suite>)."),
        resume: bool = typer.Option(True, "--resume/--no-resume", help="Keep cells whose cell.json says done."),
        only: Optional[str] = typer.Option(None, "--only", help="Run only cells matching these glob(s), comma-separated."),
        dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and the data they need; run nothing."),
        paired: Optional[bool] = typer.Option(None, "--paired/--no-paired",
                                              help="Add multitask-vs-single paired AUROC differences."),
        accelerator: Optional[str] = typer.Option(None, help="Override the suite: cpu, gpu, auto."),
        devices: Optional[str] = typer.Option(None, help="Override the suite: number of devices or 'auto'."),
        strategy: Optional[str] = typer.Option(None, help="Override the suite: auto, ddp, fsdp, ..."),
        precision: Optional[str] = typer.Option(None, help="Override the suite: 32-true, bf16-mixed, ..."),
        num_nodes: Optional[int] = typer.Option(None, help="Override the suite: nodes (SLURM / torchrun)."),
        logger: Optional[str] = logger_option(),
        prepare_workers: int = typer.Option(1, "--prepare-workers", min=1, help="Processes preparing datasets."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        report: bool = typer.Option(True, "--report/--no-report", help="Write the HTML/Markdown report at the end."),
    ) -> None:
        """Run every cell of SUITE (data check, training, evaluation), resumably, into one run directory."""
        from rich.console import Console

        from climb.benchmark import RichProgress, SuiteError, check_data, load_suite, plan, run_suite, suite_path
        from climb.benchmark.runner import cell_datasets, validate_suite
        from climb.errors import ClimbError, ClimbUsageError

        console = Console(stderr=True)
        try:
            spec = load_suite(suite)
            run_dir = out or Path("runs") / spec.name
            if dry_run:
                needed = sorted({d for c in validate_suite(spec) for d in cell_datasets(c)})
                data = check_data(spec, needed, dry_run=True)
                _print_plan(plan(spec, run_dir, data, resume=resume, only=only), Console())
                return
            overrides = {"accelerator": accelerator, "devices": _devices(devices), "strategy": strategy,
                         "precision": precision, "num_nodes": num_nodes, "logger": logger}
            run_suite(spec, run_dir, resume, only=only, overrides=overrides, paired=paired,
                      prepare_workers=prepare_workers, suite_file=str(suite_path(suite)),
                      progress=None if quiet else RichProgress(console))
        except (ClimbError, SuiteError, ValueError, KeyError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2 if isinstance(e, ClimbUsageError) else 1) from None
        from climb.benchmark.runner import _rank

        if _rank() == 0:
            _summary(run_dir, Console())
            if report:
                from climb.report import build_report

                html = build_report(run_dir)
                Console().print(f"report: {html}  (Markdown beside it; `climb report {run_dir}` rebuilds it)")
