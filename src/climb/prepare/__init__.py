"""Prepare: verified raw files -> standard, versioned, memory-mapped datasets with a card.

    from climb.prepare import prepare, open_prepared
    ds = prepare("mitdb", raw="../shared/data/mitdb")   # or mirror=..., or after `climb download`
    ds.card["splits"]["train"]["class_counts"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb.config import prepared_root, raw_dir
from climb.prepare.builder import Builder, PrepareError, builder_names, create_builder, register_builder
from climb.prepare.raw_check import check_raw_files
from climb.prepare.splits import LeakageError, check_no_leakage, grouped_stratified_split
from climb.prepare.store import NotPreparedError, PreparedDataset, StoreError, build

__all__ = [
    "Builder", "LeakageError", "NotPreparedError", "PrepareError", "PreparedDataset", "StoreError", "builder_names",
    "check_no_leakage", "create_builder", "grouped_stratified_split", "open_prepared", "prepare", "register_builder",
]


def prepare(
    name: str,
    *,
    raw: str | Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    quiet: bool = True,
    trust_mirror: bool = False,
    workers: int = 1,
    cluster: Any = None,
    storage: str | None = None,
    download: bool = False,
    **params: Any,
) -> PreparedDataset:
    """Prepare dataset `name` (a registered builder) and return it.

    Raw files come from `raw` (a directory in the official layout), else from climb's raw
    cache (`climb download`); with `mirror`, missing raw files are first downloaded and
    verified from that mirror (`trust_mirror`: against the mirror's own MANIFEST.sha256, for
    mirrors that hold a modified subset of the official files). Re-running with unchanged sources and builder is a no-op;
    a store that fails verification is rebuilt. `workers` processes (or a Dask `cluster`: scheduler address or
    `distributed.Client`) prepare builders that declare parallel records; the output is the same for any number.
    `storage`: "arrays", "png" or "jpeg" (compact image/video storage); None keeps what an existing build uses.
    Every raw file is first checked against the checksum the catalog pins for it (`raw_check`).
    `download`: fetch and verify the raw files from the official source first (`climb.acquire.download`;
    credentialed sources need their credentials, as for `climb download`).
    """
    if raw is not None and download:
        from climb.errors import ClimbUsageError

        raise ClimbUsageError(f"{name}: download (--download) and raw (--raw DIR) exclude each other")
    builder = create_builder(name, **params)
    raw_path = Path(raw) if raw is not None else (builder.default_raw() or raw_dir(builder.catalog_id))
    if raw is None and (mirror is not None or download):
        from climb.acquire import download

        download(builder.catalog_id, mirror=mirror, quiet=quiet, trust_mirror=trust_mirror,
                 include=builder.download_include())
    if not raw_path.is_dir():
        raise PrepareError(raw_path, f"no raw data for {builder.catalog_id!r}: run "
                           f"`climb download {builder.catalog_id}` (or pass --download, --raw DIR or --mirror)")
    check_raw_files(builder, raw_path, quiet=quiet)
    return build(builder, raw_path, prepared_root(), force=force, quiet=quiet, workers=workers, cluster=cluster,
                 storage=storage)


def open_prepared(name: str) -> PreparedDataset:
    """Open an already prepared dataset by name (fails with the command to prepare it).

    Checks the store (climb.prepare.integrity): its card's seal, every shard's size, and the sha256
    of shards that changed on disk since they were last hashed; a failure names the file and the fix.
    """
    root = prepared_root() / name
    if not (root / "card.json").is_file():
        raise NotPreparedError(f"dataset {name!r} is not prepared; run `climb prepare {name}`")
    return PreparedDataset(root, check="cached")
