"""climb's own encoders, published as Hugging Face model folders (`climb publish RUN_DIR --out DIR`).

A training run directory (`climb train`: `config.yaml`, `encoder.safetensors`,
`results.csv`) becomes a folder that `create_encoder(DIR)` or, once pushed,
`create_encoder("hf-hub:ORG/REPO")` loads back:

- `model.safetensors`: the encoder checkpoint (encoder name and settings in its metadata);
- `config.json`: `climb_encoder`, `encoder_config`, `weights_sha256` (checked on every load),
  the input contract the training data fixed, and the training record (datasets with their
  card fingerprints, split sizes, licences; the protocol's settings);
- `README.md`: the model card (YAML header for the hub; datasets, splits, protocol, test
  metrics with 95 % CIs from `results.csv`, intended use, limitations, licences).

`push_folder` uploads it with `huggingface_hub`, the token taken from `HF_TOKEN` only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from climb.errors import ClimbError
from climb.models.registry import _checkpoint_meta, get_spec, verify_sha256
from climb.models.weights import PUBLISHED_CONFIG, PUBLISHED_WEIGHTS


class PublishError(ClimbError):
    """A run directory cannot be published (the message names the missing piece)."""


def publish(run_dir: str | Path, out: str | Path, *, licence: str | None = None) -> Path:
    """Write the model folder of `run_dir` to `out` (created; an existing non-empty folder is refused)."""
    from climb.safeio import atomic_write_bytes, atomic_write_json, atomic_write_text

    run_dir, out = Path(run_dir), Path(out)
    run = _read_run(run_dir)
    if out.exists() and any(out.iterdir()):
        raise PublishError(f"{out}: exists and is not empty; choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    weights = run_dir / "encoder.safetensors"
    verify_sha256(weights, None)
    data = weights.read_bytes()
    meta = _checkpoint_meta(weights)
    if meta is None:
        raise PublishError(f"{weights}: not a climb encoder checkpoint")
    encoder_config = json.loads(meta["climb_config"])
    datasets = [_dataset_record(name) for name in run["config"]["datasets"]]
    config = {
        "library_name": "climb",
        "climb_encoder": meta["climb_encoder"],
        "encoder_config": encoder_config,
        "weights_file": PUBLISHED_WEIGHTS,
        "weights_sha256": hashlib.sha256(data).hexdigest(),
        "input_contract": _contract(meta["climb_encoder"], datasets, run["config"]),
        "training": {"run": run_dir.name, "protocol": _protocol(run["config"]), "datasets": datasets,
                     "settings": {k: run["config"].get(k) for k in
                                  ("epochs", "batch_size", "lr", "seed", "limit_train_batches", "transform_options",
                                   "balance_loss", "model_selection", "pretrained")}},
        "climb_version": _climb_version(),
    }
    atomic_write_bytes(out / PUBLISHED_WEIGHTS, data)
    atomic_write_json(out / PUBLISHED_CONFIG, config)
    atomic_write_text(out / "README.md", model_card(config, run["results"], licence))
    return out


def _read_run(run_dir: Path) -> dict[str, Any]:
    import yaml

    missing = [f for f in ("config.yaml", "encoder.safetensors", "results.csv") if not (run_dir / f).is_file()]
    if missing:
        raise PublishError(f"{run_dir}: not a finished climb training run (missing {', '.join(missing)})")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    with open(run_dir / "results.csv", newline="") as f:
        results = list(csv.DictReader(f))
    return {"config": config, "results": results}


def _dataset_record(name: str) -> dict[str, Any]:
    """What the card of a prepared dataset says about it: fingerprint, splits, licence."""
    from climb import catalog
    from climb.config import prepared_root

    card_path = prepared_root() / name / "card.json"
    if not card_path.is_file():
        raise PublishError(f"{name}: prepared card {card_path} not found (publish where the run was trained, "
                           "or prepare the dataset again)")
    card = json.loads(card_path.read_text())
    catalog_id = card.get("catalog_id") or name
    try:
        entry = catalog.get(catalog_id)
        licence, citation = entry.license, entry.citation
    except (KeyError, ValueError, ClimbError):
        licence, citation = "unknown (not in the catalog)", None
    splits = {s: v.get("samples", v) if isinstance(v, dict) else v for s, v in (card.get("splits") or {}).items()}
    signal = next((m for m in card["fields"].values() if m.get("kind") in ("signal", "eeg", "image", "volume")), {})
    return {"name": name, "catalog_id": catalog_id, "fingerprint": card.get("fingerprint"), "task": card.get("task"),
            "label_names": card.get("label_names"), "splits": splits, "split_policy": card.get("split_policy"),
            "licence": licence, "citation": citation, "input": {k: signal.get(k) for k in
                                                                ("kind", "shape", "sampling_rate", "lead_names")}}


def _contract(encoder: str, datasets: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any] | None:
    """The input the training fixed: the widest dataset's rate, leads and window, or its image size."""
    kind = get_spec(encoder).modality
    inputs = [d["input"] for d in datasets if d["input"].get("kind") == kind and d["input"].get("shape")]
    if not inputs:
        return None
    widest = max(inputs, key=lambda i: i["shape"][0])
    options = config.get("transform_options") or {}
    if kind == "image":
        size = options.get("image_size") or widest["shape"][-1]
        return {"kind": "image", "image_size": int(size), "channels": int(widest["shape"][0])}
    if kind in ("signal", "eeg"):
        contract: dict[str, Any] = {"kind": kind, "channels": int(widest["shape"][0])}
        if widest.get("sampling_rate"):
            contract["sampling_rate"] = float(options.get("sampling_rate") or widest["sampling_rate"])
        if widest.get("lead_names"):
            contract["leads" if kind == "signal" else "channel_names"] = list(widest["lead_names"])
        contract["window"] = int(widest["shape"][-1])
        return contract
    return None


def _protocol(config: dict[str, Any]) -> str:
    names = config["datasets"]
    kind = "multitask" if len(names) > 1 else "single-task"
    probe = ", linear probe" if config.get("freeze_encoder") else ""
    return f"{kind} supervised ({' + '.join(names)}){probe}"


def _climb_version() -> str:
    from climb import __version__

    return __version__


def model_card(config: dict[str, Any], results: list[dict[str, str]], licence: str | None) -> str:
    """The README.md of a published encoder (hub YAML header + plain Markdown)."""
    training = config["training"]
    licences = sorted({d["licence"] for d in training["datasets"]})
    header = {"library_name": "climb", "license": licence or "other",
              "tags": ["climb", "clinical", get_spec(config["climb_encoder"]).modality, config["climb_encoder"]],
              "datasets": [d["catalog_id"] for d in training["datasets"]]}
    lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in header.items()), "---", "",
             f"# climb encoder `{config['climb_encoder']}`: {training['protocol']}", "",
             "An encoder trained with [climb](https://github.com/) (the CLIMB clinical benchmark framework). Load it with",
             "", "```python", "from climb.models import create_encoder",
             "encoder = create_encoder(\"hf-hub:ORG/REPO\")  # or create_encoder(\"path/to/this/folder\")", "```", "",
             f"Weights: `{config['weights_file']}`, sha256 `{config['weights_sha256']}` (checked on load).",
             f"Encoder settings: `{json.dumps(config['encoder_config'])}`.", ""]
    contract = config.get("input_contract")
    if contract:
        lines += ["## Input", "", "The input the training fixed (climb applies it through the load layer's transform):",
                  "", *(f"- {k}: {v}" for k, v in contract.items()), ""]
    lines += ["## Training data", "", "| dataset | card fingerprint | splits | task | licence |", "|---|---|---|---|---|"]
    for d in training["datasets"]:
        splits = ", ".join(f"{k} {v}" for k, v in d["splits"].items())
        lines.append(f"| {d['name']} | `{(d['fingerprint'] or '-')[:16]}` | {splits} | {d['task']} | {d['licence']} |")
    lines += ["", "Split policies: " + "; ".join(f"{d['name']}: {d['split_policy']}" for d in training["datasets"]), "",
              "## Protocol", "", f"{training['protocol']}; settings: `{json.dumps(training['settings'])}`.", "",
              "## Test metrics (official test splits, 95 % patient-level bootstrap CIs)", "",
              "| dataset | metric | value | 95 % CI |", "|---|---|---|---|"]
    for r in results:
        if r.get("split") != "test" or not _finite(r.get("value")):
            continue
        ci = f"[{float(r['ci_low']):.3f}, {float(r['ci_high']):.3f}]" if _finite(r.get("ci_low")) else "-"
        lines.append(f"| {r['dataset']} | {r['metric']} | {float(r['value']):.3f} | {ci} |")
    lines += ["", "## Intended use", "",
              "Research only: a starting point for transfer (linear probe, fine-tuning, few-shot) to related clinical",
              "tasks, and a baseline for the CLIMB benchmark. Not a medical device; not for clinical decisions.", "",
              "## Limitations", "",
              "- Trained on the data listed above only, at the budget listed; numbers on other cohorts, devices or",
              "  sampling rates are unknown, and small test sets give wide CIs.",
              "- Inputs must meet the input contract above (climb refuses or logs every adaptation).",
              "- Biases of the training datasets (sites, populations, label definitions) carry over.", "",
              "## Licences", "",
              f"Training data licences: {'; '.join(licences)}. The weights are a derivative of that data: check that",
              "your use is compatible with each licence (for example non-commercial terms).", "",
              "## Citations of the training data", "",
              *(f"- {d['name']}: {d['citation']}" for d in training["datasets"] if d.get("citation")), ""]
    return "\n".join(lines)


def _finite(value: Any) -> bool:
    try:
        return value not in (None, "") and math.isfinite(float(value))
    except ValueError:
        return False


def push_folder(folder: str | Path, repo: str, *, revision: str | None = None, api: Any = None) -> str:
    """Upload a published folder to the hub repo `repo` (created if needed); the token is `HF_TOKEN`.

    `api` is a `huggingface_hub.HfApi` (made by `climb.hubio` with the environment's token). Returns the commit URL.
    """
    from climb.hubio import check_repo_id, upload_folder

    folder = Path(folder)
    if not (folder / PUBLISHED_CONFIG).is_file() or not (folder / PUBLISHED_WEIGHTS).is_file():
        raise PublishError(f"{folder}: not a published climb model folder (run climb publish first)")
    return upload_folder(folder, check_repo_id(repo), "model", f"climb publish {folder.name}", revision=revision,
                         api=api, error=PublishError)


def copy_into_hub_cache(folder: str | Path, repo: str, cache_dir: str | Path, revision: str = "0" * 40) -> Path:
    """Lay a published folder out as huggingface_hub's cache does (`models--org--name/snapshots/<rev>`).

    For offline use and tests: `create_encoder("hf-hub:ORG/REPO")` then finds it with no network.
    """
    from climb import hubio

    return hubio.copy_into_hub_cache(folder, repo, cache_dir, "model", revision)