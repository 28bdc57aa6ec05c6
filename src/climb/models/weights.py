"""Pretrained weights by name: a zoo tag, a timm tag, `hf-hub:org/repo[@revision]`, or a local path.

`resolve(spec, encoder)` turns what the user wrote into one local, verified weights
file (`Weights`); `load_published` rebuilds an encoder from a folder written by
`climb publish` (local, or on the hub). Downloads go through `huggingface_hub`: its
cache (`HF_HUB_CACHE` / `HF_HOME`, read at call time), `HF_HUB_OFFLINE`, revision
pinning, and a token from the `HF_TOKEN` environment variable only (never a token file,
never an argument). With no network and no cached copy the error is one line naming
the weights and the two ways to provide them offline. A file whose sha256 is known
(a climb checkpoint's sidecar, a published folder's config.json) is checked before use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from climb.errors import ClimbUsageError
from climb.models.contract import InputContract
from climb.models.registry import EncoderError, checkpoint_config, get_spec
from climb.models.zoo import ZooEntry, default_entry, timm_contract, timm_pretrained_cfg, zoo

if TYPE_CHECKING:
    from torch import nn

HUB_PREFIX = "hf-hub:"
PUBLISHED_CONFIG = "config.json"
PUBLISHED_WEIGHTS = "model.safetensors"
# files beside hub weights whose preprocessing values override a zoo entry's declared contract
_PREPROCESSING_FILES = ("preprocessor_config.json", "open_clip_config.json")
_WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


class WeightsUnavailableError(EncoderError):
    """Weights are neither cached nor downloadable now (the message says how to provide them)."""


@dataclass
class Weights:
    """One local weights file and what is known about it."""

    file: Path
    source: str  # what the user asked for, resolved: "hf-hub:org/repo@rev/file", a tag, a path
    sha256: str | None = None
    contract: InputContract | None = None
    entry: ZooEntry | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    encoder_config: dict[str, Any] | None = None  # a published folder's config.json `encoder_config`

    def stored_config(self) -> dict[str, Any] | None:
        """The encoder settings (`in_channels`, kwargs) the weights were saved with, else None.

        A published folder's config.json is the record; a bare climb checkpoint's safetensors
        metadata next; weights in a library's own layout (timm, braindecode) carry none.
        """
        if self.encoder_config is not None:
            return dict(self.encoder_config)
        return checkpoint_config(self.file)

    def in_channels(self) -> int | None:
        """The input width the weights were trained with (saved settings, zoo entry, or contract)."""
        stored = self.stored_config() or {}
        for width in (stored.get("in_channels"), self.entry and self.entry.in_channels,
                      self.contract and self.contract.channels):
            if width is not None:
                return int(width)
        return None


def is_published_reference(name: str | Path) -> bool:
    """True for `hf-hub:...` ids and folders holding a climb `config.json` (what `climb publish` writes)."""
    text = str(name)
    if text.startswith(HUB_PREFIX):
        return True
    path = Path(text)
    return path.is_dir() and _climb_config(path / PUBLISHED_CONFIG) is not None


def resolve(spec: str | Path | bool, encoder: str) -> Weights:
    """The local weights file for `spec` (see the module docstring), downloaded if needed."""
    form, ref = reference(spec, encoder)
    if form == "zoo":
        return _from_entry(ref)
    if form == "timm":
        return _from_timm_tag(ref)
    if form == "hub":
        return _from_hub_id(ref)
    path = Path(ref)
    if path.is_dir():
        return _from_folder(path)
    if path.is_file():
        return Weights(path, str(path))
    raise WeightsUnavailableError(f"{ref}: weights file not found")


def reference(spec: str | Path | bool, encoder: str) -> tuple[str, Any]:
    """What `spec` names for `encoder`, without fetching anything (a suite is checked with it offline).

    ("zoo", ZooEntry) | ("timm", tag) | ("hub", "hf-hub:org/repo[@rev]") | ("path", local path);
    a spec that names none of these is a usage error.
    """
    if spec is True:
        return "zoo", _loadable(default_entry(encoder))
    text = str(spec)
    if text.startswith(HUB_PREFIX):
        parse_hub_id(text)
        return "hub", text
    path = Path(text).expanduser()
    if path.exists() or os.sep in text or text.endswith(_WEIGHT_SUFFIXES):
        return "path", str(path)
    entries = zoo()
    if text in entries:
        entry = entries[text]
        if entry.encoder != encoder:
            raise ClimbUsageError(f"zoo weights {text!r} are for encoder {entry.encoder!r}, not {encoder!r}")
        return "zoo", _loadable(entry)
    timm_name = get_spec(encoder).factory_kwargs.get("timm_name")
    if timm_name and text.split(".")[0] == timm_name:
        return "timm", text
    raise ClimbUsageError(f"pretrained={text!r} is not a file, a folder, an hf-hub: id, a zoo tag of {encoder!r} "
                          f"or a timm tag of it (climb models --info {encoder} lists its weights)")


def unavailable(spec: str | Path | bool, encoder: str) -> str | None:
    """Why the weights `spec` cannot be had now (the one-line how-to), else None (they are here)."""
    try:
        resolve(spec, encoder)
    except WeightsUnavailableError as exc:
        return str(exc)
    return None


def _loadable(entry: ZooEntry) -> ZooEntry:
    if not entry.loadable:
        raise ClimbUsageError(f"zoo weights {entry.tag!r} are listed, not loadable: {entry.reason}")
    return entry


def _from_entry(entry: ZooEntry) -> Weights:
    entry = entry.resolved()
    assert entry.hub and entry.file
    path = hub_file(entry.hub, entry.file, entry.revision, what=f"zoo weights {entry.tag!r}")
    contract = _snapshot_contract(entry.hub, entry.revision, entry.contract)
    return Weights(path, f"{entry.tag} ({HUB_PREFIX}{entry.hub}@{entry.revision}/{entry.file})",
                   contract=contract, entry=entry, kwargs=dict(entry.kwargs))


def _from_timm_tag(tag: str) -> Weights:
    cfg = timm_pretrained_cfg(tag)
    path = hub_file(cfg.hf_hub_id, "model.safetensors", "main", what=f"timm weights {tag!r}")
    return Weights(path, f"timm:{tag} ({HUB_PREFIX}{cfg.hf_hub_id})", contract=timm_contract(cfg))


def _from_hub_id(ref: str) -> Weights:
    repo, revision = parse_hub_id(ref)
    config_path = hub_file(repo, PUBLISHED_CONFIG, revision, what=ref, required=False)
    config = _climb_config(config_path) if config_path is not None else None
    if config is not None:
        return _published_weights(config, hub_file(repo, config["weights_file"], revision, what=ref), ref)
    path = hub_file(repo, PUBLISHED_WEIGHTS, revision, what=ref)
    return Weights(path, f"{ref}/{PUBLISHED_WEIGHTS}", contract=_snapshot_contract(repo, revision, None))


def _from_folder(folder: Path) -> Weights:
    config = _climb_config(folder / PUBLISHED_CONFIG)
    if config is not None:
        return _published_weights(config, folder / config["weights_file"], str(folder))
    if (folder / PUBLISHED_WEIGHTS).is_file():
        return Weights(folder / PUBLISHED_WEIGHTS, str(folder / PUBLISHED_WEIGHTS),
                       contract=_preprocessing_contract(folder, None))
    raise EncoderError(f"{folder}: no {PUBLISHED_CONFIG} written by climb publish and no {PUBLISHED_WEIGHTS}")


def _published_weights(config: dict[str, Any], path: Path, source: str) -> Weights:
    contract = InputContract(**config["input_contract"]) if config.get("input_contract") else None
    return Weights(path, source, sha256=config.get("weights_sha256"), contract=contract,
                   encoder_config=dict(config.get("encoder_config") or {}))


def check_pretrained(spec: str | Path | bool, encoder: str) -> Weights:
    """Resolve `spec` for `encoder` before any work; a bad spec is a usage error naming it.

    Weights that are neither cached nor downloadable stay a `WeightsUnavailableError` (its
    message says how to provide them offline).
    """
    text = str(spec)
    form, ref = reference(spec, encoder)
    if form == "path" and not Path(ref).exists():
        raise ClimbUsageError(f"pretrained encoder {text}: no such file")
    try:
        weights = resolve(spec, encoder)
        weights.stored_config()  # reads a checkpoint's header: an unreadable file fails here
    except WeightsUnavailableError:
        raise
    except EncoderError as exc:
        raise ClimbUsageError(str(exc)) from None
    return weights


def load_published(ref: str | Path, in_channels: int | None = None, **kwargs: Any) -> nn.Module:
    """An encoder rebuilt from a `climb publish` folder or its hub copy (name, settings, weights, contract)."""
    from climb.models.registry import create_encoder

    text = str(ref)
    if text.startswith(HUB_PREFIX):
        repo, revision = parse_hub_id(text)
        config = _climb_config(hub_file(repo, PUBLISHED_CONFIG, revision, what=text))
    else:
        config = _climb_config(Path(text) / PUBLISHED_CONFIG)
    if config is None:
        raise EncoderError(f"{text}: {PUBLISHED_CONFIG} is not a climb model config (no 'climb_encoder')")
    settings = dict(config.get("encoder_config") or {})
    stored_channels = settings.pop("in_channels", None)
    if in_channels is not None and stored_channels is not None and in_channels != stored_channels:
        raise EncoderError(f"{text}: published for {stored_channels} input channels, asked for {in_channels} "
                           "(adapt the data, or let the training module's channel adapter do it)")
    return create_encoder(config["climb_encoder"], in_channels=stored_channels, pretrained=text,
                          **{**settings, **kwargs})


def parse_hub_id(ref: str) -> tuple[str, str]:
    """`hf-hub:org/repo[@revision]` -> (org/repo, revision or "main")."""
    body = ref[len(HUB_PREFIX):] if ref.startswith(HUB_PREFIX) else ref
    repo, _, revision = body.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ClimbUsageError(f"{ref!r}: expected hf-hub:ORG/REPO[@REVISION]")
    return repo, revision or "main"


def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder, read from the environment now (tests point HF_HOME elsewhere)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "on", "yes", "true")


def hub_file(repo: str, filename: str, revision: str = "main", *, what: str, required: bool = True) -> Path | None:
    """One file of a hub repo from the cache, downloaded when online; None if optional and absent."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    offline = hub_offline()
    try:
        return Path(hf_hub_download(repo, filename, revision=revision, cache_dir=hub_cache_dir(),
                                    token=os.environ.get("HF_TOKEN") or False, local_files_only=offline))
    except LocalEntryNotFoundError:  # (a subclass of EntryNotFoundError: first)
        if not required and offline:
            return None
        raise WeightsUnavailableError(_missing_message(repo, filename, revision, what, offline)) from None
    except EntryNotFoundError:
        if not required:
            return None
        raise EncoderError(f"{what}: {repo}@{revision} has no file {filename!r}") from None
    except Exception as exc:  # network, auth, missing repo: one line, never the token
        if not required and offline:
            return None
        raise WeightsUnavailableError(
            f"{_missing_message(repo, filename, revision, what, offline)} ({type(exc).__name__})") from None


def _missing_message(repo: str, filename: str, revision: str, what: str, offline: bool) -> str:
    why = "HF_HUB_OFFLINE is set" if offline else "the hub could not be reached"
    return (f"{what}: {repo}/{filename}@{revision} is not in the Hugging Face cache ({hub_cache_dir()}) and {why}; "
            f"provide it offline: pass the local file (--pretrained /path/to/{filename}), or on a connected "
            f"machine run `hf download {repo} {filename} --revision {revision}` and copy its cache folder "
            f"models--{repo.replace('/', '--')} into {hub_cache_dir()}")


def _snapshot_contract(repo: str, revision: str, declared: InputContract | None) -> InputContract | None:
    for name in _PREPROCESSING_FILES:
        path = hub_file(repo, name, revision, what=f"{HUB_PREFIX}{repo}", required=False)
        if path is not None:
            return _preprocessing_contract(path.parent, declared)
    return declared


def _preprocessing_contract(folder: Path, declared: InputContract | None) -> InputContract | None:
    """The image contract a snapshot's own preprocessing file states, else `declared`."""
    for name in _PREPROCESSING_FILES:
        path = folder / name
        if not path.is_file():
            continue
        cfg = json.loads(path.read_text())
        cfg = cfg.get("preprocess_cfg", cfg)  # open_clip_config.json keeps it one level down
        mean, std = cfg.get("image_mean") or cfg.get("mean"), cfg.get("image_std") or cfg.get("std")
        size = cfg.get("crop_size") or cfg.get("size")
        if isinstance(size, dict):
            size = size.get("height") or size.get("shortest_edge")
        if mean and std:
            base = declared.model_dump() if declared else {"kind": "image", "channels": len(mean)}
            base.update(mean=tuple(mean), std=tuple(std))
            if isinstance(size, int):
                base["image_size"] = size
            return InputContract(**base)
    return declared


def _climb_config(path: Path | None) -> dict[str, Any] | None:
    if path is None or not Path(path).is_file():
        return None
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EncoderError(f"{path}: unreadable config: {exc}") from exc
    return config if isinstance(config, dict) and "climb_encoder" in config else None
