"""A quiet console for the `climb` command: third-party noise goes to the run's log file only.

`quiet_console()` (installed once by the CLI): the console shows warnings and errors only
(Lightning's INFO lines, its tips and the model summary stay in the run log, see
`climb.train.runlog.RunLog`) and drops deprecation / future warnings and known Lightning
hints, which the run log keeps. Warnings become log records of `climb.warnings`, so a run's
log file receives them too. Imports nothing heavy (the CLI starts fast).
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO

WARNINGS_LOGGER = "climb.warnings"
NOISE_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# Lightning hints about settings climb chose on purpose (a log line each, not a user's concern)
NOISE_MESSAGES = ("does not have many workers", "is smaller than the logging interval",
                  "module(s) in eval mode", "Tip:", "litlogger", "LeafSpec")


def is_noise(category: type[Warning], message: str) -> bool:
    """Warnings kept in the run log but not shown on the console."""
    return issubclass(category, NOISE_CATEGORIES) or any(m in message for m in NOISE_MESSAGES)


class _ConsoleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "noise", False) and not any(m in record.getMessage() for m in NOISE_MESSAGES)


def _log_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    logging.getLogger(WARNINGS_LOGGER).warning(
        f"{filename}:{lineno}: {category.__name__}: {message}", extra={"noise": is_noise(category, str(message))})


def quiet_console(stream: TextIO | None = None) -> None:
    """The console shows WARNING and above, without noise; warnings become log records (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h, _ConsoleHandler) for h in root.handlers):
        handler = _ConsoleHandler(stream)
        handler.setLevel(logging.WARNING)
        handler.addFilter(_ConsoleFilter())
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    warnings.showwarning = _log_warning
    tame_lightning()


def tame_lightning() -> None:
    """Under `quiet_console`, Lightning's own console handlers go: its records reach the root logger.

    `import lightning` always adds an INFO handler on stderr (`lightning.pytorch` / `lightning.fabric`
    add one when the root logger has none), so this runs again once Lightning is imported
    (`climb.train.runlog.run_callbacks`, before a Trainer is made). Outside the CLI it does nothing.
    """
    if not any(isinstance(h, _ConsoleHandler) for h in logging.getLogger().handlers):
        return
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            logger.removeHandler(handler)
        logger.propagate = True


class _ConsoleHandler(logging.StreamHandler):
    """The `climb` command's console handler, installed once; writes to the current `sys.stderr`
    unless given a stream (a test runner may swap stderr between commands)."""

    def __init__(self, stream: TextIO | None = None):
        self._fixed = stream
        super().__init__(stream)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        self._fixed = value if value is not sys.stderr else self._fixed


__all__ = ["WARNINGS_LOGGER", "is_noise", "quiet_console", "tame_lightning"]
