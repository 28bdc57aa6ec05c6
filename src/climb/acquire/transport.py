"""Transport: fetch one URL or mirror file into `<dest>/<path>.part`, resuming and retrying.

fetch: GET with `Range: bytes=<received>-` when a `.part` exists (206 -> append,
200 -> the server ignored Range, restart; 416 -> restart), stream raw bytes (no
content decoding) to disk; retry 5xx/429, connection errors, timeouts, cut and too-slow
transfers with exponential back-off; map 401/403/404 to actionable errors. TLS
verification is always on, redirects are checked against the URL policy, and auth is
attached only for hosts that need it. Local-directory mirrors are copied the same way.

What a server can make climb do is bounded (`TransferLimits`): a file is never read past
its expected size (refused from the Content-Length header when it announces more, else
stopped at the first byte too many), a manifest or API answer never past a cap (it is
held in memory), a transfer slower than a minimum throughput is dropped and retried,
and the whole download stops at a deadline (partial files are kept for a resume).
`.part` files are opened with `climb.safeio.open_for_write`, which refuses a symbolic link.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
import urllib3

from climb.acquire import urls
from climb.acquire.errors import (AccessDeniedError, AcquireError, DeadlineError, NotFoundError, OversizeError,
                                  TransferError)
from climb.safeio import open_for_write, refuse_symlink

log = logging.getLogger("climb.acquire")
CHUNK = 1 << 20
USER_AGENT = "climb-downloader/0.1 (+https://github.com/; verified, resumable)"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: attempt n waits `min(max_delay, base_delay * factor**(n-1))`."""

    attempts: int = 5
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    connect_timeout: float = 15.0
    read_timeout: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * self.factor ** max(0, attempt - 1))


@dataclass(frozen=True)
class TransferLimits:
    """Bounds on what a server can make a download do. 0 or None switches a bound off.

    `min_speed` (bytes/s) is averaged over `speed_window` seconds: a transfer slower than
    that is dropped and retried (resuming), so a server dripping a byte every few seconds
    cannot hold a download forever; the default, 1 KiB/s over a minute, only catches
    stalls. `deadline` (seconds) bounds one `download()` call, retries included; when it
    passes, transfers stop and the partial files stay for the next run to resume (24 h by
    default: a long dataset finishes over several runs). `max_manifest_bytes` caps a
    checksum manifest or publisher API answer, which is held in memory (256 MiB: the
    largest PhysioNet manifests, e.g. MIMIC-IV-ECG's ~800k files, are under 100 MB).
    """

    min_speed: float = 1024.0
    speed_window: float = 60.0
    deadline: float | None = 24 * 3600.0
    max_manifest_bytes: int = 256 << 20


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{int(n)} bytes"


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


class Progress(Protocol):
    def start(self, total: int | None, completed: int) -> None: ...
    def advance(self, n: int) -> None: ...


class _NoProgress:
    def start(self, total: int | None, completed: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


class _Retryable(Exception):
    """A failure worth retrying (5xx, 429, a short body, a transfer below the minimum speed)."""


class _Pace:
    """Drops a transfer whose throughput over the last `speed_window` seconds is below `min_speed`."""

    def __init__(self, limits: TransferLimits, clock: Callable[[], float]) -> None:
        self.limits, self.clock = limits, clock
        self.since, self.at = clock(), 0

    def check(self, received: int) -> None:
        window = self.clock() - self.since
        if not self.limits.min_speed or window < self.limits.speed_window:
            return
        rate = (received - self.at) / window
        if rate < self.limits.min_speed:
            raise _Retryable(f"too slow: {rate:.0f} bytes/s over the last {window:.0f} s, below the minimum "
                             f"{self.limits.min_speed:.0f} bytes/s")
        self.since, self.at = self.clock(), received


RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
             urllib3.exceptions.HTTPError, _Retryable)


class SafeSession(requests.Session):
    """A requests session that checks every redirect target against the URL policy."""

    def get_redirect_target(self, resp):  # type: ignore[override]
        target = super().get_redirect_target(resp)
        if target:
            from urllib.parse import urljoin

            urls.check_allowed(urljoin(resp.url, target))
        return target


def _range_start(resp: requests.Response) -> int | None:
    m = re.match(r"bytes\s+(\d+)-", resp.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None


class Transport:
    """Fetches files over HTTP(S) or from a local directory, with retries and resume.

    `auth_for(url)` returns the `requests` auth for a URL (or None); `access_help` is
    the sentence telling the user how to get access, used for 401/403. `started`: when the
    `download()` call began (its deadline counts from there; default: now).
    """

    def __init__(self, retry: RetryPolicy | None = None,
                 auth_for: Callable[[str], requests.auth.AuthBase | None] = lambda url: None,
                 access_help: str = "", sleep: Callable[[float], None] = time.sleep,
                 limits: TransferLimits | None = None, clock: Callable[[], float] = time.monotonic,
                 started: float | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.limits = limits or TransferLimits()
        self.auth_for = auth_for
        self.access_help = access_help
        self.sleep = sleep
        self.clock = clock
        start = clock() if started is None else started
        self.deadline_at = start + self.limits.deadline if self.limits.deadline else None
        self.session = SafeSession()
        self.session.verify = True
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})

    def close(self) -> None:
        self.session.close()

    # -- public -----------------------------------------------------------------------
    def get_bytes(self, url: str, what: str) -> bytes:
        """The whole body of `url` (a manifest or API answer), with retries, at most `max_manifest_bytes`."""
        urls.check_allowed(url)
        return self._with_retries(lambda: self._get_once(url, what), url, what)

    def read_local(self, path: Path, what: str) -> bytes:
        """A local manifest's bytes, refused (unread) when larger than `max_manifest_bytes`."""
        cap = self.limits.max_manifest_bytes
        with open(path, "rb") as f:
            data = f.read(cap + 1 if cap else -1)
        if cap and len(data) > cap:
            raise self._document_too_big(what, str(path))
        return data

    def fetch(self, url: str, part: Path, what: str, progress: Progress | None = None,
              size: int | None = None) -> None:
        """Download `url` into `part`, resuming from the bytes already in it.

        With `size` (the file's expected size) nothing past it is ever written: an answer
        announcing more is refused, one sending more is stopped; `part` is then deleted.
        """
        urls.check_allowed(url)
        refuse_symlink(part)
        part.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._with_retries(lambda: self._fetch_once(url, part, progress or _NoProgress(), what, size),
                               url, what)
        except OversizeError:
            part.unlink(missing_ok=True)
            raise

    def copy_local(self, src: Path, part: Path, what: str, progress: Progress | None = None,
                   size: int | None = None) -> None:
        """Copy a local mirror file into `part`, resuming from the bytes already in it.

        A source larger than the expected `size` is refused before anything is copied.
        """
        if not src.is_file():
            raise NotFoundError(f"{what}: not found in the mirror directory: {src}")
        refuse_symlink(part)
        progress = progress or _NoProgress()
        part.parent.mkdir(parents=True, exist_ok=True)
        total = src.stat().st_size
        if size is not None and total > size:
            part.unlink(missing_ok=True)
            raise OversizeError(f"{what}: the mirror's file {src} holds {total} bytes, more than the expected "
                                f"{size}; refusing to copy it")
        offset = part.stat().st_size if part.exists() else 0
        offset = offset if offset <= total else 0
        progress.start(total, offset)
        with open(src, "rb") as fin, open_for_write(part, append=bool(offset)) as fout:
            fin.seek(offset)
            while chunk := fin.read(CHUNK):
                self._check_deadline(what)
                fout.write(chunk)
                progress.advance(len(chunk))

    # -- internals --------------------------------------------------------------------
    def _with_retries(self, once: Callable[[], bytes | None], url: str, what: str):
        attempt = 0
        while True:
            try:
                return once()
            except requests.exceptions.SSLError:
                raise TransferError(f"{what}: TLS verification failed for {urls.redact(url)}") from None
            except RETRYABLE as e:
                attempt += 1
                reason = _describe(e)
                if attempt >= self.retry.attempts:
                    raise TransferError(f"{what}: giving up on {urls.redact(url)} after {attempt} "
                                        f"attempts ({reason})") from None
                delay = self.retry.delay(attempt)
                self._check_deadline(what, after=delay)
                log.warning("%s: %s; retry %d/%d in %.2fs", what, reason, attempt,
                            self.retry.attempts - 1, delay)
                self.sleep(delay)

    def _check_deadline(self, what: str, after: float = 0.0) -> None:
        """Raise `DeadlineError` when the download's deadline has passed (or will, `after` seconds on)."""
        if self.deadline_at is None or self.clock() + after < self.deadline_at:
            return
        assert self.limits.deadline is not None
        raise DeadlineError(f"{what}: the download's deadline ({_duration(self.limits.deadline)}) passed; "
                            "partial files are kept: re-run the same command to resume (a longer deadline: "
                            "--deadline / TransferLimits.deadline)")

    def _stream(self, resp: requests.Response, write: Callable[[bytes], object], what: str,
                limit: int | None, too_many: Callable[[], AcquireError], decode: bool = False,
                progress: Progress | None = None) -> int:
        """Copy the body of `resp` through `write`; the number of bytes.

        Reads with `read1`, which returns as soon as any bytes arrive, so the deadline and
        the minimum speed are checked at least once per read timeout even on a dripping
        server. More than `limit` bytes raises `too_many()` before the excess is written.
        """
        pace = _Pace(self.limits, self.clock)
        received = 0
        while True:
            self._check_deadline(what)
            chunk = resp.raw.read1(CHUNK, decode_content=decode)
            if not chunk:
                return received
            if limit is not None and received + len(chunk) > limit:
                raise too_many()
            write(chunk)
            received += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
            pace.check(received)

    def _document_too_big(self, what: str, where: str) -> OversizeError:
        return OversizeError(f"{what}: {where} is larger than the {_mib(self.limits.max_manifest_bytes)} cap for "
                             "checksum manifests and API answers; refusing to read it (raise "
                             "TransferLimits.max_manifest_bytes if the publisher's file really is this big)")

    def _request(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        resp = self.session.get(url, headers=headers or {}, stream=True, auth=self.auth_for(url),
                                timeout=(self.retry.connect_timeout, self.retry.read_timeout))
        try:
            self._check_status(resp, url)
        except BaseException:
            resp.close()
            raise
        return resp

    def _check_status(self, resp: requests.Response, url: str) -> None:
        code = resp.status_code
        if code < 400:
            return
        shown = urls.redact(url)
        if code in (401, 403):
            raise AccessDeniedError(f"HTTP {code} ({'unauthorized' if code == 401 else 'forbidden'}) "
                                    f"for {shown}: access denied. To get access: {self.access_help}")
        if code in (404, 410):
            raise NotFoundError(f"HTTP {code} (not found) for {shown}: the file is not at this "
                                "address; the catalog entry or the mirror may be out of date")
        if code == 429 or code >= 500:
            raise _Retryable(f"HTTP {code} from {shown}")
        raise AcquireError(f"HTTP {code} for {shown}")

    def _get_once(self, url: str, what: str) -> bytes:
        cap = self.limits.max_manifest_bytes or None
        with self._request(url) as resp:
            too_big = lambda: self._document_too_big(what, urls.redact(url))  # noqa: E731
            if cap is not None and (_content_length(resp) or 0) > cap:
                raise too_big()
            body = bytearray()  # a body shorter than its Content-Length: urllib3 raises (retried)
            self._stream(resp, body.extend, what, cap, too_big, decode=True)
            return bytes(body)

    def _fetch_once(self, url: str, part: Path, progress: Progress, what: str, size: int | None) -> None:
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:  # longer than the file: not a prefix of it
            part.unlink()
            offset = 0
        headers = {"Range": f"bytes={offset}-"} if offset else None
        with self.session.get(url, headers=headers or {}, stream=True, auth=self.auth_for(url),
                              timeout=(self.retry.connect_timeout, self.retry.read_timeout)) as resp:
            if resp.status_code == 416 and offset:
                log.info("%s: server rejected the resume range; restarting", urls.redact(url))
                part.unlink()
                raise _Retryable("range not satisfiable; restarting from byte 0")
            self._check_status(resp, url)
            resumed = bool(offset) and resp.status_code == 206 and _range_start(resp) == offset
            if offset and not resumed:
                log.info("%s: server ignored the Range request; restarting", urls.redact(url))
                offset = 0
            expected = _content_length(resp)
            room = None if size is None else size - offset

            def too_many(announced: int | None = None) -> OversizeError:
                sent = f"announces {offset + announced}" if announced is not None else "sent more than"
                return OversizeError(f"{what}: {urls.redact(url)} {sent} bytes, but the file has {size}; "
                                     "refused and the partial file deleted (a wrong file on the server?)")

            if room is not None and expected is not None and expected > room:
                raise too_many(expected)
            progress.start(offset + expected if expected is not None else size, offset)
            with open_for_write(part, append=resumed) as out:
                received = self._stream(resp, out.write, what, room, too_many, progress=progress)
            if expected is not None and received != expected:
                raise _Retryable(f"transfer cut after {offset + received} bytes")


def _content_length(resp: requests.Response) -> int | None:
    length = resp.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _describe(e: BaseException) -> str:
    if isinstance(e, _Retryable):
        return str(e)
    if isinstance(e, requests.Timeout | urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(e, requests.exceptions.ChunkedEncodingError | urllib3.exceptions.ProtocolError):
        return "connection dropped during transfer"
    if isinstance(e, requests.ConnectionError):
        return "connection failed"
    return type(e).__name__
