"""The field-kind contract and its registry (like TFDS feature connectors or PyHealth processors).

A `FieldKind` is everything climb knows about one kind of prepared field, in one place:

* how its values are stored (`value`: an N-D array, a string or a number; `fixed_shape`;
  `nan_means_missing`; `codecs`, the compact encodings it accepts, see `climb.kinds.codecs`);
* how it is read by default (`default_transform`, `stats_rows` for per-channel statistics);
* what it feeds (`encoder_input`: the encoder modality, `channel_axis` / `in_channels`, and
  `adapter_dims`: the channel adapter is a 1x1 `ConvNd` of that many dims, else a Linear);
* how it is exported (`vlm_media` / `vlm_noun` / `vlm_note` / `vlm_picture` for VLM JSONL;
  `graph_role` for PyG-style collation).

Registered by name with `@register_kind`; the built-in kinds live one per file next to this
one. Layering: this package imports nothing of climb at import time; `default_transform`
imports the load layer's transform classes when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from climb.errors import ClimbUsageError


class UnknownKindError(ClimbUsageError, KeyError):
    """A field kind that is not registered (the message lists the known ones)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class TransformOptions:
    """The options of `climb.loading.transforms.default_transform`, passed to every kind."""

    image_size: int | None = None
    volume_size: int | Sequence[int] | None = None
    sampling_rate: float | None = None
    crop_seconds: float | None = None
    leads: Sequence[str] | None = None
    augment: bool | Mapping[str, Any] = False
    seed: int = 0


class FieldKind:
    """One kind of prepared field. Subclass, set the class attributes, decorate with `@register_kind`."""

    name: ClassVar[str]
    layout: ClassVar[str] = ""  # the standard layout of one value, for docs and errors
    value: ClassVar[Literal["array", "text", "number"]] = "array"  # Arrow: large_list, string, float64
    fixed_shape: ClassVar[bool] = True  # every sample of a dataset has one shape (else declared by the builder)
    nan_means_missing: ClassVar[bool] = False  # NaN is data ("not observed"); else NaN/inf is refused
    codecs: ClassVar[tuple[str, ...]] = ()  # compact storage it accepts (`--storage png`)
    encoder_input: ClassVar[str | None] = None  # the encoder modality this field feeds (None: auxiliary)
    channel_axis: ClassVar[int | None] = None  # axis of one value holding channels / features
    adapter_dims: ClassVar[int | None] = None  # channel adapter: 1x1 Conv{1,2,3}d; None: Linear
    augmentable: ClassVar[bool] = False  # `default_transform(augment=...)` applies to it
    graph_role: ClassVar[Literal["nodes", "edges", "edge_weights"] | None] = None
    vlm_media: ClassVar[Literal["image", "video"] | None] = None  # exported to VLM JSONL as
    vlm_noun: ClassVar[str] = ""  # "image", "scan", "video": how the question names it
    vlm_note: ClassVar[str] = ""  # a sentence added to the question

    def in_channels(self, shape: Sequence[int]) -> int | None:
        """Channels (or features) of one value of `shape`, as an encoder counts them."""
        if self.channel_axis is None or not len(shape):
            return None
        return int(shape[self.channel_axis])

    def stats_rows(self, array: np.ndarray) -> np.ndarray:
        """`array` as (statistics channels, values): per-channel mean/std are taken along axis 1."""
        return array.reshape(array.shape[0], -1)

    def default_transform(self, meta: Mapping[str, Any], train: bool, stats: Mapping[str, Any] | None,
                          options: TransformOptions) -> Callable | None:
        """The transform `default_transform` applies to a field of this kind (None: as stored)."""
        return None

    def vlm_picture(self, array: np.ndarray) -> np.ndarray:
        """What the VLM export saves for one value (a volume: its middle slice)."""
        return array

    def __repr__(self) -> str:
        return f"<field kind {self.name!r} {self.layout}>"


_KINDS: dict[str, FieldKind] = {}


def register_kind(cls: type[FieldKind]) -> type[FieldKind]:
    """Class decorator: register a `FieldKind` under its `name` (one name, one kind)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__}: a field kind needs a `name`")
    if name in _KINDS and type(_KINDS[name]) is not cls:
        raise ValueError(f"field kind {name!r} registered twice ({type(_KINDS[name]).__name__}, {cls.__name__})")
    _KINDS[name] = cls()
    return cls


def unregister_kind(name: str) -> None:
    """Remove a registered kind (for tests that register one of their own)."""
    _KINDS.pop(name, None)


def get_kind(name: str) -> FieldKind:
    """The registered kind `name`; an unknown one fails naming the known kinds."""
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKindError(f"unknown field kind {name!r}; known: {', '.join(kind_names())} "
                               "(a new kind is one class registered with climb.kinds.register_kind)") from None


def kind_names() -> list[str]:
    """Every registered kind, in registration order."""
    return list(_KINDS)


def encoder_inputs() -> list[str]:
    """The encoder modalities some kind feeds (image, signal, graph, ...), without repeats."""
    return list(dict.fromkeys(k.encoder_input for k in _KINDS.values() if k.encoder_input))


def field_kind_for_input(modality: str) -> str:
    """The field kind an encoder of `modality` reads: the kind of that name, else the first that
    feeds it (graph -> node_features)."""
    feeding = [name for name, kind in _KINDS.items() if kind.encoder_input == modality]
    if not feeding:
        raise UnknownKindError(f"no field kind feeds {modality!r} encoders; inputs: {', '.join(encoder_inputs())}")
    return modality if modality in feeding else feeding[0]
