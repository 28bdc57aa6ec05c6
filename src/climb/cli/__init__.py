"""`climb` command line: a thin shell over the library.

Each layer registers its commands from its own module here, so the CLI stays a
table of contents: catalog (datasets, info), acquire (download), prepare
(prepare), and later train / benchmark / report.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="climb",
    help="CLIMB clinical benchmark: find, download, prepare, load, train and report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # never print local variables (could hold credentials)
)


@app.callback()
def main() -> None:
    """CLIMB clinical benchmark: find, download, prepare, load, train and report."""


def _register() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register()

if __name__ == "__main__":  # pragma: no cover
    app()
