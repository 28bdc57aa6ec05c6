"""The catalog: every dataset climb knows, as validated data (one YAML file per entry)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from climb.catalog.schema import (Access, DatasetEntry, Family, LabelSpace, Source, SourceFile, SourceKind,
                                  Task)
from climb.errors import ClimbError, ClimbUsageError
from climb.yamlfile import load_model

__all__ = [
    "Access", "CatalogError", "DatasetEntry", "Family", "LabelSpace", "Source", "SourceFile", "SourceKind",
    "Task", "UnknownDatasetError", "entries", "get", "load_entry",
]


class CatalogError(ClimbError, ValueError):
    """A catalog entry is malformed; the message names the file and field."""


class UnknownDatasetError(ClimbUsageError, KeyError):
    """No catalog entry has this id; the message lists the closest ids."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@lru_cache(maxsize=1)
def entries_dir() -> Path:
    return Path(str(resources.files("climb.catalog") / "entries"))


def load_entry(path: Path) -> DatasetEntry:
    """Parse and validate one entry file; errors name the file and the field."""
    entry = load_model(path, DatasetEntry, CatalogError, root="<entry>")
    if entry.id != path.stem:
        raise CatalogError(f"{path}: field id: {entry.id!r} must match the file name {path.stem!r}")
    return entry


@lru_cache(maxsize=4)
def _load_all(directory: str) -> dict[str, DatasetEntry]:
    out: dict[str, DatasetEntry] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        entry = load_entry(path)
        out[entry.id] = entry
    return out


def entries(directory: Path | None = None) -> list[DatasetEntry]:
    """All catalog entries, sorted by id."""
    return list(_load_all(str(directory or entries_dir())).values())


def get(dataset_id: str, directory: Path | None = None) -> DatasetEntry:
    """One entry by id; unknown ids fail with the closest known ids."""
    table = _load_all(str(directory or entries_dir()))
    if dataset_id not in table:
        import difflib

        close = difflib.get_close_matches(dataset_id, table, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else " Run `climb datasets` to list them."
        raise UnknownDatasetError(f"Unknown dataset {dataset_id!r}.{hint}")
    return table[dataset_id]
