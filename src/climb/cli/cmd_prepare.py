"""`climb prepare NAME`: a thin shell over `climb.prepare.prepare`.

Parses options, prints the dataset card's summary (splits, patients, class counts) as a
table, and turns errors into one line: bad input data or a failed download -> exit 1,
an unknown builder name or parameter -> exit 2 (never a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

EXIT_DATA, EXIT_USAGE = 1, 2
MAX_CLASS_COLUMNS = 8


def parse_params(items: list[str]) -> dict[str, Any]:
    """`["sampling_rate=500", "leads=both"]` -> `{"sampling_rate": 500, "leads": "both"}` (YAML scalars)."""
    import yaml

    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value, got {item!r}")
        try:
            params[key.strip()] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            params[key.strip()] = value
    return params


def summary_table(card: dict[str, Any]) -> Any:
    """A rich table: one row per split with samples, patients and class counts."""
    from rich.table import Table

    names = card["label_names"]
    wide = len(names) <= MAX_CLASS_COLUMNS and card["task"] != "regression"
    table = Table(title=f"{card['name']} ({card['task']}, {len(names)} labels)")
    for col in ("split", "samples", "patients"):
        table.add_column(col, justify="left" if col == "split" else "right")
    if wide:
        for name in names:
            table.add_column(name, justify="right")
    else:
        table.add_column("class counts")
    for split, info in card["splits"].items():
        counts = info["class_counts"]
        cells = [str(counts.get(n, "")) for n in names] if wide else \
            [", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in counts.items())]
        table.add_row(split, str(info["num_samples"]), str(info["num_patients"]), *cells)
    return table


def _field_lines(card: dict[str, Any]) -> list[str]:
    lines = []
    for name, meta in card["fields"].items():
        shape = f" {tuple(meta['shape'])}" if meta.get("shape") else ""
        rate = f" @ {meta['sampling_rate']} Hz" if "sampling_rate" in meta else ""
        lines.append(f"  {name}: {meta['kind']}{shape} {meta.get('dtype', '')}{rate}".rstrip())
    return lines


def _store_bytes(card: dict[str, Any]) -> int:
    return sum(f["size"] for f in card["files"].values())


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def register(app: typer.Typer) -> None:
    @app.command("prepare")
    def prepare_cmd(
        name: Optional[str] = typer.Argument(None, help="Builder name, e.g. ptbxl (see --list), or a dataset declaration file (NAME.yaml)."),
        raw: Optional[Path] = typer.Option(None, "--raw", help="Raw files in the official layout."),
        mirror: Optional[str] = typer.Option(
            None, "--mirror", help="Directory or URL standing in for the official host (downloads first)."),
        trust_mirror: bool = typer.Option(
            False, "--trust-mirror", help="Verify against the mirror's MANIFEST.sha256 (a modified subset)."),
        download: bool = typer.Option(
            False, "--download", help="Download and verify the raw files from the official source first "
                                      "(open datasets; credentialed ones need credentials as for `climb download`)."),
        force: bool = typer.Option(False, "--force", help="Rebuild even if an up-to-date build exists."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="Builder parameter key=value."),
        list_names: bool = typer.Option(False, "--list", help="List the builder names and exit."),
        workers: int = typer.Option(1, "--workers", "-w", min=1,
                                    help="Worker processes preparing records in parallel (same output for any N)."),
        cluster: Optional[str] = typer.Option(
            None, "--cluster", help="Dask scheduler address (tcp://HOST:8786) to prepare on; needs climb-bench[distributed]."),
        storage: Optional[str] = typer.Option(
            None, "--storage", help="arrays (default), png (lossless) or jpeg (lossy): how image/video fields are stored."),
    ) -> None:
        """Build a standard, versioned dataset (Arrow shards + card) from raw files."""
        from rich.console import Console

        from climb.prepare import builder_names

        console = Console()
        if list_names:
            for builder in builder_names():
                typer.echo(builder)
            return
        if name is None:
            raise _fail("give a builder NAME (see `climb prepare --list`)", EXIT_USAGE)
        ds = _run_prepare(name, raw, mirror, force, quiet, param or [], trust_mirror,
                          {"workers": workers, "cluster": cluster, "storage": storage, "download": download})
        console.print(summary_table(ds.card))
        typer.echo("\n".join(["fields:", *_field_lines(ds.card)]))
        typer.echo(f"splits: {ds.card['split_policy']}")
        typer.echo(f"storage: {ds.card['storage']}, {_store_bytes(ds.card):,} bytes in {len(ds.card['files'])} shards")
        typer.echo(f"prepared at {ds.root}")


def _run_prepare(name: str, raw: Path | None, mirror: str | None, force: bool, quiet: bool,
                 param_items: list[str], trust_mirror: bool = False, options: dict[str, Any] | None = None) -> Any:
    from climb.acquire.errors import AcquireError
    from climb.errors import ClimbError, ClimbUsageError
    from climb.kinds.codecs import STORAGES
    from climb.prepare import LeakageError, PrepareError, create_builder, prepare

    options = options or {}
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():  # a dataset declared in YAML alone
        from climb.prepare.declared import register_declared

        name = register_declared(Path(name))
    try:  # usage errors first: unknown name, unknown or bad parameter, storage
        params = parse_params(param_items)
        create_builder(name, **params)
        if options.get("storage") not in (None, *STORAGES):
            raise ValueError(f"--storage must be one of {', '.join(STORAGES)}, got {options['storage']!r}")
    except KeyError as e:
        raise _fail(str(e.args[0]) if e.args else "unknown name", EXIT_USAGE) from None
    except (TypeError, ValueError) as e:
        raise _fail(str(e), EXIT_USAGE) from None
    try:
        return prepare(name, raw=raw, mirror=mirror, force=force, quiet=quiet, trust_mirror=trust_mirror,
                       **options, **params)
    except ClimbUsageError as e:
        raise _fail(str(e), EXIT_USAGE) from None
    except (PrepareError, LeakageError, AcquireError, ClimbError) as e:
        raise _fail(str(e), EXIT_DATA) from None
    except ImportError as e:
        raise _fail(f"mirror download is not available ({e})", EXIT_DATA) from None
    except KeyboardInterrupt:
        raise _fail("interrupted: nothing was written; re-run the same command", 130) from None
    except Exception as e:  # download errors (AcquireError) and I/O errors: one line, no traceback
        if type(e).__module__.startswith("climb.acquire") or isinstance(e, OSError):
            raise _fail(str(e), EXIT_DATA) from None
        raise
