"""Encoder registry, timm-style: one name = one model, created by `create_encoder`.

The registry is data (`encoders.yaml`: kind, factory, default channels, embedding size,
parameter count, description); a factory module is imported only when its encoder is
built, so listing encoders (`climb models`) never imports torch. `register_encoder` adds
encoders at run time (your own code).

Every encoder is an `nn.Module` with an `out_dim` attribute (embedding size) whose
forward maps a batch of one input kind to a `(B, out_dim)` embedding:

    image (B,C,H,W)   volume (B,C,D,H,W)   video (B,T,C,H,W)   signal/eeg (B,C,S)
    tabular (B,F)     timeseries (B,T,F) + optional lengths     text list[str]
    graph   forward(x, edge_index, edge_weight=None, batch=None) or a PyG Batch

Weights (`create_encoder(name, pretrained=...)`, resolved by `climb.models.weights`): a
zoo tag (`climb models --zoo`), a timm pretrained tag, `hf-hub:org/repo[@revision]`,
`True` (the encoder's default zoo weights), or a local file / climb model folder. A
climb checkpoint (`save_encoder`: safetensors with the encoder name and config in its
metadata, sha256 beside it) loads strictly; weights in a library's own layout (timm,
braindecode, transformers, open_clip) go through the encoder's factory. Nothing is
unpickled: safetensors, or `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from climb.errors import ClimbError, ClimbUsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

REGISTRY_FILE = Path(__file__).with_name("encoders.yaml")
_META_NAME = "climb_encoder"
_META_CONFIG = "climb_config"
SHA256_SUFFIX = ".sha256"


def modalities() -> tuple[str, ...]:
    """The encoder modalities: every `encoder_input` a registered field kind feeds (climb.kinds), so a
    new kind's encoders register with no change here."""
    from climb.kinds import encoder_inputs

    return tuple(encoder_inputs())


def __getattr__(name: str) -> Any:
    if name == "MODALITIES":  # the former constant, read from the kinds registry when asked
        return modalities()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class EncoderError(ClimbError, RuntimeError):
    """An encoder cannot be created or loaded; the message names the cause."""


class UnknownEncoderError(ClimbUsageError, KeyError):
    """No encoder of that name (the message suggests close names)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


@dataclass(frozen=True)
class EncoderSpec:
    """What the registry knows about one encoder name (no model is built to know it)."""

    name: str
    modality: str
    factory_path: str  # "module:function", or "" for a factory registered at run time
    default_in_channels: int | None
    description: str
    foreign_weights: bool = False  # the factory accepts `pretrained_file` in its library's layout
    out_dim: int | None = None
    params: int | None = None
    default: bool = False
    factory_kwargs: dict[str, Any] = field(default_factory=dict)
    _factory: Callable[..., Any] | None = None

    @property
    def factory(self) -> Callable[..., nn.Module]:
        """The factory, imported on first use, with the registry's `factory_kwargs` bound."""
        fn = self._factory
        if fn is None:
            module, _, attr = self.factory_path.partition(":")
            fn = getattr(importlib.import_module(module), attr)
        return functools.partial(fn, **self.factory_kwargs) if self.factory_kwargs else fn


_EXTRA: dict[str, EncoderSpec] = {}  # register_encoder at run time


@functools.lru_cache(maxsize=1)
def _registry_file() -> dict[str, EncoderSpec]:
    import yaml

    raw = yaml.safe_load(REGISTRY_FILE.read_text())
    specs = {}
    for name, e in raw.items():
        if e["kind"] not in modalities():
            raise ValueError(f"{REGISTRY_FILE.name}: encoder {name!r}: unknown kind {e['kind']!r}")
        specs[name] = EncoderSpec(
            name, e["kind"], e["factory"], e.get("in_channels"), e["description"],
            foreign_weights=e.get("foreign_weights", False), out_dim=e.get("out_dim"), params=e.get("params"),
            default=e.get("default", False), factory_kwargs=e.get("factory_kwargs") or {},
        )
    return specs


def _all_specs() -> dict[str, EncoderSpec]:
    from climb.plugins import load_plugins

    load_plugins()  # user encoders: entry points and $CLIMB_PLUGINS (climb.plugins)
    return {**_registry_file(), **_EXTRA}


def register_encoder(
    name: str, modality: str, *, in_channels: int | None, description: str, foreign_weights: bool = False
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register `factory(in_channels, **kw) -> nn.Module` under `name` (your own encoders)."""
    if modality not in modalities():
        raise ValueError(f"encoder {name!r}: unknown modality {modality!r}; known: {modalities()}")

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _all_specs():
            raise ValueError(f"encoder {name!r} registered twice")
        _EXTRA[name] = EncoderSpec(name, modality, "", in_channels, description, foreign_weights, _factory=factory)
        return factory

    return wrap


def get_spec(name: str) -> EncoderSpec:
    """The registry entry for `name`; unknown names get close-match suggestions."""
    specs = _all_specs()
    if name not in specs:
        close = difflib.get_close_matches(name, specs, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownEncoderError(f"No encoder named {name!r}.{hint} See `climb models` for the list.")
    return specs[name]


def list_encoders(modality: str | None = None) -> list[str]:
    """Registered encoder names, sorted, optionally only those for one input kind."""
    if modality is not None and modality not in modalities():
        raise ClimbUsageError(f"unknown modality {modality!r}; known: {', '.join(modalities())}")
    return sorted(n for n, s in _all_specs().items() if modality is None or s.modality == modality)


def default_encoder(modality: str) -> str:
    """The registry's default encoder for an input kind (marked in `climb models`)."""
    names = [n for n in list_encoders(modality) if get_spec(n).default]
    if len(names) != 1:
        raise EncoderError(f"{REGISTRY_FILE.name}: kind {modality!r} needs exactly one default, has {names}")
    return names[0]


def create_encoder(
    name: str, in_channels: int | None = None, pretrained: str | Path | bool | None = None,
    pretrained_path: str | Path | None = None, **kwargs: Any,
) -> nn.Module:
    """Build encoder `name` (input channels/features `in_channels`), optionally with weights.

    `name` may itself be a published climb model (`hf-hub:org/repo[@rev]` or a folder written
    by `climb publish`): the encoder, its settings and weights then all come from it.
    `pretrained` (see the module docstring) or its older spelling `pretrained_path` picks
    weights for a registry name. The model carries `encoder_name`, `encoder_config`,
    `pretrained_source` and, for zoo weights, `input_contract`.
    """
    from climb.models import weights as W

    if pretrained is not None and pretrained_path is not None:
        raise ClimbUsageError("create_encoder: give pretrained= or pretrained_path=, not both")
    if W.is_published_reference(name):
        return W.load_published(name, in_channels=in_channels, **kwargs)
    spec = get_spec(name)
    source = pretrained if pretrained is not None else pretrained_path
    resolved = W.resolve(source, encoder=name) if source not in (None, False) else None
    if resolved is not None and resolved.kwargs:
        kwargs = {**resolved.kwargs, **kwargs}
    channels = in_channels if in_channels is not None else spec.default_in_channels
    model = _build(spec, channels, resolved, kwargs)
    model.encoder_name = name
    model.encoder_config = {"in_channels": channels, **kwargs}
    model.pretrained_source = resolved.source if resolved is not None else None
    model.input_contract = resolved.contract if resolved is not None else None
    return model


def _build(spec: EncoderSpec, channels: int | None, resolved: Any, kwargs: dict[str, Any]) -> nn.Module:
    if resolved is None:
        return spec.factory(channels, **kwargs)
    path = resolved.file
    verify_sha256(path, resolved.sha256)
    meta = _checkpoint_meta(path)
    if meta is not None and meta[_META_NAME] != spec.name:
        raise EncoderError(f"{path}: checkpoint holds encoder {meta[_META_NAME]!r}, not {spec.name!r}")
    if meta is None and spec.foreign_weights:
        return spec.factory(channels, pretrained_file=str(path), **kwargs)
    model = spec.factory(channels, **kwargs)
    _load_strict(model, path)
    return model


def save_encoder(model: nn.Module, path: str | Path) -> Path:
    """Write `model` (made by `create_encoder`) to safetensors that `create_encoder` reloads.

    The file's sha256 goes beside it (`<file>.sha256`) and is checked on every load, so
    a changed byte is refused instead of silently giving other weights.
    """
    from safetensors.torch import save

    from climb.safeio import atomic_write_bytes, atomic_write_text

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
    data = save(state, metadata={_META_NAME: name, _META_CONFIG: config})
    atomic_write_bytes(path, data)  # a reader never sees a half-written file; never through a symlink
    atomic_write_text(sha256_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")
    return path


def sha256_path(path: Path) -> Path:
    """Where the sha256 of a weights file climb wrote is kept."""
    return path.with_name(path.name + SHA256_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str | None) -> None:
    """Refuse `path` when its sha256 differs from `expected` (or from its `.sha256` sidecar)."""
    sidecar = sha256_path(path)
    if expected is None and sidecar.is_file():
        expected = sidecar.read_text().split()[0]
    if expected is None:
        return
    got = file_sha256(path)
    if got != expected.lower():
        raise EncoderError(f"{path}: sha256 {got[:16]}... differs from the recorded {expected[:16]}...; "
                           "the weights file was changed or damaged: refusing to load it")


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
    import torch

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
