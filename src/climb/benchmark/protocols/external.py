"""`external`: external validation. Train once on one dataset, test on others with the same labels.

    protocols:
      external: {train_on: yaib_mortality24_mimic, test_on: [yaib_mortality24_eicu]}

One cell per encoder of the training dataset's input kind x seed. The training run tests its own
test split and every split of each `test_on` dataset (`TrainConfig.test_on`: label names checked
before training); rows whose `dataset` is not their `trained_on` are the external results, shown by
the report as a transfer table (`climb.report.transfer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.suite import Budget, Cell, Suite

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext


class ExternalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_on: str
    test_on: list[str] = Field(min_length=1)
    budget: Budget = Budget()


@register_protocol
class External(Protocol):
    name, spec, order = "external", ExternalSpec, 50

    def check(self, spec: ExternalSpec, suite: Suite) -> None:
        suite.check_listed("protocols.external", [spec.train_on, *spec.test_on])

    def cells(self, spec: ExternalSpec, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        ds = spec.train_on
        return [Cell(self.name, (ds,), enc.name, seed, suite.budget_for(enc.budget, suite.datasets[ds].budget,
                                                                         spec.budget), enc.kwargs,
                     extra={"test_on": spec.test_on})
                for enc in suite.encoders_for(ds, kinds[ds]) for seed in suite.seeds]

    def datasets(self, cell: Cell) -> list[str]:
        return [*cell.datasets, *cell.extra["test_on"]]

    def run(self, cell: Cell, ctx: CellContext) -> None:
        from climb.train import train

        # the cell directory is the run directory: train() writes its results.csv (and run.json)
        cfg = ctx.train_config(cell, test_on=cell.extra["test_on"])
        train(cfg, protocol=self.name, callbacks=ctx.callbacks(cell.id), fresh=ctx.fresh)
