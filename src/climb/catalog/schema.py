"""The catalog's data model: what a dataset entry must say, validated on load."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Family(str, Enum):
    """Coarse modality families, as the CLIMB paper summarises its volume."""

    one_d = "1d"  # EHR, EEG, ECG, gait, genomics
    two_d = "2d"  # X-ray, dermoscopy, fundus, pathology, 2D ultrasound, MRI slices
    three_d = "3d"  # CT/MRI volumes, ultrasound/endoscopy video
    graph = "graph"  # brain networks, molecules, proteins
    multimodal = "multimodal"


class Task(str, Enum):
    binary = "binary"
    multiclass = "multiclass"
    multilabel = "multilabel"
    regression = "regression"
    other = "other"  # instruction following, segmentation-only, ...


class Access(str, Enum):
    open = "open"  # anonymous or free-account download
    registration = "registration"  # data-use agreement or request form
    credentialed = "credentialed"  # PhysioNet credentialed access (training + DUA)


class SourceKind(str, Enum):
    https = "https"
    physionet = "physionet"
    zenodo = "zenodo"
    github = "github"
    kaggle = "kaggle"
    manual = "manual"  # the publisher allows no scripted download; the entry says how


class SourceFile(BaseModel):
    """One file of a source, at `path` relative to the dataset's raw directory."""

    model_config = ConfigDict(extra="forbid")

    path: str
    url: str | None = None  # defaults to source.base_url + path
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    md5: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    size: int | None = Field(default=None, ge=0)

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or ".." in v.split("/"):
            raise ValueError(f"path must be relative without '..': {v!r}")
        return v


class Source(BaseModel):
    """Where a dataset's files officially come from and how to verify them.

    Checksums, in order of trust: per-file `sha256`/`md5` in `files`; then the
    publisher's checksum `manifest` (e.g. PhysioNet's SHA256SUMS.txt), itself pinned by
    `manifest_sha256` when known. `subdir`: the source is one part of a dataset made of
    several projects (MIMIC-IV + MIMIC-CXR-JPG + MIMIC-IV-ECG), stored under
    `<raw>/<subdir>/`; see `DatasetEntry.parts`.
    """

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    base_url: str | None = None  # files resolve as base_url + path; a mirror replaces it
    files: list[SourceFile] = []
    manifest: str | None = None  # relative path of a checksum file ("<hex>  <path>" lines)
    manifest_algo: Literal["sha256", "md5"] = "sha256"
    manifest_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    include: list[str] = []  # default glob selection among manifest entries
    kaggle: str | None = None  # "owner/dataset" or "competition/<name>"
    zenodo_record: int | None = None
    instructions: str | None = None  # for manual sources and access requirements
    subdir: str | None = None  # one part of a multi-part dataset: its files go under <raw>/<subdir>/

    @field_validator("subdir")
    @classmethod
    def _folder(cls, v: str | None) -> str | None:
        if v is not None and (not v or v.startswith("/") or v.endswith("/") or ".." in v.split("/")):
            raise ValueError(f"subdir must be a relative folder without '..' or a trailing '/': {v!r}")
        return v

    @field_validator("base_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("https://"):
            raise ValueError(f"base_url must be https: {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Source":
        if self.kind == SourceKind.kaggle and not self.kaggle:
            raise ValueError("kaggle sources need `kaggle: owner/dataset` or `competition/<name>`")
        if self.kind == SourceKind.manual and not self.instructions:
            raise ValueError("manual sources need `instructions`")
        return self


class Splits(BaseModel):
    """Sample counts per split as published (None where unknown)."""

    model_config = ConfigDict(extra="forbid")

    total: int | None = None
    train: int | None = None
    val: int | None = None
    test: int | None = None
    unit: str = "samples"  # samples, records, windows, beats, subjects, videos, ...


class LabelSpace(BaseModel):
    """A task and its label names: an entry's own, or one of its named views."""

    model_config = ConfigDict(extra="forbid")

    task: Task
    labels: list[str]
    description: str | None = None  # for views: what the view is and how it differs from the entry

    @model_validator(mode="after")
    def _labels(self) -> "LabelSpace":
        if self.task == Task.binary and len(self.labels) != 2:
            raise ValueError(f"binary task needs 2 labels, got {len(self.labels)}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        if self.task != Task.other and not self.labels:
            raise ValueError("labels must not be empty")
        return self


class DatasetEntry(BaseModel):
    """One dataset of the catalog.

    `task` and `labels` are the entry's own label space, the one builders produce unless they
    declare a named view; `views` holds the other label spaces builders of this entry produce
    (e.g. PTB-XL's `superdiagnostic` superclasses, Bonn's binary `seizure` view). Builders read
    their task and label names from here (one source of truth).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    modality: str  # e.g. "ECG", "chest X-ray", "CT 3D", "fMRI graph"
    family: Family
    domain: str  # clinical domain, e.g. cardiology, radiology, dermatology
    task: Task
    labels: list[str]
    splits: Splits = Splits()
    access: Access
    license: str
    citation: str
    homepage: str
    sources: list[Source] = []
    in_climb: bool = True  # listed in the CLIMB paper's collection
    shared_folder: str | None = None  # folder under ../shared/data that mirrors it
    views: dict[str, LabelSpace] = {}
    notes: str | None = None

    @model_validator(mode="after")
    def _labels(self) -> "DatasetEntry":
        LabelSpace(task=self.task, labels=self.labels)  # the same checks as a view's
        for name in self.views:
            if not name.replace("_", "").isalnum() or name != name.lower():
                raise ValueError(f"view name {name!r} must be lower-case letters, digits and '_'")
        folders = [s.subdir for s in self.sources]
        if any(folders) and (not all(folders) or len(set(folders)) != len(folders)):
            raise ValueError(f"sources are either alternatives (no subdir) or parts (each its own subdir), "
                             f"got subdirs {folders}")
        return self

    @property
    def parts(self) -> list[Source]:
        """The sources that together make the dataset (each under its `subdir`); [] when the
        sources are alternatives (the first scripted one is the download)."""
        return [s for s in self.sources if s.subdir]

    def label_space(self, view: str | None = None) -> LabelSpace:
        """The entry's own task and labels (`view=None`) or those of a named view."""
        if view is None:
            return LabelSpace(task=self.task, labels=self.labels)
        if view not in self.views:
            known = ", ".join(self.views) or "none"
            raise KeyError(f"catalog entry {self.id!r} has no label view {view!r} (views: {known})")
        return self.views[view]
