"""Small builders shared by the acquisition tests (catalog entries, synthetic files)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from climb.catalog.schema import DatasetEntry


def make_entry(source: dict, *, id: str = "toyset", access: str = "open", **extra) -> DatasetEntry:
    """A minimal valid catalog entry around one `source` mapping."""
    data = dict(id=id, name="Toy set", modality="ECG", family="1d", domain="cardiology",
                task="binary", labels=["a", "b"], access=access, license="CC0",
                citation="none", homepage="https://example.org/toyset/", sources=[source])
    data.update(extra)
    return DatasetEntry.model_validate(data)


def write_files(root: Path, sizes: dict[str, int]) -> dict[str, str]:
    """Random files of the given sizes under `root`; returns `{path: sha256}`."""
    out = {}
    for rel, size in sizes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def https_entry(sums: dict[str, str], **kw) -> DatasetEntry:
    """An https source pinning every file's sha256 (files live at a loopback mirror in tests)."""
    files = [{"path": p, "sha256": h} for p, h in sums.items()]
    return make_entry({"kind": "https", "base_url": "https://example.org/toyset/", "files": files}, **kw)
