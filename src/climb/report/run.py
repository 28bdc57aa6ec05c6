"""Read a benchmark run directory (manifest.json, results.csv, cells/*) into one `Run`.

Errors name the file and the problem. Predictions are loaded without pickle; a cell
whose predictions.npz is unreadable is skipped and recorded in `Run.problems`.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.evaluate.metrics import SETTING

REQUIRED_COLUMNS = ("dataset", "split", "protocol", "encoder", "seed", "metric", "value", "ci_low", "ci_high")

#: predictions of one source: {"y": ..., "score": ..., "patient_id": ...}
Prediction = dict[str, np.ndarray]


class RunError(ValueError):
    """A run directory is missing a file or holds a malformed one; the message names it."""


@dataclass
class Run:
    """Everything a report reads from one run directory."""

    path: Path
    manifest: dict[str, Any]
    results: pd.DataFrame
    cells: dict[str, dict[str, Any]]  # cell id -> cell.json merged with the manifest's per-cell entry
    predictions: dict[str, dict[str, Prediction]]  # cell id -> source ("<dataset>[/<label>]") -> arrays
    problems: list[str] = field(default_factory=list)

    @property
    def demo(self) -> bool:
        return bool(self.manifest.get("demo", False))


def load_run(run_dir: str | Path) -> Run:
    """Load manifest.json, results.csv and every cells/<id>/{cell.json,predictions.npz}."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RunError(f"{path}: not a run directory")
    manifest = _read_manifest(path / "manifest.json")
    results = read_results(path / "results.csv")
    cells = _manifest_cells(manifest)
    predictions: dict[str, dict[str, Prediction]] = {}
    problems: list[str] = []
    for cell_dir in sorted(p for p in (path / "cells").glob("*") if p.is_dir()):
        cells.setdefault(cell_dir.name, {}).update(_read_cell_json(cell_dir / "cell.json", problems))
        npz = cell_dir / "predictions.npz"
        if npz.is_file():
            try:
                predictions[cell_dir.name] = read_predictions(npz)
            except (OSError, ValueError) as e:
                problems.append(f"{npz}: unreadable predictions ({e})")
    return Run(path, manifest, results, cells, predictions, problems)


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RunError(f"{path}: manifest.json missing")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: expected a JSON object at top level")
    return manifest


def read_results(path: Path) -> pd.DataFrame:
    """results.csv with the ResultRow columns checked and `notes` parsed to lists of strings."""
    if not path.is_file():
        raise RunError(f"{path}: results.csv missing")
    try:
        frame = pd.read_csv(path, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: not a readable CSV ({e})") from None
    except pd.errors.EmptyDataError:
        raise RunError(f"{path}: empty file") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise RunError(f"{path}: missing columns {', '.join(missing)}")
    for col in ("value", "ci_low", "ci_high"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    for col in ("dataset", "split", "protocol", "encoder", "metric"):
        frame[col] = frame[col].astype(str)
    frame["notes"] = frame["notes"].map(parse_notes) if "notes" in frame.columns else [[] for _ in range(len(frame))]
    for col in ("task", *SETTING):  # typed setting columns; absent in runs of an older climb
        if col not in frame.columns:
            frame[col] = None
        if col == "shots":
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
        elif col != "protocol":
            frame[col] = frame[col].fillna("").astype(str)
    from climb.report.rows import setting_label

    frame["setting"] = [setting_label(r) for _, r in frame.iterrows()] if len(frame) else []
    if "cell" not in frame.columns:
        frame["cell"] = ""
    frame["cell"] = frame["cell"].fillna("").astype(str)
    return frame


def parse_notes(raw: Any) -> list[str]:
    """Notes as written by pandas (a Python list literal), JSON, or a plain string."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return []
    if isinstance(raw, list):
        return [str(n) for n in raw]
    text = str(raw).strip()
    if not text:
        return []
    if text.startswith("["):
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(text)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, list):
                return [str(n) for n in value]
    return [text]


def _manifest_cells(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-cell status/wall seconds from the manifest: a mapping id -> info or a list of infos."""
    raw = manifest.get("cells") or {}
    if isinstance(raw, dict):
        return {str(k): dict(v) if isinstance(v, dict) else {"status": v} for k, v in raw.items()}
    cells = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            cell_id = item.get("id") or item.get("cell") or item.get("cell_id") or item.get("name")
            if cell_id is not None:
                cells[str(cell_id)] = dict(item)
    return cells


def _read_cell_json(path: Path, problems: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        problems.append(f"{path}: not valid JSON ({e})")
        return {}
    return value if isinstance(value, dict) else {}


def read_predictions(path: Path) -> dict[str, Prediction]:
    """`<source>/<key>` arrays grouped by source; sources without both y and score are dropped."""
    grouped: dict[str, Prediction] = {}
    with np.load(path, allow_pickle=False) as npz:
        for name in npz.files:
            source, sep, key = name.rpartition("/")
            if sep:
                grouped.setdefault(source, {})[key] = npz[name]
    return {s: p for s, p in grouped.items() if "y" in p and "score" in p and len(p["y"]) == len(p["score"])}


def cell_wall_seconds(run: Run, cell_id: str) -> float:
    """Wall seconds of a cell: its cell.json / manifest entry, else results.csv's wall_seconds."""
    info = run.cells.get(cell_id, {})
    for key in ("wall_seconds", "seconds", "wall_s", "elapsed_seconds"):
        value = _as_float(info.get(key))
        if value is not None:
            return value
    if "wall_seconds" in run.results.columns:
        values = pd.to_numeric(run.results.loc[run.results["cell"] == cell_id, "wall_seconds"], errors="coerce")
        values = values.dropna()
        if len(values):
            return float(values.iloc[0])
    return math.nan


def _as_float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def manifest_value(manifest: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` present at top level or inside a nested versions/environment/suite block."""
    scopes = [manifest] + [manifest[k] for k in ("versions", "environment", "env", "suite") if
                           isinstance(manifest.get(k), dict)]
    for key in keys:
        for scope in scopes:
            if scope.get(key) not in (None, ""):
                return scope[key]
    return None


__all__ = ["Prediction", "Run", "RunError", "cell_wall_seconds", "load_run", "manifest_value", "parse_notes",
           "read_predictions", "read_results"]
