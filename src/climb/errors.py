"""The base of climb's own errors: what the CLI reports as one line (exit 1) instead of a traceback.

Every error climb raises on purpose (bad input, missing data, a failed check) derives from
`ClimbError`; each layer keeps its own subclasses (`AcquireError`, `PrepareError`, ...).
`ClimbUsageError` marks a mistake in what the user asked for (an unknown name, a bad
option value): the CLI exits 2 for those.
"""

from __future__ import annotations


class ClimbError(Exception):
    """An error climb raised on purpose; its message is one line that says what to do."""


class ClimbUsageError(ClimbError, ValueError):
    """The user asked for something that cannot be done as asked (unknown name, bad value)."""
