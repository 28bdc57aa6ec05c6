"""Transport: fetch one URL or mirror file into `<dest>/<path>.part`, resuming and retrying.

fetch: GET with `Range: bytes=<received>-` when a `.part` exists (206 -> append,
200 -> the server ignored Range, restart; 416 -> restart), stream raw bytes (no
content decoding) to disk; retry 5xx/429, connection errors, timeouts and cut
transfers with exponential back-off; map 401/403/404 to actionable errors. TLS
verification is always on, redirects are checked against the URL policy, and auth is
attached only for hosts that need it. Local-directory mirrors are copied the same way.
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
from climb.acquire.errors import AccessDeniedError, AcquireError, NotFoundError, TransferError

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


class Progress(Protocol):
    def start(self, total: int | None, completed: int) -> None: ...
    def advance(self, n: int) -> None: ...


class _NoProgress:
    def start(self, total: int | None, completed: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


class _Retryable(Exception):
    """A failure worth retrying (5xx, 429, a short body)."""


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
    the sentence telling the user how to get access, used for 401/403.
    """

    def __init__(self, retry: RetryPolicy | None = None,
                 auth_for: Callable[[str], requests.auth.AuthBase | None] = lambda url: None,
                 access_help: str = "", sleep: Callable[[float], None] = time.sleep) -> None:
        self.retry = retry or RetryPolicy()
        self.auth_for = auth_for
        self.access_help = access_help
        self.sleep = sleep
        self.session = SafeSession()
        self.session.verify = True
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})

    def close(self) -> None:
        self.session.close()

    # -- public -----------------------------------------------------------------------
    def get_bytes(self, url: str, what: str) -> bytes:
        """The whole body of `url` (a manifest or API answer), with retries."""
        urls.check_allowed(url)
        return self._with_retries(lambda: self._get_once(url), url, what)

    def fetch(self, url: str, part: Path, what: str, progress: Progress | None = None) -> None:
        """Download `url` into `part`, resuming from the bytes already in it."""
        urls.check_allowed(url)
        part.parent.mkdir(parents=True, exist_ok=True)
        self._with_retries(lambda: self._fetch_once(url, part, progress or _NoProgress()), url, what)

    @staticmethod
    def copy_local(src: Path, part: Path, what: str, progress: Progress | None = None) -> None:
        """Copy a local mirror file into `part`, resuming from the bytes already in it."""
        if not src.is_file():
            raise NotFoundError(f"{what}: not found in the mirror directory: {src}")
        progress = progress or _NoProgress()
        part.parent.mkdir(parents=True, exist_ok=True)
        size = src.stat().st_size
        offset = part.stat().st_size if part.exists() else 0
        offset = offset if offset <= size else 0
        progress.start(size, offset)
        with open(src, "rb") as fin, open(part, "ab" if offset else "wb") as fout:
            fin.seek(offset)
            while chunk := fin.read(CHUNK):
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
                log.warning("%s: %s; retry %d/%d in %.2fs", what, reason, attempt,
                            self.retry.attempts - 1, delay)
                self.sleep(delay)

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

    def _get_once(self, url: str) -> bytes:
        with self._request(url) as resp:
            return resp.content

    def _fetch_once(self, url: str, part: Path, progress: Progress) -> None:
        offset = part.stat().st_size if part.exists() else 0
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
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            progress.start(offset + expected if expected is not None else None, offset)
            received = 0
            with open(part, "ab" if resumed else "wb") as out:
                for chunk in resp.raw.stream(CHUNK, decode_content=False):
                    out.write(chunk)
                    received += len(chunk)
                    progress.advance(len(chunk))
            if expected is not None and received != expected:
                raise _Retryable(f"transfer cut after {offset + received} bytes")


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
