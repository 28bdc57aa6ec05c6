"""`climb` command line: a thin shell over the library.

Each layer registers its commands from its own module here, so the CLI stays a
table of contents: catalog (datasets, info), acquire (download), prepare
(prepare), and later train / benchmark / report.

Errors are handled once, here, for every command (`ClimbGroup.invoke`): a library error
is one line on stderr (`error: ...`, printed literally, never as rich markup) and exit
code 1, a usage error (`ClimbUsageError`) exit code 2, Ctrl-C one line and exit code 130.
`climb --debug ...` (or `CLIMB_DEBUG=1`) shows the traceback instead. Anything else
(a bug) keeps its traceback.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from climb.errors import ClimbError, ClimbUsageError

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _raised_by_climb(exc: BaseException) -> bool:
    """Whether `exc` was raised by climb's own code (its innermost frame lies in the package)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    *_, last = traceback.extract_tb(tb)
    return Path(last.filename).resolve().is_relative_to(_PACKAGE_DIR)


def is_library_error(exc: BaseException) -> bool:
    """Errors a user should read as one line, not a traceback.

    `ClimbError` (what climb raises on purpose); any exception class climb defines (the
    layers' own errors, e.g. `EncoderError`, `PrepareError`, `UnsafePathError`, until they
    derive from `ClimbError`); `OSError` (a missing file, a full disk, a refused link);
    pydantic's `ValidationError` (a bad configuration value); and `ValueError` /
    `LookupError` raised by climb's own code, which is how the layers report bad input
    (`raise ValueError(f"k must be >= 1, got {k}")`). The same classes raised deep inside
    another library (a bug or an unexpected state) keep their traceback.
    """
    from pydantic import ValidationError

    if isinstance(exc, (ClimbError, OSError, ValidationError)):
        return True
    if type(exc).__module__.split(".")[0] == "climb":
        return True
    return isinstance(exc, (ValueError, LookupError)) and _raised_by_climb(exc)


def one_line(exc: BaseException) -> str:
    """The message of `exc` on one line, as the user should read it."""
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ClimbError):
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    elif isinstance(exc, LookupError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]  # str(KeyError("x")) would be "'x'"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)  # plain text: brackets in messages stay as they are
    return typer.Exit(code)


class ClimbGroup(TyperGroup):
    """The `climb` group: runs a command and turns library errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            if _debug(ctx):
                raise
            typer.echo("interrupted: re-run the same command to resume", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _debug(ctx) or not is_library_error(exc):
                raise
            code = EXIT_USAGE if isinstance(exc, ClimbUsageError) else EXIT_ERROR
            raise _fail(one_line(exc), code) from None


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug"))


app = typer.Typer(
    name="climb",
    cls=ClimbGroup,
    help="CLIMB clinical benchmark: find, download, prepare, load, train and report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # never print local variables (could hold credentials)
)


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", envvar="CLIMB_DEBUG",
                               help="Show the full traceback of an error (also CLIMB_DEBUG=1)."),
) -> None:
    """CLIMB clinical benchmark: find, download, prepare, load, train and report."""
    from climb.console import quiet_console

    quiet_console()


def _register() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register()

if __name__ == "__main__":  # pragma: no cover
    app()
