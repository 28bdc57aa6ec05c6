"""`climb new dataset NAME`: scaffold a plugin package for a user's own dataset.

It writes a small installable project whose entry point (`climb.plugins`) registers a
catalog entry and a builder, plus a test and made-up example rows that pass as written:

    <out>/climb-<name>/
        pyproject.toml              entry point climb.plugins -> <name>
        README.md
        <name>/__init__.py          registers the entry, imports the builder
        <name>/<name>.yaml          the catalog entry (task, labels, licence, citation)
        <name>/builder.py           raw CSV -> standard samples (edit to your layout)
        tests/test_<name>.py        prepares tests/raw and checks every row and label
        tests/raw/<name>.csv        example rows in the builder's layout

Templates live in `climb/cli/templates/dataset/` (string.Template, `$name`).
"""

from __future__ import annotations

import keyword
import re
from enum import Enum
from importlib import resources
from pathlib import Path
from string import Template

import typer

from climb.errors import ClimbUsageError

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"  # a catalog id, a builder name and a Python package name at once

# template file -> path in the project ({name} replaced)
DATASET_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{name}/__init__.py",
    "entry.yaml.tmpl": "{name}/{name}.yaml",
    "builder.py.tmpl": "{name}/builder.py",
    "test_dataset.py.tmpl": "tests/test_{name}.py",
    "example.csv.tmpl": "tests/raw/{name}.csv",
}


def scaffold_dataset(name: str, out: Path) -> Path:
    """Write the plugin project for dataset `name` under `out`; returns its folder (never overwrites)."""
    from climb.catalog import entries
    from climb.prepare import builder_names
    from climb.safeio import atomic_write_text

    if not re.match(NAME_PATTERN, name) or keyword.iskeyword(name):
        raise ClimbUsageError(f"dataset name {name!r}: use lower-case letters, digits and '_', starting with a letter")
    taken = [what for what, names in (("a catalog id", {e.id for e in entries()}), ("a builder", builder_names()))
             if name in names]
    if taken:
        raise ClimbUsageError(f"dataset name {name!r} is already {' and '.join(taken)}; choose another")
    project = Path(out) / f"climb-{name}"
    if project.exists():
        raise ClimbUsageError(f"{project} already exists; nothing written")
    values = {"name": name, "dist": name.replace("_", "-"),
              "class_name": "".join(part.capitalize() for part in name.split("_")) + "Builder"}
    templates = resources.files("climb.cli") / "templates" / "dataset"
    for template, target in DATASET_FILES.items():
        path = project / target.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, Template((templates / template).read_text()).substitute(values))
    return project


class Scaffold(str, Enum):
    """What `climb new` writes (one kind today)."""

    dataset = "dataset"


def register(app: typer.Typer) -> None:
    @app.command("new")
    def new(
        what: Scaffold = typer.Argument(..., help="What to scaffold: dataset."),
        name: str = typer.Argument(..., help="Dataset name: catalog id, builder and package name (e.g. my_cohort)."),
        out: Path = typer.Option(Path("."), "--out", help="Folder to create climb-NAME/ in."),
    ) -> None:
        """Scaffold your own dataset: a plugin package (builder, catalog entry, test) that passes as written."""
        project = scaffold_dataset(name, out)
        for path in sorted(p for p in project.rglob("*") if p.is_file()):
            typer.echo(f"wrote {path}")
        typer.echo(f"next: pip install -e {project} && (cd {project} && pytest); "
                   f"then `climb prepare {name} --raw DIR`")
