"""Mirrors: a stand-in for the official host with the same relative layout.

A mirror is a local directory or a URL prefix (`http://127.0.0.1:PORT/mitdb/` or an
https server). Files resolve as `mirror + path` instead of `base_url + path`. A
local-directory mirror may carry a `MANIFEST.sha256` (`<sha256>  ./path` lines) whose
checksums are allowed to cover files that the publisher's manifest lacks (e.g. a
trimmed SHA256SUMS.txt in a subset copy); that fallback is always logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from climb.acquire import urls
from climb.acquire.checksums import parse_manifest
from climb.acquire.errors import AcquireError

MIRROR_MANIFEST = "MANIFEST.sha256"


@dataclass(frozen=True)
class Mirror:
    """Exactly one of `url` (a checked URL prefix) or `directory` is set."""

    url: str | None = None
    directory: Path | None = None

    @classmethod
    def parse(cls, spec: str | Path) -> "Mirror":
        text = str(spec)
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            urls.check_allowed(text)
            return cls(url=text if text.endswith("/") else text + "/")
        if scheme == "file":
            text = urlsplit(text).path
        directory = Path(text).expanduser()
        if not directory.is_dir():
            raise AcquireError(f"mirror {text!r} is neither an http(s) URL nor an existing directory")
        return cls(directory=directory.resolve())

    def describe(self) -> str:
        return urls.redact(self.url) if self.url else str(self.directory)

    def locate(self, path: str) -> tuple[str | None, Path | None]:
        """`(url, local_path)` of `path` in the mirror; one of them is None."""
        if self.url:
            return urls.join(self.url, path), None
        assert self.directory is not None
        return None, self.directory / path

    def local_checksums(self) -> dict[str, str]:
        """`{path: sha256}` from a local mirror's MANIFEST.sha256 (empty if none)."""
        if self.directory is None:
            return {}
        manifest = self.directory / MIRROR_MANIFEST
        if not manifest.is_file():
            return {}
        return parse_manifest(manifest.read_text(), "sha256", str(manifest))
