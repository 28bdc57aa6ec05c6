"""The catalog: every dataset climb knows, as validated data (one YAML file per entry).

Entries come from three places, merged by id (an id defined twice is an error naming both):

* climb's own entries (`climb/catalog/entries/*.yaml`);
* user catalogs: the directories listed in ``$CLIMB_CATALOG_PATH`` (separated by
  `os.pathsep`), each holding ``<id>.yaml`` entry files validated like climb's own;
* entries a plugin registers with `register_entry` (climb.plugins).

Published reference numbers (`Reference`, `register_reference`) are catalog data too
(`climb.catalog.references`).

`entries()` and `get()` see all three, so `climb datasets`, `climb info`, builders and
reports treat a user's entry like a built-in one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from climb.catalog.references import Reference, register_reference
from climb.catalog.schema import (Access, DatasetEntry, Family, LabelSpace, Source, SourceFile, SourceKind,
                                  Task)
from climb.errors import ClimbError, ClimbUsageError
from climb.yamlfile import load_model

__all__ = [
    "CATALOG_PATH_VAR", "Access", "CatalogError", "DatasetEntry", "Family", "LabelSpace", "Reference", "Source",
    "SourceFile", "SourceKind", "Task", "UnknownDatasetError", "catalog_dirs", "entries", "entry_origin", "get",
    "load_entry", "register_entry", "register_reference",
]

CATALOG_PATH_VAR = "CLIMB_CATALOG_PATH"

_registered: dict[str, tuple[DatasetEntry, str]] = {}  # id -> (entry, where it was registered from)


class CatalogError(ClimbError, ValueError):
    """A catalog entry is malformed or defined twice; the message names the file and field."""


class UnknownDatasetError(ClimbUsageError, KeyError):
    """No catalog entry has this id; the message lists the closest ids."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@lru_cache(maxsize=1)
def entries_dir() -> Path:
    return Path(str(resources.files("climb.catalog") / "entries"))


def catalog_dirs() -> list[Path]:
    """climb's entry directory, then each directory of ``$CLIMB_CATALOG_PATH`` (which must exist)."""
    user = [Path(p).expanduser() for p in os.environ.get(CATALOG_PATH_VAR, "").split(os.pathsep) if p.strip()]
    for directory in user:
        if not directory.is_dir():
            raise CatalogError(f"${CATALOG_PATH_VAR}: {directory} is not a directory")
    return [entries_dir(), *user]


def load_entry(path: Path) -> DatasetEntry:
    """Parse and validate one entry file; errors are one line naming the file and the field."""
    try:
        entry = load_model(path, DatasetEntry, CatalogError, root="<entry>")
    except CatalogError as e:
        raise CatalogError(" ".join(str(e).split())) from None  # YAML parser messages span lines
    if entry.id != path.stem:
        raise CatalogError(f"{path}: field id: {entry.id!r} must match the file name {path.stem!r}")
    return entry


def register_entry(entry: DatasetEntry | dict | str | Path, origin: str | None = None) -> DatasetEntry:
    """Add an entry (a `DatasetEntry`, its fields as a dict, or an entry file) for a plugin.

    Registering the same entry again is a no-op; a different entry under an id already
    registered, or one of climb's or a user catalog's ids, is a `CatalogError`.
    """
    if isinstance(entry, (str, Path)):
        origin = origin or str(entry)
        entry = load_entry(Path(entry))
    elif isinstance(entry, dict):
        from pydantic import ValidationError

        try:
            entry = DatasetEntry.model_validate(entry)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or '<entry>'}: {err['msg']}" for err in e.errors())
            raise CatalogError(f"{origin or 'registered entry'} {entry.get('id', '?')!r}: {problems}") from None
    origin = origin or f"registered entry {entry.id!r}"
    previous = _registered.get(entry.id)
    if previous is not None and previous[0] != entry:
        raise CatalogError(f"{origin}: catalog id {entry.id!r} is already registered by {previous[1]}")
    _registered[entry.id] = (entry, origin)
    return entry


def _dir_snapshot(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of a directory's entry files: the cache key of its parsed entries."""
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@lru_cache(maxsize=32)
def _load_dir(directory: str, snapshot: tuple) -> dict[str, tuple[DatasetEntry, str]]:
    out: dict[str, tuple[DatasetEntry, str]] = {}
    for name, _, _ in snapshot:
        path = Path(directory) / name
        entry = load_entry(path)
        out[entry.id] = (entry, str(path))
    return out


def _table(directory: Path | None = None) -> dict[str, tuple[DatasetEntry, str]]:
    """id -> (entry, origin) over every source (or only `directory`)."""
    if directory is not None:
        return _load_dir(str(directory), _dir_snapshot(Path(directory)))
    from climb.plugins import load_plugins

    load_plugins()  # plugins may register entries
    table: dict[str, tuple[DatasetEntry, str]] = {}
    for d in catalog_dirs():
        for key, found in [*_load_dir(str(d), _dir_snapshot(d)).items()]:
            _add(table, key, found)
    for key, found in _registered.items():
        if table.get(key, (None,))[0] != found[0]:  # a plugin may register a user catalog's own file
            _add(table, key, found)
    return table


def _add(table: dict[str, tuple[DatasetEntry, str]], key: str, found: tuple[DatasetEntry, str]) -> None:
    if key in table:
        raise CatalogError(f"{found[1]}: catalog id {key!r} is already defined by {table[key][1]}")
    table[key] = found


def entries(directory: Path | None = None) -> list[DatasetEntry]:
    """All catalog entries (climb's, user catalogs', plugins'), sorted by id; or those of `directory`."""
    return [entry for _, (entry, _) in sorted(_table(directory).items())]


def entry_origin(dataset_id: str) -> str:
    """The file (or plugin registration) that defines a catalog id."""
    get(dataset_id)
    return _table()[dataset_id][1]


def get(dataset_id: str, directory: Path | None = None) -> DatasetEntry:
    """One entry by id; unknown ids fail with the closest known ids."""
    table = _table(directory)
    if dataset_id not in table:
        import difflib

        close = difflib.get_close_matches(dataset_id, table, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else " Run `climb datasets` to list them."
        raise UnknownDatasetError(f"Unknown dataset {dataset_id!r}.{hint}")
    return table[dataset_id][0]
