"""Options shared by several commands (one definition each)."""

from __future__ import annotations

from typing import Any

import typer

from climb.trackers import LOGGERS


def _logger_name(value: str | None) -> str | None:
    if value is not None and value not in LOGGERS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(LOGGERS)}")
    return value


def logger_option() -> Any:
    """`--logger NAME`: the experiment tracker next to the CSV log (None: the config's, default tensorboard)."""
    return typer.Option(None, "--logger", callback=_logger_name, metavar="|".join(LOGGERS),
                        help="Experiment tracker next to the CSV log: tensorboard (default), csv, "
                             "wandb or mlflow (extra climb-bench[trackers]).")
