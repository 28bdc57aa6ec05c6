"""The builder contract: one small class per dataset turns verified raw files into samples.

A builder says what it produces (task, label names, fields with their kind) and
yields one dict per sample::

    {"sample_id": str, "patient_id": str, "split": "train" | "val" | "test" | None,
     "label": int | float | np.ndarray, <field>: np.ndarray | str | float, ...}

Field kinds and array layouts (the standard sample; the registry is `climb.kinds`):

    image       (C, H, W)            volume   (C, D, H, W)       video (T, C, H, W)
    signal      (leads, samples)     eeg      (channels, samples)
    tabular     (F,)                 timeseries (T, F) hourly/irregular EHR, NaN = missing
    node_features (N, F)  edge_index (2, E)  edge_weight (E,)    text  str
    scalar      float/int (metadata such as age)

Labels: binary / multiclass -> int class index; multilabel -> float array (K,) of 0/1;
regression -> float. Builders whose data has no official split yield `split=None`
and set `split_fractions`; the store then assigns seeded splits grouped by patient
and stratified by `stratum()`.

Parallel preparation: a builder that can split its work into independent records implements
`parallel_records(raw)` (a picklable list, in output order) and `record_samples(raw, record)`
(the samples of one record, computed in a worker process) instead of `generate`; the store
then shards the records over worker processes or a Dask cluster, and the prepared output is
the same whatever the number of workers.

Task and label names come from the catalog (one source of truth): a builder produces its
entry's own `task`/`labels`, or declares `view = "<name>"` for one of the entry's named
`views`. Native labels are mapped with `label_mapper()` (climb.prepare.labels.mapping),
which counts every record it leaves out and fails on what no policy allows; the counts
reach the card through `card_extras()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from climb.catalog.schema import LabelSpace, Task
from climb.errors import ClimbError, ClimbUsageError


class PrepareError(ClimbError, RuntimeError):
    """Raw input cannot be prepared; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem

    def __reduce__(self):  # picklable, so an error raised in a worker process reaches the caller intact
        return type(self), (self.path, self.problem)


class Builder(ABC):
    """Base class of all dataset builders (TFDS-style: declarative attributes + `generate`)."""

    name: ClassVar[str]  # registered dataset name, e.g. "ptbxl" (set by `register_builder`)
    catalog_id: ClassVar[str]  # catalog entry whose raw files this reads
    version: ClassVar[str] = "1.0.0"  # bump to invalidate prepared caches
    view: ClassVar[str | None] = None  # a named label view of the catalog entry; None: the entry's own
    fields: ClassVar[dict[str, str]]  # field name -> kind (registered in climb.kinds)
    variable_shape: ClassVar[tuple[str, ...]] = ()  # fields of a fixed-shape kind whose shape may vary
    split_policy: ClassVar[str] = "official"
    split_fractions: ClassVar[dict[str, float] | None] = None  # set when no official split
    split_seed: ClassVar[int] = 0
    default_params: ClassVar[dict[str, Any]] = {}
    raw_verification: dict[str, Any] | None = None  # set by climb.prepare.raw_check for the card

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.default_params)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown parameter(s) {sorted(unknown)}; "
                            f"known: {sorted(self.default_params)}")
        self.params: dict[str, Any] = {**self.default_params, **params}

    # ------------------------------------------------------------ task and labels (from the catalog)

    @property
    def label_space(self) -> LabelSpace:
        """The catalog's task and labels for this builder (its entry's own, or its `view`)."""
        from climb.catalog import get

        key = (self.catalog_id, self.view)
        cached = self.__dict__.get("_label_space")
        if cached is None or cached[0] != key:  # the store asks per sample: look the entry up once
            cached = self.__dict__["_label_space"] = (key, get(self.catalog_id).label_space(self.view))
        return cached[1]

    @property
    def task(self) -> Task:
        override = self.__dict__.get("_task")
        return override if override is not None else self.label_space.task

    @task.setter
    def task(self, value: Task | str) -> None:
        """Only for builders that are their own entry (a user's declared dataset): no catalog to derive from."""
        self.__dict__["_task"] = Task(value)

    @property
    def label_names(self) -> list[str]:
        override = self.__dict__.get("_label_names")
        return list(override) if override is not None else list(self.label_space.labels)

    @label_names.setter
    def label_names(self, value: list[str]) -> None:
        self.__dict__["_label_names"] = list(value)

    def label_mapper(self, table: dict | None, *, what: str, source: Path | str, unknown: str = "error",
                     missing: str = "error", other: str | None = None, hint: str = "",
                     space: list[str] | None = None, **options: Any):
        """A `LabelMapper` onto this builder's label space (or `space`, for a column that only
        selects records) whose report goes into the card; `options`: further `LabelMapper`
        keywords (a declared dataset's `quotes` and `key`).

        One mapper per `what` (a later call with the same `what` replaces the earlier one, so
        a builder that re-reads its index does not count twice).
        """
        from climb.prepare.labels.mapping import LabelMapper

        mapper = LabelMapper(table, self.label_names if space is None else space, what=what, source=source,
                             unknown=unknown, missing=missing, other=other, hint=hint, **options)
        self.__dict__.setdefault("_label_mappers", {})[what] = mapper
        return mapper

    def card_extras(self) -> dict[str, Any]:
        """What the dataset card records beyond the store's own entries (call after `generate`).

        ``label_mapping``: per mapper, the policies and what they left out (records, values);
        ``raw_files``: how each source file was verified (`climb.prepare.raw_check`).
        """
        extras: dict[str, Any] = {}
        mappers = self.__dict__.get("_label_mappers", {})
        if mappers:
            extras["label_mapping"] = {what: m.report() for what, m in mappers.items()}
        if self.raw_verification is not None:
            extras["raw_files"] = self.raw_verification
        return extras

    @abstractmethod
    def source_files(self, raw: Path) -> list[Path]:
        """The raw files this build reads (their checksums go into the dataset card)."""

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        """Yield standard samples (see module docstring); by default the samples of every record."""
        records = self.parallel_records(raw)
        if records is None:
            raise NotImplementedError(f"{type(self).__name__} implements neither generate() nor parallel_records()")
        for record in records:
            yield from self.record_samples(raw, record)

    def parallel_records(self, raw: Path) -> Sequence[Any] | None:
        """The independent units of work, in output order, for parallel preparation (None: serial only).

        Records travel to worker processes: keep them small and picklable (paths, ids, row numbers).
        """
        return None

    def record_samples(self, raw: Path, record: Any) -> Iterable[dict[str, Any]]:
        """The standard samples of one record (runs in a worker; may not depend on other records)."""
        raise NotImplementedError(f"{type(self).__name__}.record_samples")

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        """Per-field metadata for the card: sampling_rate, lead/channel/feature names, ..."""
        return {}

    def stratum(self, sample: dict[str, Any]) -> object:
        """What to stratify on when the store assigns splits (default: the label)."""
        label = sample["label"]
        return tuple(label.tolist()) if hasattr(label, "tolist") and getattr(label, "ndim", 0) else label

    def download_include(self) -> list[str] | None:
        """The files of the catalog source this build reads (globs for `climb.acquire.download`'s
        `include`), when they are not the source's default selection (e.g. a MedMNIST+ size)."""
        return None

    def default_raw(self) -> Path | None:
        """Where the raw files live when the user names none (None: climb's download cache).

        Datasets that ship inside an installed package (the offline demo) point there.
        """
        return None

    def num_samples_hint(self, raw: Path) -> int | None:
        """An estimate of the number of samples, for the progress bar."""
        return None


_REGISTRY: dict[str, tuple[type[Builder], dict[str, Any]]] = {}


def register_builder(name: str, **params: Any):
    """Class decorator: register `cls` under `name`, with fixed parameters for this variant.

    One name = one prepared dataset (like timm's one name = one model); a class may be
    registered several times, e.g. `ptbxl` and `ptbxl_500hz`.
    """

    def wrap(cls: type[Builder]) -> type[Builder]:
        if name in _REGISTRY:
            raise ValueError(f"builder {name!r} registered twice")
        _REGISTRY[name] = (cls, params)
        return cls

    return wrap


def _import_builders() -> None:
    import importlib
    import pkgutil

    import climb.prepare.builders as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    from climb.plugins import load_plugins

    load_plugins()  # user builders: entry points and $CLIMB_PLUGINS (climb.plugins)


def builder_names() -> list[str]:
    _import_builders()
    return sorted(_REGISTRY)


def builders_for(catalog_id: str) -> list[str]:
    """Names of the builders that prepare catalog entry `catalog_id` (e.g. ptbxl, ptbxl_500hz)."""
    _import_builders()
    return sorted(n for n, (cls, params) in _REGISTRY.items() if _catalog_id(cls, params) == catalog_id)


def _catalog_id(cls: type[Builder], params: dict[str, Any]) -> str:
    return getattr(cls, "catalog_id", None) or cls(**params).catalog_id


class BuilderUnavailableError(ClimbUsageError, KeyError):
    """A catalog entry that no builder can prepare; the message says why and what is needed."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def _no_builder_reason(name: str) -> str | None:
    """For a catalog id with no builder of that name: which builders prepare it, or why none does."""
    from climb.catalog import get

    try:
        entry = get(name)
    except KeyError:
        return None
    variants = builders_for(name)
    if variants:
        return f"{name} is prepared by one of its builders: {', '.join(variants)} (e.g. `climb prepare {variants[0]}`)"
    return f"{name}: no builder prepares this dataset. {entry.notes}" if entry.notes else \
        f"{name}: no builder prepares this dataset yet (see `climb info {name}`)"


def create_builder(name: str, **params: Any) -> Builder:
    """Instantiate the builder registered as `name` (variant params, overridden by `params`)."""
    _import_builders()
    if name not in _REGISTRY:
        import difflib

        unbuildable = _no_builder_reason(name)
        if unbuildable:
            raise BuilderUnavailableError(unbuildable)
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"No builder named {name!r}.{hint} Known: {', '.join(sorted(_REGISTRY))}")
    cls, fixed = _REGISTRY[name]
    builder = cls(**{**fixed, **params})
    builder.name = name  # type: ignore[misc]  # instance attribute: the registered variant
    return builder
