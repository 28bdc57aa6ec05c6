"""Encoder registry, timm-style: one name = one model, created by `create_encoder`.

Every encoder is an `nn.Module` with an `out_dim` attribute (embedding size) whose
forward maps a batch of one input kind to a `(B, out_dim)` embedding:

    image (B,C,H,W)   volume (B,C,D,H,W)   video (B,T,C,H,W)   signal/eeg (B,C,S)
    tabular (B,F)     timeseries (B,T,F) + optional lengths     text list[str]
    graph   forward(x, edge_index, edge_weight=None, batch=None) or a PyG Batch

Weights are never downloaded. `pretrained_path` loads a local file: a checkpoint
written by `save_encoder` (safetensors with the encoder name and config in its
metadata), or, for encoders that accept them, a foreign state dict such as timm's
original weights (`.safetensors`, `.pt`, `.pth`, `.bin`).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

MODALITIES = ("image", "volume", "video", "signal", "eeg", "graph", "tabular", "timeseries", "text")
_META_NAME = "climb_encoder"
_META_CONFIG = "climb_config"


class EncoderError(RuntimeError):
    """An encoder cannot be created or loaded; the message names the cause."""


@dataclass(frozen=True)
class EncoderSpec:
    """What the registry knows about one encoder name."""

    name: str
    modality: str
    factory: Callable[..., nn.Module]
    default_in_channels: int | None
    description: str
    foreign_weights: bool = False  # factory accepts `pretrained_file` (e.g. timm weights)


_REGISTRY: dict[str, EncoderSpec] = {}


def register_encoder(
    name: str, modality: str, *, in_channels: int | None, description: str, foreign_weights: bool = False
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register `factory(in_channels, **kw) -> nn.Module` under `name`."""
    if modality not in MODALITIES:
        raise ValueError(f"encoder {name!r}: unknown modality {modality!r}; known: {MODALITIES}")

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"encoder {name!r} registered twice")
        _REGISTRY[name] = EncoderSpec(name, modality, factory, in_channels, description, foreign_weights)
        return factory

    return wrap


def _import_models() -> None:
    from climb.models import graph, signal, tabular, text, vision, volume_video  # noqa: F401


def get_spec(name: str) -> EncoderSpec:
    """The registry entry for `name`; unknown names get close-match suggestions."""
    _import_models()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"No encoder named {name!r}.{hint} See `climb models` for the list.")
    return _REGISTRY[name]


def list_encoders(modality: str | None = None) -> list[str]:
    """Registered encoder names, sorted, optionally only those for one input kind."""
    _import_models()
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; known: {', '.join(MODALITIES)}")
    return sorted(n for n, s in _REGISTRY.items() if modality is None or s.modality == modality)


def create_encoder(
    name: str, in_channels: int | None = None, pretrained_path: str | Path | None = None, **kwargs: Any
) -> nn.Module:
    """Build encoder `name` (input channels/features `in_channels`), optionally with local weights."""
    spec = get_spec(name)
    channels = in_channels if in_channels is not None else spec.default_in_channels
    path = Path(pretrained_path) if pretrained_path is not None else None
    meta = _checkpoint_meta(path) if path is not None else None
    if meta is not None and meta[_META_NAME] != name:
        raise EncoderError(f"{path}: checkpoint holds encoder {meta[_META_NAME]!r}, not {name!r}")
    if path is not None and meta is None and spec.foreign_weights:
        model = spec.factory(channels, pretrained_file=str(path), **kwargs)
    else:
        model = spec.factory(channels, **kwargs)
        if path is not None:
            _load_strict(model, path)
    model.encoder_name = name
    model.encoder_config = {"in_channels": channels, **kwargs}
    return model


def save_encoder(model: nn.Module, path: str | Path) -> Path:
    """Write `model` (made by `create_encoder`) to a safetensors file that `create_encoder` reloads."""
    from safetensors.torch import save_file

    name = getattr(model, "encoder_name", None)
    if name is None:
        raise EncoderError("save_encoder needs a model made by create_encoder (no `encoder_name`)")
    try:
        config = json.dumps(model.encoder_config)
    except TypeError as exc:
        raise EncoderError(f"encoder {name!r}: config is not JSON-serialisable: {exc}") from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")  # a reader never sees a half-written file
    save_file(state, str(tmp), metadata={_META_NAME: name, _META_CONFIG: config})
    os.replace(tmp, path)
    return path


def load_encoder(path: str | Path) -> nn.Module:
    """Rebuild an encoder from a `save_encoder` checkpoint alone (name and config from its metadata)."""
    path = Path(path)
    meta = _checkpoint_meta(path)
    if meta is None:
        raise EncoderError(f"{path}: not a climb encoder checkpoint (no {_META_NAME!r} metadata)")
    config = json.loads(meta[_META_CONFIG])
    return create_encoder(meta[_META_NAME], pretrained_path=path, **config)


def checkpoint_config(path: str | Path) -> dict[str, Any] | None:
    """The encoder settings (`in_channels`, kwargs) stored in a `save_encoder` checkpoint, else None."""
    meta = _checkpoint_meta(Path(path))
    return json.loads(meta[_META_CONFIG]) if meta is not None else None


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a safetensors or torch file (never unpickles arbitrary objects)."""
    path = Path(path)
    if not path.is_file():
        raise EncoderError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign formats: name the file
        raise EncoderError(f"{path}: cannot read weights: {exc}") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise EncoderError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state


def _checkpoint_meta(path: Path) -> dict[str, str] | None:
    """The climb metadata of a safetensors checkpoint, or None for any other file."""
    if path.suffix != ".safetensors" or not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise EncoderError(f"{path}: not a readable safetensors file: {exc}") from exc
    return meta if _META_NAME in meta else None


def _load_strict(model: nn.Module, path: Path) -> None:
    state = read_state_dict(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EncoderError(f"{path}: weights do not fit this encoder: {exc}") from exc
