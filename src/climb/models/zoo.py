"""The CLIMB model zoo: pretrained weights by tag, read from `zoo.yaml` (data, not code).

Each entry names the registry encoder its weights load into, where the weights live
(a timm pretrained tag, or a Hugging Face repo + file + revision), their licence,
source and citation, and the input they expect (`InputContract`). For timm tags the
hub repo, file, contract and licence are timm's own pretrained config, read when asked
(`resolved()`), so they are written in one place only. Entries with `loadable: false`
are listed with the reason climb does not load them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from climb.errors import ClimbUsageError
from climb.models.contract import InputContract

ZOO_FILE = Path(__file__).with_name("zoo.yaml")


class ZooEntry(BaseModel):
    """One set of pretrained weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    encoder: str | None
    timm: str | None = None
    hub: str | None = None
    file: str | None = None
    revision: str = "main"
    licence: str | None = None
    source: str | None = None
    citation: str
    contract: InputContract | None = None
    in_channels: int | None = None
    kwargs: dict = {}
    loadable: bool = True
    reason: str | None = None
    default: bool = False

    def resolved(self) -> ZooEntry:
        """For a timm tag: hub repo, file, licence, source and contract filled from timm's pretrained config."""
        if self.timm is None:
            return self
        cfg = timm_pretrained_cfg(self.timm)
        return self.model_copy(update={
            "hub": self.hub or cfg.hf_hub_id, "file": self.file or "model.safetensors",
            "licence": self.licence or cfg.license, "contract": self.contract or timm_contract(cfg),
            "source": self.source or f"timm pretrained tag {self.timm} (hub {cfg.hf_hub_id})",
        })


@functools.lru_cache(maxsize=1)
def zoo() -> dict[str, ZooEntry]:
    """Every zoo entry by tag."""
    import yaml

    raw = yaml.safe_load(ZOO_FILE.read_text())
    try:
        return {tag: ZooEntry(tag=tag, **e) for tag, e in raw.items()}
    except ValidationError as exc:
        raise ValueError(f"{ZOO_FILE.name}: {exc}") from exc


def get_entry(tag: str) -> ZooEntry:
    import difflib

    entries = zoo()
    if tag not in entries:
        close = difflib.get_close_matches(tag, entries, n=3)
        raise ClimbUsageError(f"no zoo weights tagged {tag!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                              + " (climb models --zoo lists them)")
    return entries[tag]


def default_entry(encoder: str) -> ZooEntry:
    """The tag `pretrained=True` picks for `encoder`."""
    found = [e for e in zoo().values() if e.encoder == encoder and e.default]
    if not found:
        raise ClimbUsageError(f"encoder {encoder!r} has no default pretrained weights in the zoo; "
                              "give a tag, an hf-hub: id or a file (climb models --zoo)")
    return found[0]


def entries_for(encoder: str) -> list[ZooEntry]:
    return [e for e in zoo().values() if e.encoder == encoder]


def timm_pretrained_cfg(tag: str):
    """timm's pretrained config of `tag` (from the timm package itself: no network)."""
    import timm

    cfg = timm.models.get_pretrained_cfg(tag, allow_unregistered=False)
    if cfg is None or not cfg.hf_hub_id:
        raise ClimbUsageError(f"timm has no hub weights tagged {tag!r} (timm.list_pretrained() lists them)")
    return cfg


def timm_contract(cfg) -> InputContract:
    channels, height, _ = cfg.input_size
    return InputContract(kind="image", image_size=int(height), channels=int(channels),
                         mean=tuple(cfg.mean), std=tuple(cfg.std))
