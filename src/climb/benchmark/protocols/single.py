"""`single`: every dataset x encoder of its input kind x seed, one training run per cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.suite import Budget, Cell, Suite

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext


class SingleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] | None = None  # None: every dataset of the suite
    budget: Budget = Budget()


def train_cell(cell: Cell, ctx: CellContext) -> None:
    """Train one cell whose directory is the run directory: `train()` writes its results.csv and run.json."""
    from climb.train import train

    update = {"sampling": cell.extra["sampling"]} if "sampling" in cell.extra else {}
    train(ctx.train_config(cell, **update), protocol=cell.protocol, callbacks=ctx.callbacks(cell.id), fresh=ctx.fresh)


@register_protocol
class Single(Protocol):
    name, spec, order = "single", SingleSpec, 10

    def check(self, spec: SingleSpec, suite: Suite) -> None:
        suite.check_listed("protocols.single.datasets", spec.datasets or [])

    def cells(self, spec: SingleSpec, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        out = []
        for ds in spec.datasets or list(suite.datasets):
            for enc in suite.encoders_for(ds, kinds[ds]):
                for seed in suite.seeds:
                    budget = suite.budget_for(enc.budget, suite.datasets[ds].budget, spec.budget)
                    out.append(Cell(self.name, (ds,), enc.name, seed, budget, enc.kwargs))
        return out

    def run(self, cell: Cell, ctx: CellContext) -> None:
        train_cell(cell, ctx)
