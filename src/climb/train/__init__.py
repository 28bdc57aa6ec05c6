"""Train: the CLIMB protocols on PyTorch Lightning.

Supervised single-task, multitask and few-shot transfer (`train`, `few_shot`),
self-supervised pretraining (`pretrain`: masked autoencoding, JEPA), and multimodal
fusion (`climb.train.fusion`).
"""

from climb.train.config import TrainConfig
from climb.train.protocols import RunResult, few_shot, predict, train
from climb.train.ssl import SSLConfig, SSLResult, pretrain

__all__ = ["RunResult", "SSLConfig", "SSLResult", "TrainConfig", "few_shot", "predict", "pretrain", "train"]
