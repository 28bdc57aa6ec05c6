"""`multitask`: one shared encoder per group of datasets (a head each); paired rows against `single`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.protocols.single import train_cell
from climb.benchmark.suite import Budget, Cell, EncoderSpec, Suite, SuiteError, variant

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext


class MultitaskGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=2)
    encoder: str | None = None  # default: the first suite encoder of the group's kind
    sampling: Literal["proportional", "temperature", "round_robin"] = "proportional"
    budget: Budget = Budget()
    note: str | None = None


class MultitaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: dict[str, MultitaskGroup] = Field(min_length=1)
    budget: Budget = Budget()


def group_encoder(suite: Suite, name: str, group: MultitaskGroup, kinds: dict[str, str]) -> EncoderSpec:
    """The group's encoder: named, else the first suite encoder of its one input kind."""
    if group.encoder:
        return suite.encoder(group.encoder)
    found = {kinds[d] for d in group.datasets}
    if len(found) > 1:
        raise SuiteError(f"suite {suite.name}: multitask group {name} mixes input kinds {sorted(found)}")
    return suite.encoders_for(group.datasets[0], found.pop())[0]


def group_of(suite: Suite, dataset: str) -> tuple[str, MultitaskGroup] | None:
    """The (name, group) of the suite's multitask groups that holds `dataset`."""
    spec = suite.protocols.get("multitask")
    groups = spec.groups.items() if spec is not None else []
    return next(((n, g) for n, g in groups if dataset in g.datasets), None)


def multitask_cell_for(suite: Suite, dataset: str, encoder: str, seed: int, kinds: dict[str, str]) -> Cell | None:
    """The multitask cell (same encoder and seed) whose group contains `dataset`."""
    spec = suite.protocols.get("multitask")
    cells = Multitask().cells(spec, suite, kinds) if spec is not None else []
    return next((c for c in cells if dataset in c.datasets and c.encoder == encoder and c.seed == seed), None)


@register_protocol
class Multitask(Protocol):
    name, spec, order = "multitask", MultitaskSpec, 20

    def check(self, spec: MultitaskSpec, suite: Suite) -> None:
        for gname, group in spec.groups.items():
            suite.check_listed(f"protocols.multitask.groups.{gname}.datasets", group.datasets)

    def cells(self, spec: MultitaskSpec, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        out = []
        for gname, group in spec.groups.items():
            enc = group_encoder(suite, gname, group, kinds)
            for seed in suite.seeds:
                budget = suite.budget_for(enc.budget, spec.budget, group.budget)
                out.append(Cell(self.name, tuple(group.datasets), enc.name, seed, budget, enc.kwargs,
                                group=gname, variant=variant(enc),
                                extra={"sampling": group.sampling, **enc.settings()}))
        return out

    def run(self, cell: Cell, ctx: CellContext) -> None:
        train_cell(cell, ctx)

    def summary_rows(self, ctx: CellContext, cells: list[Cell], done: set[str]) -> pd.DataFrame | None:
        """multitask - single on the same test samples in each task's headline metric, for every
        (dataset, encoder, seed) with both cells done (a paired patient-level bootstrap CI)."""
        if not ctx.paired:
            return None
        singles = {(c.datasets[0], c.encoder, c.seed): c for c in cells if c.protocol == "single" and c.id in done}
        rows = [paired_row(ctx, mt, singles[key], key[0])
                for mt in cells if mt.protocol == self.name and mt.id in done
                for key in ((ds, mt.encoder, mt.seed) for ds in mt.datasets) if key in singles]
        return pd.DataFrame(rows) if rows else None


def paired_row(ctx: CellContext, mt: Cell, single: Cell, ds: str) -> dict[str, object]:
    """One paired row: the headline metric of `ds` under `mt` minus under `single`."""
    import numpy as np

    from climb.evaluate import paired_difference
    from climb.evaluate.metrics import headline

    a = np.load(ctx.cells_dir / mt.id / "predictions.npz", allow_pickle=False)
    b = np.load(ctx.cells_dir / single.id / "predictions.npz", allow_pickle=False)
    y, pid = a[f"{ds}/y"], a[f"{ds}/patient_id"]
    if not (np.array_equal(y, b[f"{ds}/y"]) and np.array_equal(pid, b[f"{ds}/patient_id"])):
        raise RuntimeError(f"{ds}: test samples of {mt.id} and {single.id} differ; cannot pair")
    rows = pd.read_csv(ctx.cells_dir / mt.id / "results.csv")
    task = str(rows.loc[rows["dataset"] == ds, "task"].iloc[0])  # the task type each result row records
    metric = headline(task)
    diff = paired_difference(y, a[f"{ds}/score"], b[f"{ds}/score"], groups=pid, metric=metric.name, task=task,
                             n_boot=mt.budget.get("n_boot", 200), seed=mt.seed)
    return {"dataset": ds, "split": "test", "protocol": "multitask-vs-single", "encoder": mt.encoder,
            "seed": mt.seed, "metric": metric.name, "value": diff.difference, "ci_low": diff.low,
            "ci_high": diff.high, "n": len(y), "task": task,
            "notes": f"{metric.label} of {mt.id} minus {single.id}; paired patient-level bootstrap "
                     f"({diff.n_boot} replicates, {diff.n_failed} undefined)",
            "cell": f"paired__{ds}__{mt.encoder}__seed{mt.seed}"}
