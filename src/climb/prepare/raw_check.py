"""Local copies are verified too: every file a build reads is checked against the catalog.

`climb prepare NAME --raw DIR` (and a prepare from climb's download cache) looks up, for each
file the builder reads (`Builder.source_files`), the checksum the catalog pins for it:

1. a `files` entry of one of the entry's sources with `sha256` and/or `md5` (path relative
   to the raw directory), as for MedMNIST and the YAIB / MoleculeNet files;
2. an entry of the publisher's manifest (e.g. PhysioNet's `SHA256SUMS.txt`) found in the raw
   directory, when the catalog pins that manifest itself (`manifest_sha256`) and the copy's
   hash equals the pin; a manifest the catalog does not pin proves nothing and is not used.

A file whose hash differs from its pin is an error naming the file and both hashes (a
damaged or different copy). A file with no pin is recorded as unverified: the result goes
into the dataset card (`raw_files`, through `Builder.card_extras`) and, unless quiet, one
line on stderr says how many files could not be verified.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from climb.prepare.builder import Builder, PrepareError


class ChecksumMismatchError(PrepareError):
    """A raw file differs from the checksum the catalog pins for it."""


def pinned_checksums(builder: Builder, raw: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """`{relative path: {algo: hex}}` the catalog pins for files of `raw`, and notes on manifests not used."""
    from climb.acquire.checksums import hash_file, parse_manifest
    from climb.catalog import get

    pins: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    try:
        sources = get(builder.catalog_id).sources
    except KeyError:  # a dataset that is its own entry (declared by a user): nothing is pinned
        return pins, [f"{builder.catalog_id!r} has no catalog entry, so no checksum is pinned"]
    for source in sources:
        part = f"{source.subdir}/" if source.subdir else ""  # a part of a multi-part entry lives in its folder
        for f in source.files:
            sums = {algo: getattr(f, algo) for algo in ("sha256", "md5") if getattr(f, algo)}
            if sums:
                pins.setdefault(part + f.path, {}).update(sums)
        manifest = raw / part / source.manifest if source.manifest else None
        if manifest is None or not manifest.is_file():
            continue
        if source.manifest_sha256 is None:
            notes.append(f"{part}{source.manifest}: the catalog does not pin this manifest, so it verifies nothing")
        elif hash_file(manifest, ("sha256",))["sha256"] != source.manifest_sha256:
            notes.append(f"{part}{source.manifest}: differs from the manifest the catalog pins (a modified or partial "
                         "copy); its entries are not used")
        else:
            text = manifest.read_text(encoding="utf-8", errors="replace")
            for path, digest in parse_manifest(text, source.manifest_algo, str(manifest)).items():
                pins.setdefault(part + path, {}).setdefault(source.manifest_algo, digest)
    return pins, notes


def check_raw_files(builder: Builder, raw: Path, quiet: bool = True) -> dict[str, Any]:
    """Verify the files `builder` reads from `raw` against the catalog; record the result on the builder.

    Raises ChecksumMismatchError naming the first file that differs from its pinned checksum.
    """
    from climb.acquire.checksums import hash_file, mismatches

    raw = Path(raw)
    pins, notes = pinned_checksums(builder, raw)
    verified, unverified = [], []
    for path in sorted(set(builder.source_files(raw))):
        try:
            rel = path.relative_to(raw).as_posix()
        except ValueError:
            rel = str(path)
        expected = pins.get(rel)
        if not expected:
            unverified.append(rel)
            continue
        bad = mismatches(hash_file(path, tuple(expected)), expected)
        if bad:
            algo, want, got = bad[0]
            raise ChecksumMismatchError(path, f"{algo} {got} differs from the catalog's pinned {want} for "
                                              f"{rel} (a damaged or different copy: download it again)")
        verified.append(rel)
    result = {"verified": len(verified), "unverified": len(unverified), "unverified_files": unverified,
              "checked_against": "catalog pins (source files' sha256/md5, pinned publisher manifests)",
              **({"notes": notes} if notes else {})}
    builder.raw_verification = result
    if unverified and not quiet:
        print(f"note: {len(unverified)} of {len(verified) + len(unverified)} source file(s) of {builder.name} have "
              f"no checksum pinned in the catalog: prepared as unverified (card: raw_files)", file=sys.stderr)
    return result


__all__ = ["ChecksumMismatchError", "check_raw_files", "pinned_checksums"]
