"""Mirrors: a stand-in for the official host with the same relative layout.

A mirror is a local directory or a URL prefix (`http://127.0.0.1:PORT/mitdb/` or an
https server). Files resolve as `mirror + path` instead of `base_url + path`. A mirror
may carry a `MANIFEST.sha256` (`<sha256>  ./path` lines). By default it is consulted
only to refuse, before any transfer, files that differ from the official ones; in
trusted-mirror mode (opt-in) it is the checksum authority and the file list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from climb.acquire import urls
from climb.acquire.checksums import parse_manifest
from climb.acquire.errors import AcquireError, AcquireUsageError, NotFoundError

if TYPE_CHECKING:
    from climb.acquire.transport import Transport

MIRROR_MANIFEST = "MANIFEST.sha256"


@dataclass(frozen=True)
class Mirror:
    """Exactly one of `url` (a checked URL prefix) or `directory` is set."""

    url: str | None = None
    directory: Path | None = None

    @classmethod
    def parse(cls, spec: str | Path) -> "Mirror":
        """A mirror from a URL prefix, a `file://` URL or a directory; an empty spec is refused.

        (`Path("")` is the current directory: an empty `--mirror ""`, e.g. from an unset shell
        variable, would otherwise silently mirror whatever directory climb runs in.)
        """
        text = str(spec)
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            urls.check_allowed(text)
            return cls(url=text if text.endswith("/") else text + "/")
        if scheme == "file":
            text = urlsplit(text).path
        if not text.strip():
            raise AcquireUsageError(f"mirror {str(spec)!r} is empty; give a directory or an http(s) URL prefix")
        directory = Path(text).expanduser()
        if not directory.is_dir():
            raise AcquireUsageError(f"mirror {text!r} is neither an http(s) URL nor an existing directory")
        return cls(directory=directory.resolve())

    def describe(self) -> str:
        return urls.redact(self.url) if self.url else str(self.directory)

    def sub(self, folder: str) -> "Mirror":
        """The mirror of one part of a multi-part entry: `folder/` of this mirror."""
        if self.url:
            return Mirror(url=urls.join(self.url, folder.rstrip("/") + "/"))
        assert self.directory is not None
        return Mirror(directory=self.directory / folder)

    def locate(self, path: str) -> tuple[str | None, Path | None]:
        """`(url, local_path)` of `path` in the mirror; one of them is None."""
        if self.url:
            return urls.join(self.url, path), None
        assert self.directory is not None
        return None, self.directory / path

    def checksums(self, transport: "Transport", dataset: str) -> dict[str, str]:
        """`{path: sha256}` from the mirror's MANIFEST.sha256, local or over HTTP(S).

        Raises a one-line error naming the mirror when it has no such manifest.
        """
        url, local = self.locate(MIRROR_MANIFEST)
        where = f"{self.describe().rstrip('/')}/{MIRROR_MANIFEST}"
        missing = (f"{dataset}: a trusted mirror must carry {MIRROR_MANIFEST} (sha256 of every file), "
                   f"but {where} does not exist")
        if local is not None:
            if not local.is_file():
                raise AcquireError(missing)
            data = transport.read_local(local, f"{dataset}: mirror checksum manifest")
            return parse_manifest(data.decode("utf-8", "replace"), "sha256", str(local))
        assert url is not None
        try:
            data = transport.get_bytes(url, f"{dataset}: mirror checksum manifest")
        except NotFoundError:
            raise AcquireError(missing) from None
        return parse_manifest(data.decode("utf-8", "replace"), "sha256", urls.redact(url))
