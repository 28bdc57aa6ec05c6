"""The YAML declaration of a dataset, validated by pydantic (see docs/declared-datasets.md).

One declaration = one registered dataset. Every path in it is relative to the raw directory
given to `climb prepare --raw DIR` (absolute paths are allowed), except `raw` itself, which
is relative to the YAML file.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from climb.errors import ClimbUsageError

SplitName = Literal["train", "val", "test"]
Cell = Union[bool, int, float, str]  # a value as written in a table cell (or a folder name)


class DeclarationError(ClimbUsageError):
    """A dataset declaration is malformed; the message names the file and the field."""


def cell_text(value: Any) -> str | None:
    """A cell (or declared value) as comparable text; None for an empty cell.

    Numbers compare by value whatever pandas inferred: YAML 1 or 1.0 and cells 1 or 1.0 all read "1".
    """
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    return text or None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- labels


class LabelSpec(Strict):
    """Which column(s) hold the label and how their values map to classes.

    binary / multiclass: `column` and the explicit list of its `classes` (the class index
    is the position in the list; `names` are the display names, default the classes), or
    `classes` as a mapping cell value -> class name, several values to one class allowed,
    with `names` listing the classes in index order.
    multilabel: one 0/1 column per label in `columns` (names default to the columns).
    regression: a numeric `column`.
    """

    task: Literal["binary", "multiclass", "multilabel", "regression"]
    column: str | None = None
    columns: list[str] | None = None
    classes: list[Cell] | dict[Cell, str] | None = None
    names: list[str] | None = None
    unknown_labels: Literal["error", "drop"] = "error"  # a value outside `classes` (or not 0/1, not numeric)
    missing_labels: Literal["error", "drop", "mask"] = "error"  # an empty cell; mask: multilabel only

    @model_validator(mode="after")
    def _consistent(self) -> LabelSpec:
        if self.task == "multilabel":
            if not self.columns or self.column is not None or self.classes is not None:
                raise ValueError("a multilabel label takes `columns` (one 0/1 column per label), "
                                 "not `column` or `classes`")
            if self.names is not None and len(self.names) != len(self.columns):
                raise ValueError(f"{len(self.names)} names for {len(self.columns)} columns")
        else:
            if self.columns is not None:
                raise ValueError(f"a {self.task} label takes one `column`, not `columns`")
            if self.missing_labels == "mask":
                raise ValueError("missing_labels: mask is for multilabel labels only")
        if self.task in ("binary", "multiclass"):
            if not self.classes:
                raise ValueError(f"a {self.task} label needs the explicit list of its `classes`")
            if len({cell_text(c) for c in self.classes}) != len(self.classes):
                raise ValueError("duplicate values in `classes`")
            if isinstance(self.classes, dict):
                if not self.names:
                    raise ValueError("`classes` as a mapping needs `names`: the classes in index order")
                if set(self.classes.values()) != set(self.names) or len(set(self.names)) != len(self.names):
                    raise ValueError(f"the classes mapped to {sorted(set(self.classes.values()))} must be "
                                     f"exactly the (distinct) names {self.names}")
            elif self.names is not None and len(self.names) != len(self.classes):
                raise ValueError(f"{len(self.names)} names for {len(self.classes)} classes")
            elif self.names is not None and len(set(self.names)) != len(self.names):
                raise ValueError(f"duplicate names in {self.names} (to merge values into one class, give "
                                 "`classes` as a mapping value -> name)")
            if self.task == "binary" and len(self.label_names) != 2:
                raise ValueError(f"a binary label has 2 classes, got {len(self.label_names)}")
        elif self.task == "regression" and (self.classes is not None or self.names is not None):
            raise ValueError("a regression label has no `classes` or `names`")
        return self

    @property
    def label_names(self) -> list[str]:
        if self.task == "multilabel":
            return list(self.names or self.columns or [])
        if self.task == "regression":
            return [str(self.column)]
        return list(self.names or [str(c) for c in self.classes or []])

    def class_index(self) -> dict[str | None, int]:
        """Cell text -> class index (binary / multiclass)."""
        if isinstance(self.classes, dict):
            return {cell_text(k): self.label_names.index(v) for k, v in self.classes.items()}
        return {cell_text(c): i for i, c in enumerate(self.classes or [])}

    @property
    def label_columns(self) -> list[str]:
        return list(self.columns) if self.columns else [str(self.column)]


# ---------------------------------------------------------------- splits


class ColumnSplit(Strict):
    """The split is written in a column; `values` maps each split to the cell values meaning it."""

    by: Literal["column"]
    column: str
    values: dict[SplitName, list[Cell]]
    val_from_train: float | None = Field(None, gt=0, lt=1)  # carve a patient-grouped val set from train
    seed: int = 0

    @model_validator(mode="after")
    def _one_split_per_value(self) -> ColumnSplit:
        seen: dict[str | None, str] = {}
        for name, values in self.values.items():
            for v in values:
                if seen.setdefault(cell_text(v), name) != name:
                    raise ValueError(f"value {v!r} is listed under both {seen[cell_text(v)]} and {name}")
        return self


class RandomSplit(Strict):
    """No official split: seeded, grouped by patient, stratified by label (climb's store)."""

    by: Literal["random"]
    fractions: dict[SplitName, float] = {"train": 0.7, "val": 0.1, "test": 0.2}
    seed: int = 0


class ScaffoldSplit(Strict):
    """Molecules only: chemprop's balanced Bemis-Murcko scaffold split (patient_id = scaffold)."""

    by: Literal["scaffold"]
    fractions: dict[SplitName, float] = {"train": 0.8, "val": 0.1, "test": 0.1}
    seed: int = 0


class FolderSplit(Strict):
    """Images in class folders only: `root/<split folder>/<class>/<image>`."""

    by: Literal["folders"]
    folders: dict[str, SplitName]
    val_from_train: float | None = Field(None, gt=0, lt=1)
    seed: int = 0


Split = Annotated[Union[ColumnSplit, RandomSplit, ScaffoldSplit, FolderSplit], Field(discriminator="by")]


# ---------------------------------------------------------------- tables


class TableSpec(Strict):
    """A CSV/TSV file and the columns every kind reads from it."""

    file: str
    sep: str = ","
    skip_lines: int = Field(0, ge=0)  # lines before the header (or before the data when header is false)
    header: bool = True  # false: columns are named by position, "0", "1", ...
    missing_values: list[str] = [""]  # cells that mean "empty" (pandas' default list, e.g. "NA", is not used)
    id_column: str | None = None  # sample id; else `id_format`
    id_format: str = "row{row}"  # {row}: 0-based data row (Python format spec allowed: "wdbc-{row:03d}")
    patient_column: str | None = None  # else each row is its own patient
    group_column: str | None = None  # what splits keep apart when it is not the patient (e.g. a recording run)
    scalars: list[str] = []  # numeric columns stored as `scalar` fields (age, sex, ...), NaN = missing


LABEL_NOT_IN_A_COLUMN = {"image_folders": "class folders", "edf": "annotation descriptions"}


class Common(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    catalog_id: str | None = None  # default: the name
    version: str = "1.0.0"
    description: str = ""
    raw: str | None = None  # default raw directory, relative to the YAML file
    label: LabelSpec
    split: Split

    @property
    def catalog(self) -> str:
        return self.catalog_id or self.name

    @model_validator(mode="after")
    def _label_column(self) -> Common:
        source = LABEL_NOT_IN_A_COLUMN.get(getattr(self, "kind", ""))
        if self.label.task != "multilabel" and (self.label.column is None) != bool(source):
            raise ValueError(f"label.column: {source} are the label (no column)" if source
                             else f"label.column: a {self.label.task} label needs the column that holds it")
        return self

    def _allow_splits(self, *allowed: str) -> None:
        if self.split.by not in allowed:
            kind = getattr(self, "kind", "?")
            raise ValueError(f"split.by: {self.split.by!r} does not apply to kind {kind!r} "
                             f"(use one of {', '.join(allowed)})")


class TableDataset(Common):
    """Rows of a table: numeric `features` -> `tabular` (F,) float32."""

    kind: Literal["table"]
    table: TableSpec
    features: list[str] | None = None  # default: every column not used as label, id, patient, split, scalar

    @model_validator(mode="after")
    def _splits(self) -> TableDataset:
        self._allow_splits("column", "random")
        return self


class ImageTableDataset(Common):
    """Images listed in a table: a path column (relative to `image_root`) and the label."""

    kind: Literal["image_table"]
    table: TableSpec
    path_column: str
    image_root: str = "."
    image_lookup: Literal["path", "stem"] = "path"  # stem: find `<value>.*` anywhere below image_root
    size: int = Field(224, gt=0)
    channels: Literal[1, 3] = 3

    @model_validator(mode="after")
    def _splits(self) -> ImageTableDataset:
        self._allow_splits("column", "random")
        return self


class ImageFolderDataset(Common):
    """Images in class folders, `root/<class>/<image>` (or `root/<split>/<class>/<image>`).

    The label's `classes` are the folder names. No patient ids: each image is its own patient.
    """

    kind: Literal["image_folders"]
    root: str = "."
    skip_containing: str = ""  # skip images whose file stem contains this (e.g. "_mask")
    size: int = Field(224, gt=0)
    channels: Literal[1, 3] = 3

    @model_validator(mode="after")
    def _valid(self) -> ImageFolderDataset:
        self._allow_splits("folders", "random")
        if self.label.task not in ("binary", "multiclass"):
            raise ValueError("class folders give binary or multiclass labels")
        return self


class MoleculeDataset(Common):
    """SMILES in a table -> RDKit graphs (climb.prepare.builders.moleculenet featurisation)."""

    kind: Literal["molecules"]
    table: TableSpec
    smiles_column: str = "smiles"
    invalid_smiles: Literal["error", "drop"] = "error"  # SMILES RDKit cannot parse (or without atoms)

    @model_validator(mode="after")
    def _splits(self) -> MoleculeDataset:
        self._allow_splits("scaffold", "random", "column")
        return self


class WfdbDataset(Common):
    """WFDB records named in a table -> `signal` (leads, samples) float32 in physical units."""

    kind: Literal["wfdb"]
    table: TableSpec
    record_column: str  # record path without extension, relative to `records_root`
    records_root: str = "."
    sampling_rate: float | None = None  # expected rate (Hz); a record at another rate is an error
    leads: list[str] | None = None  # expected lead names, in order
    length: int | None = None  # expected samples per lead

    @model_validator(mode="after")
    def _splits(self) -> WfdbDataset:
        self._allow_splits("column", "random")
        return self


class WindowSpec(Strict):
    """Where a window lies relative to its annotation (seconds)."""

    offset: float = 0.0  # window start = annotation onset + offset
    duration: float = Field(gt=0)
    tile: bool = False  # cut the whole annotated span into consecutive windows of `duration`


class EdfDataset(Common):
    """EDF/EDF+/BDF recordings cut into labelled windows around their annotations -> `eeg`.

    Annotations are the recording's own EDF+/BDF+ annotations, or a sidecar file
    (`annotation_file`, any format `mne.read_annotations` reads). The label's `classes` are
    annotation descriptions; `ignore` lists descriptions that are not samples.
    """

    kind: Literal["edf"]
    files: str = "**/*.edf"  # glob below the raw directory
    annotation_file: str | None = None  # sidecar beside each recording, "{stem}" = recording's stem
    patient_pattern: str | None = None  # regex on the path relative to raw, group "patient"; else the stem
    channels: list[str] = Field(min_length=1)
    sampling_rate: float = Field(gt=0)  # channels are resampled to this rate
    window: WindowSpec
    ignore: list[str] = []
    out_of_range: Literal["error", "drop"] = "error"  # a window reaching past the recording

    @model_validator(mode="after")
    def _valid(self) -> EdfDataset:
        self._allow_splits("random")
        if self.label.task not in ("binary", "multiclass"):
            raise ValueError("annotation windows give binary or multiclass labels")
        if self.patient_pattern is not None and "(?P<patient>" not in self.patient_pattern:
            raise ValueError("patient_pattern needs a named group (?P<patient>...)")
        return self


Declaration = Annotated[
    Union[TableDataset, ImageTableDataset, ImageFolderDataset, MoleculeDataset, WfdbDataset, EdfDataset],
    Field(discriminator="kind"),
]

