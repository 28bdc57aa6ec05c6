"""`fusion`: the multimodal protocol over a fusion preset (strategies x data budgets x dropped modality)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.suite import Budget, Cell, Suite

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext

BUDGET_KEYS = ("epochs", "batch_size", "lr", "limit_train_batches", "n_boot", "num_workers")


class FusionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presets: list[str] = Field(min_length=1)
    strategies: list[str] = Field(["late_average", "early_concat", "cross_attention"], min_length=1)
    shots: list[int | None] = [None, 8]  # None = full data
    unimodal: bool = True
    budget: Budget = Budget()

    @field_validator("strategies")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        from climb.models.fusion import FUSION_STRATEGIES

        unknown = [s for s in v if s not in FUSION_STRATEGIES]
        if unknown:
            raise ValueError(f"unknown fusion strategies {unknown}; known: {', '.join(FUSION_STRATEGIES)}")
        return v


@register_protocol
class Fusion(Protocol):
    name, spec, order = "fusion", FusionSpec, 40
    checks_encoders = False  # a cell's "encoder" is its preset's per-modality encoders

    def cells(self, spec: FusionSpec, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        budget = suite.budget_for(spec.budget)
        return [Cell(self.name, (preset,), "preset", seed, budget, {},
                     extra={"strategies": spec.strategies, "shots": spec.shots, "unimodal": spec.unimodal})
                for preset in spec.presets for seed in suite.seeds]

    def datasets(self, cell: Cell) -> list[str]:
        """The preset's dataset and its other test sites."""
        from climb.train.fusion import preset_config

        cfg = preset_config(cell.datasets[0])
        return [cfg.dataset, *cfg.test_on]

    def is_valid(self, cell: Cell, suite: Suite) -> str | None:
        missing = [d for d in self.datasets(cell) if d not in suite.datasets]
        return f"fusion preset {cell.datasets[0]} reads {missing}; list them under `datasets`" if missing else None

    def run(self, cell: Cell, ctx: CellContext) -> pd.DataFrame:
        from climb.train.fusion import fusion_protocol

        compute = {**ctx.compute}
        compute["strategy_name"] = compute.pop("strategy")
        budget = {k: cell.budget[k] for k in BUDGET_KEYS if k in cell.budget}
        return fusion_protocol(cell.datasets[0], strategies=cell.extra["strategies"], shots=cell.extra["shots"],
                               unimodal=cell.extra["unimodal"], seeds=[cell.seed], out_dir=ctx.cells_dir / cell.id,
                               quiet=True, callbacks=ctx.callbacks, fresh=ctx.fresh, **budget, **compute)
