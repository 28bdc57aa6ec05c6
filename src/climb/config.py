"""Where climb keeps things on disk. Every location can be overridden by the environment."""

from __future__ import annotations

import os
from pathlib import Path

from climb.errors import ClimbUsageError


def climb_home() -> Path:
    """Root of climb's cache: `$CLIMB_HOME`, else `~/.cache/climb`.

    A `CLIMB_HOME` that is set but empty is refused: `Path("")` is the current directory,
    so `CLIMB_HOME=$UNSET_VARIABLE climb download ...` would otherwise fill whatever
    directory the command runs in.
    """
    value = os.environ.get("CLIMB_HOME")
    if value is None:
        return Path.home() / ".cache" / "climb"
    if not value.strip():
        raise ClimbUsageError("CLIMB_HOME is set but empty; set it to a directory, or unset it for the default "
                              "~/.cache/climb")
    return Path(value).expanduser()


def raw_dir(dataset_id: str) -> Path:
    """Where the verified raw files of a catalog dataset live (official relative layout)."""
    return climb_home() / "raw" / dataset_id


def prepared_root() -> Path:
    """Where prepared (standardised, versioned) datasets live."""
    return climb_home() / "prepared"


def shared_data_dir() -> Path | None:
    """The project's local mirror of real data (`$CLIMB_SHARED_DATA` or `../shared/data`), if present."""
    env = os.environ.get("CLIMB_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents[2:5]]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None
