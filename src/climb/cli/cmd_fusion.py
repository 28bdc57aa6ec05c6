"""`climb fusion PRESET`: the CLIMB fusion protocol on a prepared multimodal dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from climb.cli.options import logger_option


def _strategies(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def _pretrained(values: list[str] | None) -> dict[str, Path]:
    out = {}
    for v in values or []:
        modality, sep, path = v.partition("=")
        if not sep or not modality or not path:
            raise typer.BadParameter(f"expected MODALITY=PATH, got {v!r}", param_hint="--pretrained")
        out[modality] = Path(path)
    return out


def _ensure_prepared(names: list[str], raw: Path | None) -> None:
    """Prepare each dataset from `raw` when it is not prepared yet (a clear error without `raw`)."""
    from climb.prepare import open_prepared, prepare

    for name in names:
        try:
            open_prepared(name)
        except FileNotFoundError:
            if raw is None:
                raise
            prepare(name, raw=raw)


def _print_presets() -> None:
    from rich.console import Console
    from rich.table import Table

    from climb.train.fusion import PRESETS

    table = Table(title="fusion presets")
    for col in ("preset", "dataset", "modalities", "description"):
        table.add_column(col)
    for name, p in PRESETS.items():
        mods = ", ".join(f"{m} ({c['encoder']})" for m, c in p["modalities"].items())
        table.add_row(name, p["dataset"], mods, p["description"])
    Console().print(table)


def _cell(value) -> str:
    """A table cell: "" for a missing value (None or NaN: rows gathered from several results frames)."""
    import pandas as pd

    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _summary(frame) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from climb.evaluate import headline

    metric = headline(frame.task.dropna().iloc[0]).name if frame.task.notna().any() else "auroc"
    rows = frame[frame.metric == metric]
    table = Table(title=f"test {metric} (95% patient-level bootstrap CI)")
    for col in ("dataset", "split", "model", "shots", "init", "dropped", metric):
        table.add_column(col, overflow="fold")
    if frame.notes.map(lambda n: any("LABEL LEAK" in x for x in n)).any():
        table.caption = "LABEL LEAK: rows of this table read the answer (see the notes column of results.csv)"
    for r in rows.itertuples():
        model = f"unimodal {r.modalities}" if r.fusion == "unimodal" else r.fusion
        table.add_row(r.dataset, r.split, _cell(model), "all" if pd.isna(r.shots) else str(r.shots),
                      _cell(r.init), _cell(r.dropped), f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]")
    Console().print(table)


def register(app: typer.Typer) -> None:
    @app.command("fusion")
    def fusion(
        preset: str | None = typer.Argument(None, help="fusion preset or preset .yaml file (omit to list them)"),
        strategies: list[str] | None = typer.Option(None, "--strategies", "-s",
                                                    help="fusion strategies (repeat or comma-separate); default all"),
        shots: list[int] | None = typer.Option(None, "--shots", help="k-shot settings besides full data [8]"),
        full: bool = typer.Option(True, "--full/--no-full", help="include the full-data setting"),
        unimodal: bool = typer.Option(True, "--unimodal/--no-unimodal", help="run the unimodal baselines"),
        pretrained: list[str] | None = typer.Option(None, "--pretrained",
                                                    help="MODALITY=encoder.safetensors (adds the pretrained init)"),
        epochs: int = typer.Option(10, "--epochs", min=1),
        batch_size: int = typer.Option(32, "--batch-size", min=1),
        lr: float = typer.Option(1e-3, "--lr"),
        seeds: list[int] | None = typer.Option(None, "--seed", help="seeds (repeat) [0]"),
        limit_train_batches: float = typer.Option(1.0, "--limit-train-batches",
                                                  help="fraction (<= 1) or number (> 1) of batches per epoch"),
        n_boot: int = typer.Option(200, "--n-boot", min=0),
        accelerator: str = typer.Option("cpu", "--accelerator"),
        raw: Path | None = typer.Option(None, "--raw", help="prepare missing datasets from this raw folder"),
        out: Path = typer.Option(Path("runs/fusion"), "--out", help="output folder (results.csv)"),
        logger: str | None = logger_option(),
        verbose: bool = typer.Option(False, "--verbose", help="show Lightning progress"),
    ) -> None:
        """Unimodal baselines, fusion strategies, full/k-shot, scratch/pretrained, missing modalities."""
        from rich.console import Console

        from climb.models import EncoderError
        from climb.prepare import PrepareError
        from climb.train.fusion import PRESETS, fusion_protocol, is_preset_file, preset_config

        if preset is None:
            _print_presets()
            return
        if not verbose:
            import logging

            logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
        if preset not in PRESETS and not is_preset_file(preset):
            raise typer.BadParameter(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}", param_hint="PRESET")
        settings = ([None] if full else []) + list(shots if shots is not None else [8])
        if not settings:
            raise typer.BadParameter("nothing to run: --no-full and no --shots")
        limit = int(limit_train_batches) if limit_train_batches > 1 else limit_train_batches
        try:
            cfg = preset_config(preset, epochs=epochs, batch_size=batch_size, lr=lr, n_boot=n_boot,
                                limit_train_batches=limit, accelerator=accelerator, out_dir=out,
                                **({"logger": logger} if logger else {}))
            _ensure_prepared([cfg.dataset, *cfg.test_on], raw)
            if cfg.label_leak:
                Console(stderr=True).print(f"[bold red]{cfg.label_leak}[/]")
            frame = fusion_protocol(cfg, strategies=_strategies(strategies) or list(_all_strategies()),
                                    shots=settings, pretrained=_pretrained(pretrained) or None, unimodal=unimodal,
                                    seeds=seeds or [0], quiet=not verbose)
        except (ValueError, KeyError, FileNotFoundError, EncoderError, PrepareError) as exc:
            Console(stderr=True).print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        _summary(frame)
        Console().print(f"wrote {out / 'results.csv'} ({len(frame)} rows)")


def _all_strategies() -> tuple[str, ...]:
    from climb.models.fusion import FUSION_STRATEGIES

    return FUSION_STRATEGIES
