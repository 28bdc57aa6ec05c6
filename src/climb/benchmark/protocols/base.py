"""The protocol plugin interface and its registry (after MOABB's evaluations).

A protocol is one class: its name (the suite key), the pydantic model of its suite section,
the cells it plans from a suite, and how it runs one cell into structured result rows::

    @register_protocol
    class External(Protocol):
        name, spec, order = "external", ExternalSpec, 50

        def cells(self, spec, suite, kinds): ...           # -> list[Cell]
        def run(self, cell, ctx): ...                      # -> pd.DataFrame of ResultRow columns

Built-in protocols live in `climb.benchmark.protocols.<name>`; a plugin (`climb.plugins`)
registers its own the same way and a suite names it under `protocols:`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from climb.benchmark.suite import Cell, Suite, SuiteError

if TYPE_CHECKING:
    import pandas as pd

    from climb.benchmark.execute import CellContext


class Protocol:
    """One benchmark protocol. Subclasses set `name`, `spec` and `order` and implement `cells` and `run`."""

    name: ClassVar[str]
    spec: ClassVar[type[BaseModel]]  # the model of the suite's `protocols.<name>` section
    order: ClassVar[int] = 100  # run order among protocols (a protocol that reuses another's cells runs later)
    checks_encoders: ClassVar[bool] = True  # cells name encoders of the registry (fusion presets do not)

    def check(self, spec: BaseModel, suite: Suite) -> None:
        """Cross-references checked when the suite loads (raise ValueError naming the field)."""

    def cells(self, spec: BaseModel, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        """The cells of this protocol in run order; `kinds` maps each dataset to its input kind."""
        raise NotImplementedError

    def datasets(self, cell: Cell) -> list[str]:
        """Every prepared dataset the cell reads."""
        return [*cell.datasets, *cell.extra.get("pretrain_on", [])]

    def is_valid(self, cell: Cell, suite: Suite) -> str | None:
        """Why the cell cannot run in this suite (None: it can); checked before anything runs."""
        missing = [d for d in self.datasets(cell) if d not in suite.datasets]
        return f"{cell.id} reads {missing}; list them under `datasets`" if missing else None

    def run(self, cell: Cell, ctx: CellContext) -> pd.DataFrame | None:
        """Run the cell; return its result rows (`ResultRow` columns), or None when the training run
        it wraps already wrote the cell's `results.csv` (the cell directory is that run's directory)."""
        raise NotImplementedError

    def summary_rows(self, ctx: CellContext, cells: list[Cell], done: set[str]) -> pd.DataFrame | None:
        """Rows derived from several done cells (e.g. paired differences), added to the suite's results."""
        return None


PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: make `cls` the protocol of suite key `cls.name` (a plugin may replace one)."""
    PROTOCOLS[cls.name] = cls()
    return cls


def get_protocol(name: str) -> Protocol:
    """The registered protocol of suite key `name` (plugins are loaded first); a usage error lists the known ones."""
    if name not in PROTOCOLS:
        from climb.plugins import load_plugins

        load_plugins()
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise SuiteError(f"unknown protocol {name!r}; protocols: {', '.join(sorted(PROTOCOLS))}") from None


def protocol_names() -> list[str]:
    return sorted(PROTOCOLS, key=lambda n: (PROTOCOLS[n].order, n))


__all__ = ["PROTOCOLS", "Protocol", "get_protocol", "protocol_names", "register_protocol"]
