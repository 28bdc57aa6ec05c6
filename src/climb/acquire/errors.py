"""Errors of the acquisition layer.

Every message is one self-contained line meant for a user: it names the dataset or
file, what went wrong and what to do. Messages never contain credentials (URLs are
redacted with `climb.acquire.urls.redact` before they get here). Every class derives
from `climb.errors.ClimbError` (the CLI prints it as one line) and keeps its old base
(`RuntimeError`), so existing `except RuntimeError` code still catches it.
"""

from __future__ import annotations

from climb.errors import ClimbError, ClimbUsageError


class AcquireError(ClimbError, RuntimeError):
    """Base class: a download could not be completed."""


class AcquireUsageError(AcquireError, ClimbUsageError):
    """The download was asked for wrongly (unknown dataset, empty or impossible mirror option)."""


class ManualSourceError(AcquireError):
    """The publisher allows no scripted download; the message says how to get the data."""


class InsecureURLError(AcquireError):
    """A URL is not https (plain http is only allowed to loopback hosts)."""


class AccessDeniedError(AcquireError):
    """401/403: credentials missing or wrong, or a data-use agreement not accepted."""


class NotFoundError(AcquireError):
    """404: the file is not where the catalog says it is."""


class TransferError(AcquireError):
    """The transfer kept failing (5xx, connection errors, timeouts, too slow) after all retries."""


class DeadlineError(TransferError):
    """The download's overall deadline passed; partial files are kept for a resume."""


class OversizeError(AcquireError):
    """A server sent more bytes than the file's expected size or a manifest's cap (nothing kept)."""


class ChecksumError(AcquireError):
    """A file's digest does not match the expected one (the file has been removed)."""


class MissingChecksumError(AcquireError):
    """A file has no checksum from any trusted source, so it cannot be verified."""


class SelectionError(AcquireError):
    """The include selection matches nothing, or names files the source does not have."""
