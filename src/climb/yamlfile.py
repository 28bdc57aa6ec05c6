"""Load a YAML file into a pydantic model; every error names the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_model(path: Path, model: type[M], error: type[Exception], root: str = "<file>") -> M:
    """Parse `path` as YAML and validate it as `model`, raising `error("<path>: <field>: <problem>")`."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at top level")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or root}: {err['msg']}" for err in e.errors())
        raise error(f"{path}: {problems}") from None
