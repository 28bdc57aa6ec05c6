"""Train: the CLIMB protocols (single-task, multitask, few-shot) on PyTorch Lightning."""

from climb.train.config import TrainConfig
from climb.train.protocols import RunResult, few_shot, predict, train

__all__ = ["RunResult", "TrainConfig", "few_shot", "predict", "train"]
