"""Encoders for every CLIMB input kind, pretrained weights by name, task heads and losses.

`registry` (names -> factories, as data in encoders.yaml), `zoo` (pretrained weights by
tag, zoo.yaml), `weights` (tag / hf-hub: / path -> a verified local file), `contract`
(the input weights expect, met by a dataset card), `publish` (climb's own encoders as
Hugging Face model folders), `heads`, `fusion`. Importing this package does not import
torch until an encoder is built.
"""

from climb.models.registry import (
    EncoderError,
    count_parameters,
    create_encoder,
    default_encoder,
    get_spec,
    list_encoders,
    load_encoder,
    register_encoder,
    save_encoder,
)

__all__ = [
    "EncoderError", "TaskLoss", "class_counts_from_labels", "count_parameters", "create_encoder",
    "default_encoder", "get_spec", "list_encoders", "load_encoder", "make_head", "make_loss", "register_encoder",
    "save_encoder",
]


def __getattr__(name: str):  # heads import torch: only when asked for
    if name in ("TaskLoss", "class_counts_from_labels", "make_head", "make_loss"):
        from climb.models import heads

        return getattr(heads, name)
    raise AttributeError(f"module 'climb.models' has no attribute {name!r}")
