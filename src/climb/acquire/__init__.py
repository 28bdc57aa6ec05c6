"""Acquire: verified, resumable downloads of catalog datasets.

    from climb.acquire import download
    report = download("mitdb")                                   # official PhysioNet
    report = download("mitdb", mirror="http://127.0.0.1:8000/mitdb/", include=["100"])
    report = download("ptbxl", mirror="../shared/data/ptbxl", trust_mirror=True)  # modified subset

Flow: resolve (entry, source, dest, mirror) -> manifest (fetched, checked against
`manifest_sha256`) -> plan (checksums merged, include applied) -> fetch each file into
`<path>.part` with Range resume and retries -> verify -> rename -> mark complete
(`<dest>/.climb_complete`, only after the entry's full selection succeeded). An entry
made of several projects (`mimic_iv`: its sources have a `subdir`) downloads each into its
folder that way, and is complete once every part is.
With `trust_mirror=True` the mirror's MANIFEST.sha256 is the checksum authority; the
files that differ from the official ones are logged and recorded in the marker. Without
it, a mirror may stand in only for the file host: a checksum manifest the catalog does
not pin is refused from a mirror. `TransferLimits` bounds sizes, speed and time.
"""

from __future__ import annotations

from climb.acquire.downloader import MARKER, DownloadReport, download, pick_source
from climb.acquire.errors import (AccessDeniedError, AcquireError, AcquireUsageError, ChecksumError,
                                  DeadlineError, InsecureURLError, ManualSourceError, MissingChecksumError,
                                  NotFoundError, OversizeError, SelectionError, TransferError)
from climb.acquire.mirror import Mirror
from climb.acquire.transport import RetryPolicy, TransferLimits

__all__ = [
    "MARKER", "AccessDeniedError", "AcquireError", "AcquireUsageError", "ChecksumError", "DeadlineError",
    "DownloadReport", "InsecureURLError", "ManualSourceError", "Mirror", "MissingChecksumError", "NotFoundError",
    "OversizeError", "RetryPolicy", "SelectionError", "TransferError", "TransferLimits", "download",
    "pick_source",
]
