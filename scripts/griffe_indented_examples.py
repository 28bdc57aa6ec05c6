"""Griffe extension for the API reference: keep climb's indented docstring examples as code.

climb's docstrings are prose with examples indented one level deeper (reST `::` style).
Python's `inspect.cleandoc`, which griffe applies, strips the common indentation, so a
docstring whose only indented lines are its example turns that example into a Markdown
paragraph (`ds.card["splits"]` then even reads as a reference link). This extension
re-reads the docstring literal from the source and strips only the indentation of the line
that opens it, so examples stay indented and render as code blocks; a trailing `::` becomes
`:`. No maintained extension does this (griffe's own docstring parsers expect Google, NumPy
or Sphinx sections, which climb does not use).
"""

from __future__ import annotations

import ast
from typing import Any

import griffe


def reindent(literal_value: str, base_indent: int) -> str:
    """The docstring with only `base_indent` columns removed from each continuation line."""
    first, *rest = literal_value.expandtabs().split("\n")
    lines = [first.strip()]
    for line in rest:
        lead = len(line) - len(line.lstrip(" "))
        lines.append(line[min(lead, base_indent):].rstrip())
    text = "\n".join(lines).strip("\n")
    return "\n".join(line[:-1] if line.endswith("::") else line for line in text.split("\n"))


class IndentedExamples(griffe.Extension):
    """Re-derive each docstring's text from its source, keeping relative indentation."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None or docstring.lineno is None or docstring.endlineno is None:
            return
        try:
            source = obj.lines_collection[obj.filepath]
        except (KeyError, AttributeError, TypeError):
            return
        block = source[docstring.lineno - 1:docstring.endlineno]
        try:
            value = ast.literal_eval("\n".join(block).strip())
        except (SyntaxError, ValueError):
            return
        if not isinstance(value, str):
            return
        opening = block[0]
        docstring.value = reindent(value, len(opening) - len(opening.lstrip(" ")))
