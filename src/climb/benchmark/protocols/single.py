"""`single`: every dataset x encoder of its input kind x seed, one training run per cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.suite import Budget, Cell, Mode, Suite, variant

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext


class SingleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] | None = None  # None: every dataset of the suite
    # how pretrained encoders are trained: fine-tuned, and/or a linear probe on the frozen encoder
    # (encoders from scratch are always fine-tuned: a frozen random encoder says nothing)
    modes: list[Mode] = Field(["finetune"], min_length=1)
    budget: Budget = Budget()


def train_cell(cell: Cell, ctx: CellContext) -> None:
    """Train one cell whose directory is the run directory: `train()` writes its results.csv and run.json."""
    from climb.train import train

    update = {"sampling": cell.extra["sampling"]} if "sampling" in cell.extra else {}
    if "pretrained" in cell.extra:  # a pretrained encoder of the suite, fine-tuned or linear-probed
        update.update(pretrained=cell.extra["pretrained"], freeze_encoder=cell.extra["mode"] == "linear_probe")
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
                for mode in spec.modes if enc.pretrained is not None else ["finetune"]:
                    for seed in suite.seeds:
                        budget = suite.budget_for(enc.budget, suite.datasets[ds].budget, spec.budget)
                        out.append(Cell(self.name, (ds,), enc.name, seed, budget, enc.kwargs,
                                        variant=variant(enc, mode), extra=enc.settings(mode)))
        return out

    def run(self, cell: Cell, ctx: CellContext) -> None:
        train_cell(cell, ctx)
