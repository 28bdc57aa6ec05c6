"""A prepared dataset as a Hugging Face Hub dataset: a folder in the hub's layout, pushed and pulled back.

`export_hub_folder(store, out)` writes the layout the hub and `datasets.load_dataset` read for
parquet datasets (the `configs:` block of the card's YAML maps each split to its files):

    README.md                                 dataset card: YAML (license, pretty_name, configs, tags)
                                              + licence, citation, splits with sample and patient
                                              counts, class counts, card fingerprint, builder version
    data/<split>-00000-of-00001.parquet       the rows of `to_hf_dataset` (features in the schema metadata)
    climb_card.json                           the prepared store's sealed card, as built
    climb_hub.json                            sha256 and size of every data file, the card fingerprint

`push_hub_dataset(folder, "ORG/NAME")` uploads it (`climb.hubio`: token from `HF_TOKEN` only).
`load_hub_dataset(source, split)` takes a folder or `ORG/NAME` (through `huggingface_hub.snapshot_download`,
so `HF_HUB_OFFLINE=1` reads the hub cache), checks every data file against `climb_hub.json`
before use, and returns the split as a `datasets.Dataset`.

Only datasets whose catalog licence is an open licence the hub names (`HUB_LICENSES`) are
pushed; a credentialed or registration dataset, or one whose licence forbids derivatives or
is not a known open licence, is refused by name (the local folder can still be written).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from climb.errors import ClimbError
from climb.loading.export import to_hf_dataset
from climb.prepare.integrity import sha256_file
from climb.prepare.store import PreparedDataset
from climb.safeio import atomic_write_json, atomic_write_text, open_for_write

CARD_FILE, MANIFEST_FILE = "climb_card.json", "climb_hub.json"
#: catalog licence text (before any parenthesis) -> the hub's licence id
HUB_LICENSES = {"cc by 4.0": "cc-by-4.0", "cc by 3.0": "cc-by-3.0", "cc0": "cc0-1.0", "cc0 1.0": "cc0-1.0",
                "cc by-sa 4.0": "cc-by-sa-4.0", "cc by-nc 4.0": "cc-by-nc-4.0", "cc by-nc-sa 4.0": "cc-by-nc-sa-4.0",
                "cc by-nc-sa 3.0": "cc-by-nc-sa-3.0", "odbl 1.0": "odbl", "odc-by 1.0": "odc-by", "mit": "mit",
                "apache 2.0": "apache-2.0"}
TASK_CATEGORY = {"image": "image-classification", "volume": "image-classification", "video": "video-classification",
                 "text": "text-classification", "tabular": "tabular-classification"}


class HubDatasetError(ClimbError, ValueError):
    """A hub dataset folder that is incomplete or altered, or a push that the licence does not allow."""


def hub_license(licence: str) -> str | None:
    """The hub's id of a catalog licence (`CC BY 4.0 (UCI ...)` -> `cc-by-4.0`), None when it is not a known one."""
    return HUB_LICENSES.get(re.split(r"\s*[(;]", licence.strip(), maxsplit=1)[0].lower())


def _entry(store: PreparedDataset) -> Any:
    from climb.catalog import get

    try:
        return get(store.card["catalog_id"])
    except (KeyError, ClimbError):  # a declared dataset: its entry is not in the catalog
        return None


def check_pushable(store: PreparedDataset) -> str:
    """The hub licence id of `store`, or an error saying why its data may not be redistributed."""
    entry = _entry(store)
    if entry is None:
        raise HubDatasetError(f"{store.name}: no catalog entry states its licence; push refused (the folder "
                              "can be shared by hand once its terms are checked)")
    if entry.access.value != "open":
        raise HubDatasetError(f"{store.name}: {entry.access.value} access ({entry.license}): its data may not be "
                              "redistributed; push refused")
    licence = hub_license(entry.license)
    if licence is None or "-nd-" in licence:
        raise HubDatasetError(f"{store.name}: licence {entry.license!r} is not an open licence that allows "
                              "sharing a derived dataset; push refused")
    return licence


def data_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def export_hub_folder(store: PreparedDataset, out: Path, splits: list[str] | None = None,
                      limit: int | None = None) -> Path:
    """Write `store` (all splits, or `splits`) as a hub dataset folder at `out`; returns `out`."""
    out = Path(out)
    splits = list(store.card["splits"]) if splits is None else splits
    (out / "data").mkdir(parents=True, exist_ok=True)
    files = {}
    for split in splits:
        path = out / data_file(split)
        with open_for_write(path) as f:
            to_hf_dataset(store, split, limit=limit).to_parquet(f)
        files[data_file(split)] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    atomic_write_json(out / CARD_FILE, store.card)
    atomic_write_json(out / MANIFEST_FILE, {"dataset": store.name, "fingerprint": store.card["fingerprint"],
                                            "limit": limit, "files": files})
    atomic_write_text(out / "README.md", dataset_card(store, splits, limit))
    return out


def dataset_card(store: PreparedDataset, splits: list[str], limit: int | None = None) -> str:
    """README.md of the hub folder: YAML metadata (huggingface_hub's `DatasetCardData`) and the card text."""
    from huggingface_hub import DatasetCardData

    card, entry = store.card, _entry(store)
    licence = entry.license if entry is not None else "not stated (a declared dataset)"
    hub_id = hub_license(licence) if entry is not None else None
    kinds = {m["kind"] for n, m in card["fields"].items() if n != "label"}
    data = DatasetCardData(
        license=hub_id or "other",  # the hub wants a slug as the name of a licence it does not know
        license_name=None if hub_id else re.sub(r"[^a-z0-9]+", "-", licence.lower()).strip("-"),
        pretty_name=entry.name if entry is not None else card["name"],
        task_categories=sorted({TASK_CATEGORY[k] for k in kinds if k in TASK_CATEGORY}) or None,
        tags=["climb", "medical", *sorted(kinds)],
        configs=[{"config_name": "default", "data_files": [{"split": s, "path": data_file(s)} for s in splits]}])
    rows = "\n".join(f"| {s} | {card['splits'][s]['num_samples']} | {card['splits'][s]['num_patients']} | "
                     + ", ".join(f"{k}: {v}" for k, v in card["splits"][s]["class_counts"].items()) + " |"
                     for s in splits)
    partial = f"\n**Only the first {limit} samples of each split were exported.**\n" if limit is not None else ""
    citation = entry.citation if entry is not None and entry.citation else "not stated"
    homepage = f"\nSource: {entry.homepage}\n" if entry is not None and entry.homepage else ""
    return f"""---
{data.to_yaml()}
---

# {card['name']}

{entry.name if entry is not None else card['name']}, prepared by climb (`pip install climb-bench`) builder
`{card['builder']}` version {card['builder_version']} (climb {card['climb_version']}, parameters
`{json.dumps(card['params'], sort_keys=True)}`). Task: {card['task']}; labels: {', '.join(card['label_names'])}.
{homepage}
## Licence

{licence}

## Citation

{citation}

## Splits

{card['split_policy']}
{partial}
| split | samples | patients | class counts |
|---|---|---|---|
{rows}

## Provenance

- card fingerprint: `{card['fingerprint']}`
- builder: `{card['builder']}` {card['builder_version']}
- source files (sha256): {', '.join(f'`{k}` {v}' for k, v in card['source_checksums'].items())}
- `{CARD_FILE}`: the prepared store's sealed card; `{MANIFEST_FILE}`: sha256 of every data file

Load it back with `climb.loading.hub.load_hub_dataset("ORG/NAME", "test")` or `datasets.load_dataset("ORG/NAME")`.
"""


def push_hub_dataset(folder: Path, repo: str, *, api: Any = None) -> str:
    """Upload a hub dataset folder to `repo` (a dataset repository; token from `HF_TOKEN`); the commit URL."""
    from climb.hubio import upload_folder

    manifest = verify_hub_folder(Path(folder))
    return upload_folder(Path(folder), repo, "dataset", f"climb export {manifest['dataset']} "
                         f"(fingerprint {manifest['fingerprint'][:12]})", api=api, error=HubDatasetError)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise HubDatasetError(f"{folder}: no {MANIFEST_FILE}; not a climb hub dataset folder")
    return json.loads(path.read_text())


def verify_hub_folder(folder: Path) -> dict[str, Any]:
    """Check every data file of the folder against `climb_hub.json` (size, then sha256); returns the manifest."""
    manifest = read_manifest(folder)
    card = json.loads((folder / CARD_FILE).read_text())
    if card.get("fingerprint") != manifest["fingerprint"]:
        raise HubDatasetError(f"{folder / CARD_FILE}: fingerprint differs from {MANIFEST_FILE}")
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            raise HubDatasetError(f"{path}: missing or altered (size/sha256 differ from {MANIFEST_FILE})")
    return manifest


def load_hub_dataset(source: str | Path, split: str, *, revision: str | None = None,
                     cache_dir: str | Path | None = None):
    """Split `split` of a hub dataset (a folder, or `ORG/NAME` via the hub or its offline cache), verified first."""
    folder = Path(source)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(source), repo_type="dataset", revision=revision, cache_dir=cache_dir))
    manifest = verify_hub_folder(folder)
    if data_file(split) not in manifest["files"]:
        splits = [Path(n).name.split("-", 1)[0] for n in manifest["files"]]
        raise HubDatasetError(f"{source}: no split {split!r}; splits: {splits}")
    from datasets import load_dataset

    from climb.config import climb_home

    return load_dataset(str(folder), split=split, cache_dir=str(climb_home() / "hf_cache"))


__all__ = ["HUB_LICENSES", "HubDatasetError", "check_pushable", "dataset_card", "export_hub_folder", "hub_license",
           "load_hub_dataset", "push_hub_dataset", "verify_hub_folder"]
