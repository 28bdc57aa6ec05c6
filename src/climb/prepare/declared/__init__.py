"""Datasets without Python: generic builders configured by a YAML declaration.

    from climb.prepare.declared import register_declared
    register_declared("my_cohort.yaml")          # now `create_builder("my_cohort")` finds it
    prepare("my_cohort", raw="/data/my_cohort")

Kinds: `table` (CSV features), `image_table` (images listed in a CSV), `image_folders`
(`root/<class>/<image>`), `molecules` (SMILES in a CSV), `wfdb` (WFDB records named in a
CSV). The guide with one YAML per kind is docs/declared-datasets.md.

The declaration is the builder's only parameter (`params["declaration"]`), so it is recorded
in the dataset card and any change to it invalidates the prepared cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from climb.prepare.builder import Builder, builder_names, register_builder
from climb.prepare.declared.builders import KIND_BUILDERS, DeclaredBuilder, validate_declaration
from climb.prepare.declared.schema import Common, DeclarationError

__all__ = ["DeclarationError", "DeclaredBuilder", "declared_builder", "load_declaration", "register_declared"]

_REGISTERED: dict[str, dict[str, Any]] = {}  # declared name -> its declaration (as registered)


def load_declaration(path: str | Path) -> dict[str, Any]:
    """The validated declaration in a YAML file, as a plain mapping with `raw` made absolute.

    Errors name the file and the field (like `climb.yamlfile.load_model`, which takes a
    model class and so cannot validate the union of kinds).
    """
    path = Path(path)
    if not path.is_file():
        raise DeclarationError(f"{path}: declaration file not found")
    try:
        mapping = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise DeclarationError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    return _normalised(mapping, str(path), base=path.resolve().parent)


def _normalised(mapping: Any, source: str, base: Path) -> dict[str, Any]:
    decl = validate_declaration(mapping, source)
    out = decl.model_dump(mode="json", exclude_defaults=True)
    if decl.raw is not None:
        out["raw"] = str((base / decl.raw).resolve())
    return out


def _as_declaration(path_or_mapping: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(path_or_mapping, dict):
        return _normalised(path_or_mapping, "<declaration>", base=Path.cwd())
    return load_declaration(path_or_mapping)


def declared_builder(path_or_mapping: str | Path | dict[str, Any]) -> Builder:
    """A ready builder for a declaration (a YAML file or a mapping), not registered."""
    declaration = _as_declaration(path_or_mapping)
    builder = KIND_BUILDERS[declaration["kind"]](declaration=declaration)
    builder.name = builder.decl.name  # type: ignore[misc]
    return builder


def register_declared(path_or_mapping: str | Path | dict[str, Any]) -> str:
    """Register a declaration under its name so `create_builder(name)` finds it; returns the name.

    Registering the same declaration again is a no-op; another declaration (or a built-in
    builder) under the same name is an error.
    """
    declaration = _as_declaration(path_or_mapping)
    name = declaration["name"]
    if name in _REGISTERED:
        if _REGISTERED[name] == declaration:
            return name
        raise DeclarationError(f"{name}: a different declaration is already registered under this name")
    if name in builder_names():
        raise DeclarationError(f"{name}: a built-in or plugin builder already has this name")
    register_builder(name, declaration=declaration)(KIND_BUILDERS[declaration["kind"]])
    _REGISTERED[name] = declaration
    return name

