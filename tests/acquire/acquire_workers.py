"""Process entry point for the multiprocess lock test (importable by spawned children)."""

from __future__ import annotations


def download_in_process(entry_json: str, dest: str, mirror: str) -> None:
    from climb.acquire import download
    from climb.catalog.schema import DatasetEntry

    download(DatasetEntry.model_validate_json(entry_json), dest=dest, mirror=mirror, quiet=True)
