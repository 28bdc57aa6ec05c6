"""Train: the CLIMB protocols on PyTorch Lightning.

Supervised single-task, multitask and few-shot transfer (`train`, `few_shot`),
self-supervised pretraining (`pretrain`: masked autoencoding, JEPA), and multimodal
fusion (`climb.train.fusion`).

The names below are imported on first use (PEP 562), so `climb.train.config` loads without
torch and Lightning: the command line builds its options from `TrainConfig` at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "climb.train.config",
    "RunResult": "climb.train.protocols", "few_shot": "climb.train.protocols", "predict": "climb.train.protocols",
    "train": "climb.train.protocols",
    "SSLConfig": "climb.train.ssl", "SSLResult": "climb.train.ssl", "pretrain": "climb.train.ssl",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'climb.train' has no attribute {name!r}")


__all__ = ["RunResult", "SSLConfig", "SSLResult", "TrainConfig", "few_shot", "predict", "pretrain", "train"]
