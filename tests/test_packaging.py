"""The wheel ships every data file the package reads (catalog entries, suites), and nothing stale."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "climb"


def _package_data() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]["package-data"]["climb"]


def _data_files() -> list[PurePosixPath]:
    return [PurePosixPath(p.relative_to(PACKAGE).as_posix()) for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]


def test_every_data_file_is_packaged():
    patterns = _package_data()
    unpackaged = [str(f) for f in _data_files() if not any(f.match(p) for p in patterns)]
    assert unpackaged == [], f"add these to [tool.setuptools.package-data] in pyproject.toml: {unpackaged}"


def test_every_package_data_pattern_matches_a_file():
    files = _data_files()
    stale = [p for p in _package_data() if not any(f.match(p) for f in files)]
    assert stale == [], f"pyproject.toml packages files that do not exist: {stale}"
