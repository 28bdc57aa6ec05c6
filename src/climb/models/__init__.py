"""Encoders for every CLIMB input kind, task heads and losses (see `registry`, `heads`)."""

from climb.models.heads import TaskLoss, class_counts_from_labels, make_head, make_loss
from climb.models.registry import (
    EncoderError,
    count_parameters,
    create_encoder,
    get_spec,
    list_encoders,
    load_encoder,
    save_encoder,
)

__all__ = [
    "EncoderError", "TaskLoss", "class_counts_from_labels", "count_parameters", "create_encoder",
    "get_spec", "list_encoders", "load_encoder", "make_head", "make_loss", "save_encoder",
]
