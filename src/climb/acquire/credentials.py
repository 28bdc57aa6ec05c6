"""Credentials: found in the environment or the user's own token files, never elsewhere.

PhysioNet: `PHYSIONET_USERNAME` / `PHYSIONET_PASSWORD`, else `~/.netrc` (machine
physionet.org); sent as HTTP basic auth via `requests`, and only to physionet.org.
Kaggle: `KAGGLE_USERNAME` / `KAGGLE_KEY`, `KAGGLE_API_TOKEN`, or the token files the
official `kaggle` package reads. Nothing here ever formats a secret into a string.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

from requests.auth import HTTPBasicAuth

from climb.catalog.schema import Access, DatasetEntry, SourceKind

PHYSIONET_HOST = "physionet.org"
PHYSIONET_ENV = ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD")


class _RedactedBasicAuth(HTTPBasicAuth):
    """Basic auth whose repr never shows the secret (e.g. in a debugger or a log)."""

    def __repr__(self) -> str:
        return "<basic auth: redacted>"


def physionet_auth() -> HTTPBasicAuth | None:
    """Basic auth for physionet.org from the environment, else ~/.netrc; None if absent."""
    user, password = (os.environ.get(k) for k in PHYSIONET_ENV)
    if user and password:
        return _RedactedBasicAuth(user, password)
    try:
        found = netrc.netrc().authenticators(PHYSIONET_HOST)
    except (OSError, netrc.NetrcParseError):
        found = None
    if found and found[0] and found[2]:
        return _RedactedBasicAuth(found[0], found[2])
    return None


def is_physionet_host(host: str) -> bool:
    return host == PHYSIONET_HOST or host.endswith("." + PHYSIONET_HOST)


def access_help(entry: DatasetEntry, kind: SourceKind) -> str:
    """What the user must do to be granted access to `entry` (no secrets, ever)."""
    if kind == SourceKind.physionet:
        steps = ("set the environment variables PHYSIONET_USERNAME and PHYSIONET_PASSWORD "
                 "(or add 'machine physionet.org login <user> password <password>' to ~/.netrc)")
        if entry.access == Access.credentialed:
            steps += (", complete PhysioNet credentialing (training + identity check) and sign "
                      f"the data use agreement at {entry.homepage}")
        elif entry.access == Access.registration:
            steps += f", and accept the data use agreement at {entry.homepage}"
        else:
            steps += f" if the files at {entry.homepage} require a login"
        return steps
    if kind == SourceKind.kaggle:
        return kaggle_help()
    text = f"check that your account may access it at {entry.homepage}"
    if entry.access != Access.open:
        text = f"request access / accept the data use agreement at {entry.homepage}"
    return text


def kaggle_help() -> str:
    return ("create an API token at https://www.kaggle.com/settings (API -> Create New Token) and "
            "save it as ~/.kaggle/kaggle.json (or ~/.config/kaggle/kaggle.json, chmod 600), or set "
            "KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN) in the environment")


def kaggle_token_available() -> bool:
    """Whether the official kaggle client will find a token (checked without importing it)."""
    env = os.environ
    if (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")) or env.get("KAGGLE_API_TOKEN"):
        return True
    home = Path.home()
    config_dirs = [Path(env["KAGGLE_CONFIG_DIR"])] if env.get("KAGGLE_CONFIG_DIR") else []
    config_dirs += [home / ".kaggle",
                    Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"]
    names = ("kaggle.json", "access_token", "access_token.txt")
    return any((d / n).is_file() for d in config_dirs for n in names)
