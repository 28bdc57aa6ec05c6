"""Publisher metadata APIs that list files with checksums: Zenodo and GitHub releases.

Used to fill gaps: when a catalog entry lists no files, or files without checksums,
the Zenodo files API (md5) or the GitHub release assets API (sha256 `digest`) says
what the official files are. A mirror replaces the file host, not these APIs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from climb.acquire.errors import AcquireError
from climb.acquire.transport import Transport

ZENODO_API = "https://zenodo.org/api/records/"
GITHUB_API = "https://api.github.com/repos/"
_GITHUB_RELEASE = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/releases/download/([^/]+)/?$")


@dataclass
class RemoteFile:
    """One file as a publisher API describes it."""

    path: str
    url: str | None = None
    digests: dict[str, str] = field(default_factory=dict)
    size: int | None = None


def _json(transport: Transport, url: str, what: str) -> dict:
    try:
        data = json.loads(transport.get_bytes(url, what))
    except ValueError:
        raise AcquireError(f"{what}: the answer from {url} is not JSON") from None
    if not isinstance(data, dict):
        raise AcquireError(f"{what}: unexpected answer from {url}")
    return data


def zenodo_files(transport: Transport, record: int) -> dict[str, RemoteFile]:
    """Files of Zenodo record `record` with their md5 (InvenioRDM and legacy layouts)."""
    data = _json(transport, f"{ZENODO_API}{record}", f"Zenodo record {record}")
    items = data.get("files")
    if isinstance(items, dict):  # /files endpoint shape: {"entries": [...]}
        items = items.get("entries")
    out: dict[str, RemoteFile] = {}
    for item in items or []:
        key = item.get("key") or item.get("filename")
        if not key:
            continue
        algo, _, hexdigest = str(item.get("checksum", "")).partition(":")
        links = item.get("links") or {}
        out[key] = RemoteFile(
            path=key,
            url=links.get("content") or links.get("self") or links.get("download"),
            digests={algo: hexdigest.lower()} if algo in ("md5", "sha256") and hexdigest else {},
            size=item.get("size") or item.get("filesize"),
        )
    if not out:
        raise AcquireError(f"Zenodo record {record} lists no files")
    return out


def github_release_files(transport: Transport, base_url: str | None) -> dict[str, RemoteFile]:
    """Assets of the GitHub release that `base_url` points into (sha256 from `digest`)."""
    m = _GITHUB_RELEASE.match(base_url or "")
    if not m:
        return {}
    owner, repo, tag = m.groups()
    data = _json(transport, f"{GITHUB_API}{owner}/{repo}/releases/tags/{tag}",
                 f"GitHub release {owner}/{repo}@{tag}")
    out: dict[str, RemoteFile] = {}
    for asset in data.get("assets") or []:
        algo, _, hexdigest = str(asset.get("digest") or "").partition(":")
        out[asset["name"]] = RemoteFile(
            path=asset["name"], url=asset.get("browser_download_url"),
            digests={algo: hexdigest.lower()} if algo == "sha256" and hexdigest else {},
            size=asset.get("size"))
    return out
