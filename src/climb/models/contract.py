"""The input a set of pretrained weights expects, and how a dataset meets it.

`InputContract` records what the weights were trained on (image size, channels,
mean/std; sampling rate, lead or channel order, window length). `meet_contract` checks
one field of a prepared dataset's card against it and returns the load layer's
`default_transform` options that meet it plus every adaptation, in words (resampling,
lead selection, channel repeat), or raises `ContractError` naming the mismatch and the
option that would allow an adaptation. Nothing is adapted silently: each step is
returned and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from climb.errors import ClimbError

log = logging.getLogger(__name__)


class ContractError(ClimbError, ValueError):
    """A dataset cannot meet the input its pretrained encoder expects (the message says why)."""


class InputContract(BaseModel):
    """What pretrained weights expect as input; absent fields are not constrained."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["image", "signal", "eeg", "volume", "video"]
    image_size: int | None = None
    channels: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    sampling_rate: float | None = None
    window: int | None = None  # samples at `sampling_rate`
    leads: tuple[str, ...] | None = None  # ECG lead order
    channel_names: tuple[str, ...] | None = None  # EEG channel (or bipolar derivation) order
    needs_channel_names: bool = False  # the encoder embeds channels by name (LaBraM)

    def describe(self) -> str:
        """One line for `climb models --info`."""
        parts = []
        if self.image_size:
            parts.append(f"{self.image_size}x{self.image_size} px")
        if self.channels:
            parts.append(f"{self.channels} channels")
        if self.mean:
            parts.append(f"mean {list(self.mean)} std {list(self.std or ())}")
        if self.sampling_rate:
            parts.append(f"{self.sampling_rate:g} Hz")
        if self.window:
            parts.append(f"window {self.window} samples")
        if self.leads:
            parts.append(f"leads {','.join(self.leads)}")
        if self.channel_names:
            parts.append(f"channels {','.join(self.channel_names)}")
        if self.needs_channel_names:
            parts.append("channels named (10-20)")
        return f"{self.kind}: " + ", ".join(parts)


@dataclass
class Adaptation:
    """How a dataset field meets a contract: transform options, and every change made, in words."""

    field: str
    transform_options: dict[str, Any] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)


def meet_contract(
    contract: InputContract, card: Mapping[str, Any], field_name: str | None = None, *,
    allow_resample: bool = False, lead_map: Mapping[str, str] | None = None, allow_channel_repeat: bool = True,
) -> Adaptation:
    """The `default_transform` options that make `card`'s field meet `contract`, or a ContractError.

    `allow_resample`: a different sampling rate is resampled (else an error).
    `lead_map`: contract lead/channel name -> the dataset's name, for names that differ.
    `allow_channel_repeat`: a 1-channel image is repeated to the contract's channels.
    """
    name = card.get("name", "dataset")
    field_name, meta = _field(card, field_name, contract.kind)
    out = Adaptation(field_name)
    if contract.kind in ("image", "video", "volume"):
        _meet_image(contract, meta, name, field_name, out, allow_channel_repeat)
    else:
        _meet_series(contract, meta, name, field_name, out, allow_resample, lead_map or {})
    for step in out.steps:
        log.warning("%s.%s: %s", name, field_name, step)
    return out


def _field(card: Mapping[str, Any], field_name: str | None, kind: str) -> tuple[str, Mapping[str, Any]]:
    fields = card.get("fields", {})
    if field_name is None:
        matches = [n for n, m in fields.items() if m.get("kind") == kind]
        if not matches:
            raise ContractError(f"{card.get('name', 'dataset')}: no {kind} field for a {kind} encoder "
                                f"(fields: {', '.join(fields)})")
        field_name = matches[0]
    if field_name not in fields:
        raise ContractError(f"{card.get('name', 'dataset')}: no field {field_name!r}")
    return field_name, fields[field_name]


def _meet_image(c: InputContract, meta: Mapping[str, Any], name: str, fname: str, out: Adaptation,
                allow_repeat: bool) -> None:
    shape = meta.get("shape") or []
    have = int(shape[0]) if shape else None
    if c.image_size:
        out.transform_options["image_size"] = c.image_size
        if shape and tuple(shape[-2:]) != (c.image_size, c.image_size):
            out.steps.append(f"resized and padded from {shape[-2]}x{shape[-1]} to {c.image_size}x{c.image_size} px")
    mean, std = c.mean, c.std
    if c.channels and have is not None and have != c.channels:
        if not (have == 1 and allow_repeat):
            raise ContractError(f"{name}.{fname}: {have} channels, the weights expect {c.channels} "
                                "(only 1 -> N channel repeat is supported)")
        out.steps.append(f"1 channel repeated to {c.channels} by the encoder's channel adapter; "
                         f"normalised with the mean of the weights' per-channel statistics")
        if mean and std:
            mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    if mean and std:
        out.transform_options["stats"] = {fname: {"mean": list(mean), "std": list(std)}}


def _meet_series(c: InputContract, meta: Mapping[str, Any], name: str, fname: str, out: Adaptation,
                 allow_resample: bool, lead_map: Mapping[str, str]) -> None:
    rate = meta.get("sampling_rate")
    if c.sampling_rate:
        if rate is None:
            raise ContractError(f"{name}.{fname}: the card records no sampling rate; the weights expect "
                                f"{c.sampling_rate:g} Hz")
        if abs(float(rate) - c.sampling_rate) > 1e-6:
            if not allow_resample:
                raise ContractError(f"{name}.{fname}: {float(rate):g} Hz, the weights expect {c.sampling_rate:g} Hz; "
                                    "allow resampling to adapt (allow_resample=True; in a "
                                    f"training config: transform_options sampling_rate: {c.sampling_rate:g})")
            out.steps.append(f"resampled from {float(rate):g} Hz to {c.sampling_rate:g} Hz")
        out.transform_options["sampling_rate"] = c.sampling_rate
        if c.window:
            out.transform_options["crop_seconds"] = c.window / c.sampling_rate
    names = list(meta.get("lead_names") or meta.get("channel_names") or [])
    wanted = c.leads or c.channel_names
    if wanted:
        out.transform_options["leads"] = _select(wanted, names, lead_map, name, fname, out)
    elif c.channels and names and len(names) != c.channels:
        raise ContractError(f"{name}.{fname}: {len(names)} channels, the weights expect {c.channels}")
    if c.needs_channel_names:
        if not names:
            raise ContractError(f"{name}.{fname}: the encoder embeds channels by name and the card names none")
        out.encoder_kwargs["ch_names"] = [lead_map.get(n, n) for n in names]


def _select(wanted: Sequence[str], have: Sequence[str], lead_map: Mapping[str, str], name: str, fname: str,
            out: Adaptation) -> list[str]:
    upper = {h.upper(): h for h in have}
    chosen, missing = [], []
    for w in wanted:
        source = lead_map.get(w, w)
        if source.upper() in upper:
            chosen.append(upper[source.upper()])
            if source != w:
                out.steps.append(f"lead {w} taken from the dataset's {source}")
        else:
            missing.append(w)
    if missing:
        raise ContractError(f"{name}.{fname}: has {len(have)} lead(s)/channel(s) ({', '.join(have) or 'unnamed'}); "
                            f"the weights expect {len(wanted)} and {', '.join(missing)} cannot be mapped "
                            "(give a lead_map for names that differ)")
    if list(chosen) != list(have):
        out.steps.append(f"selected and ordered {len(chosen)} of {len(have)} leads/channels as the weights expect")
    return chosen
