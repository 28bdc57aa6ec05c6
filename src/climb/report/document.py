"""A report as plain data (sections of notes, tables and figures), rendered to HTML and Markdown.

Keeping the content separate from the output format guarantees that the HTML and
the Markdown hold the same tables and link the same figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class Note:
    """A paragraph; `kind` warning/danger is rendered as a highlighted box."""

    text: str
    kind: Literal["info", "warning", "danger", "plain"] = "plain"


@dataclass
class Table:
    """Columns and rows of already formatted text.

    `row_classes[i]` (e.g. "leak") marks a row, `cell_classes[(i, j)]` (e.g. "gain", "loss") one cell;
    a `folded` table is rendered collapsed under its caption (HTML `<details>`), for long detail tables.
    """

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    row_classes: list[str] = field(default_factory=list)
    cell_classes: dict[tuple[int, int], str] = field(default_factory=dict)
    folded: bool = False

    def row_class(self, i: int) -> str:
        return self.row_classes[i] if i < len(self.row_classes) else ""

    def cell_class(self, i: int, j: int) -> str:
        return self.cell_classes.get((i, j), "")


@dataclass
class Figure:
    """A PNG under the report's figures/ folder, linked by its path relative to the report."""

    path: Path
    caption: str
    relative: str = ""


Block = Note | Table | Figure


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    sections: list[Section]


def format_number(value: float | None) -> str:
    """Three decimals (one above 100 in magnitude); `n/a` for missing or non-finite values."""
    if value is None:
        return "n/a"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3f}"


def format_estimate(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """`value [low, high]`, or just `value` when the interval is missing."""
    text = format_number(value)
    if format_number(low) == "n/a" or format_number(high) == "n/a" or text == "n/a":
        return text
    return f"{text} [{format_number(low)}, {format_number(high)}]"


def format_seconds(seconds: float | None) -> str:
    """Seconds as `12.3 s`, `4 min 05 s` or `1 h 02 min`."""
    if seconds is None or not math.isfinite(float(seconds)):
        return "n/a"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


__all__ = ["Block", "Document", "Figure", "Note", "Section", "Table", "format_estimate", "format_number",
           "format_seconds"]
