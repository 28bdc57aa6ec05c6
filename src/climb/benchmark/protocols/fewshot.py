"""`fewshot`: k examples per class x initialisations x modes, each its own run inside the cell.

Init `multitask_heldout` pretrains, inside the cell, on the target's multitask group minus the
target (the CLIMB transfer protocol); `multitask` reuses the group's encoder, which saw the
target's train split (adaptation, not transfer: the rows say so).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from climb.benchmark.protocols.base import Protocol, register_protocol
from climb.benchmark.protocols.multitask import group_encoder, group_of, multitask_cell_for
from climb.benchmark.suite import Budget, Cell, EncoderSpec, Mode, Suite, SuiteError, check_weights

if TYPE_CHECKING:
    from climb.benchmark.execute import CellContext

MULTITASK_INITS = ("multitask", "multitask_heldout")
NOT_HELD_OUT = ("multitask encoder was trained on the full train split of this dataset (not held out): "
                "measures few-shot adaptation, not transfer to an unseen dataset")


class FewshotSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)
    shots: list[int] = Field([1, 8, 32], min_length=1)
    inits: list[Literal["scratch", "multitask_heldout", "multitask"]] = ["scratch", "multitask_heldout"]
    # more inits from published weights, label -> what `create_encoder(pretrained=...)` takes
    # (e.g. {climb_ecg: "hf-hub:org/ecg-encoder"}): transfer from any published encoder
    pretrained: dict[str, str] = {}
    modes: list[Mode] = ["finetune"]
    seeds: list[int] | None = None  # default: the suite's seeds
    budget: Budget = Budget()

    @field_validator("shots")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(k < 1 for k in v):
            raise ValueError("shots must be >= 1")
        return v

    @field_validator("pretrained")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        taken = sorted(set(v) & {"scratch", "multitask_heldout", "multitask"})
        if taken:
            raise ValueError(f"pretrained init labels {taken} are reserved (scratch, multitask_heldout, multitask)")
        return v


@register_protocol
class Fewshot(Protocol):
    name, spec, order = "fewshot", FewshotSpec, 30

    def check(self, spec: FewshotSpec, suite: Suite) -> None:
        suite.check_listed("protocols.fewshot.datasets", spec.datasets)
        needing = [i for i in MULTITASK_INITS if i in spec.inits]
        orphan = [d for d in spec.datasets if group_of(suite, d) is None]
        if needing and orphan:
            raise ValueError(f"protocols.fewshot: init {needing} needs a multitask group containing {orphan}")

    def cells(self, spec: FewshotSpec, suite: Suite, kinds: dict[str, str]) -> list[Cell]:
        out = []
        for ds in spec.datasets:
            for enc in self._encoders(spec, suite, ds, kinds):
                for seed in spec.seeds or suite.seeds:
                    budget = suite.budget_for(enc.budget, suite.datasets[ds].budget, spec.budget)
                    extra: dict[str, Any] = {"shots": spec.shots, "inits": spec.inits, "modes": spec.modes}
                    for label, weights in spec.pretrained.items():
                        check_weights(weights, enc.name, f"protocols.fewshot.pretrained.{label}")
                    if spec.pretrained:
                        extra["pretrained"] = spec.pretrained
                    if "multitask_heldout" in spec.inits:  # pretrained inside the cell on the group's others
                        extra["pretrain_on"] = [d for d in group_of(suite, ds)[1].datasets if d != ds]
                    out.append(Cell(self.name, (ds,), enc.name, seed, budget, enc.kwargs, extra=extra))
        return out

    @staticmethod
    def _encoders(spec: FewshotSpec, suite: Suite, ds: str, kinds: dict[str, str]) -> list[EncoderSpec]:
        """With a multitask init: the encoder of the multitask group holding `ds` (it must match)."""
        found = group_of(suite, ds) if set(MULTITASK_INITS) & set(spec.inits) else None
        if found is not None:
            return [group_encoder(suite, *found, kinds)]
        return suite.encoders_for(ds, kinds[ds])[:1]

    def run(self, cell: Cell, ctx: CellContext) -> pd.DataFrame | None:
        from climb.train import train

        dataset = cell.datasets[0]
        inits = {init: None if init == "scratch" else
                 _heldout_encoder(cell, ctx) if init == "multitask_heldout" else _multitask_encoder(cell, ctx)
                 for init in cell.extra["inits"]}
        inits.update(cell.extra.get("pretrained", {}))  # published encoders, by label
        frames = []
        for k in cell.extra["shots"]:
            for init, path in inits.items():
                for mode in cell.extra["modes"]:
                    if mode == "linear_probe" and path is None:
                        continue  # a frozen random encoder says nothing
                    run = f"{dataset}__{cell.encoder}__k{k}__{init}__{mode}__seed{cell.seed}"
                    cfg = ctx.train_config(cell, shots=k, pretrained=path, freeze_encoder=mode == "linear_probe",
                                           out_dir=ctx.cells_dir / cell.id, run_name=run)
                    result = train(cfg, protocol=self.name, init=init, callbacks=ctx.callbacks(run), fresh=ctx.fresh)
                    if result.rows:
                        frame = result.frame()
                        if init == "multitask":
                            frame["notes"] = [[*n, NOT_HELD_OUT] for n in frame["notes"]]
                        frame["train_samples_per_second"] = round(result.samples_per_second, 1)
                        frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else None


def _heldout_encoder(cell: Cell, ctx: CellContext) -> Path:
    """Pretrain (inside the few-shot cell) on the target's multitask group minus the target."""
    from climb.train import train

    group = multitask_cell_for(ctx.suite, cell.datasets[0], cell.encoder, cell.seed, ctx.kinds)
    if group is None:
        raise SuiteError(f"{cell.id}: no multitask group with encoder {cell.encoder} holds {cell.datasets[0]}")
    others = cell.extra["pretrain_on"]  # the group's other datasets (Fewshot.cells)
    run = f"pretrain__{'+'.join(others)}__{cell.encoder}__seed{cell.seed}"
    update: dict[str, Any] = {"datasets": others, "out_dir": ctx.cells_dir / cell.id, "run_name": run}
    if len(others) > 1 and "sampling" in group.extra:
        update["sampling"] = group.extra["sampling"]
    cfg = ctx.train_config(group, **update)
    result = train(cfg, protocol="pretrain-heldout", callbacks=ctx.callbacks(run), fresh=ctx.fresh)
    path = result.encoder_path or cfg.run_dir / "encoder.safetensors"  # other DDP ranks: rank 0 writes it
    deadline = time.monotonic() + 600
    while not path.is_file():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{cell.id}: held-out pretraining on {others} wrote no encoder at {path}")
        time.sleep(1)
    return path


def _multitask_encoder(cell: Cell, ctx: CellContext) -> Path:
    from climb.benchmark.cells import DONE, read_cell

    source = multitask_cell_for(ctx.suite, cell.datasets[0], cell.encoder, cell.seed, ctx.kinds)
    if source is None:
        raise SuiteError(f"{cell.id}: no multitask cell with encoder {cell.encoder}, seed {cell.seed} "
                         f"and dataset {cell.datasets[0]}")
    record = read_cell(ctx.out_dir, source.id) or {}
    path = ctx.cells_dir / source.id / "encoder.safetensors"
    if record.get("status") != DONE or not path.is_file():
        raise RuntimeError(f"needs the multitask encoder of cell {source.id} (status: "
                           f"{record.get('status', 'not run')}); run it first, e.g. --only '{source.id},{cell.id}'")
    return path
