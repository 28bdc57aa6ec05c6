"""URL policy: resolve, check and redact every URL the downloader touches.

resolve: `base_url + path` (or a file's own `url`), or `mirror + path`;
check: https only, plain http only to loopback hosts (mirrors, tests);
redact: strip userinfo and secret-looking query values before any URL is logged,
shown or written.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from climb.acquire.errors import InsecureURLError

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
_SECRET_QUERY_KEYS = {"token", "access_token", "key", "api_key", "apikey", "signature", "sig",
                      "password", "x-amz-signature", "x-amz-credential", "x-amz-security-token"}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str) -> str:
    """`url` without userinfo and with secret query values replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def check_allowed(url: str) -> None:
    """Raise `InsecureURLError` unless `url` is https, or http to a loopback host."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InsecureURLError(
            f"refusing a URL with embedded credentials ({redact(url)}); "
            "use environment variables or ~/.netrc instead")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise InsecureURLError(
        f"refusing {redact(url)}: only https:// URLs are allowed "
        "(plain http:// only to 127.0.0.1, localhost or ::1)")


def join(prefix: str, path: str) -> str:
    """`prefix` + URL-quoted relative `path`, with exactly one slash between them."""
    return prefix.rstrip("/") + "/" + quote(path, safe="/~-._")


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
