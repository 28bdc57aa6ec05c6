"""Testing a trained `ClimbModule`: test-split predictions of every task and of the external datasets of
`TrainConfig.test_on`, with patient-level bootstrap CIs and the typed setting columns filled.

External validation (`test_on`): the model is trained once and tested on other prepared datasets
with the same task type and label names (checked before training by `check_test_on`). Each external
dataset is scored by the head of the training dataset it matches, on all of its splits (`split="all"`:
none of it was seen in training), transformed exactly like that training dataset's test split
(its card's normalisation, its fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from climb.errors import ClimbUsageError
from climb.evaluate.bootstrap import bootstrap_metrics
from climb.evaluate.metrics import ResultRow, result_rows
from climb.train.config import TrainConfig
from climb.train.data import TaskData
from climb.train.engine import predict_loaders, stack_predictions
from climb.train.module import ClimbModule

EXTERNAL_SPLIT = "all"  # an external dataset is tested on every split


@dataclass
class TestSet:
    """One dataset to test: its name in results, the head that scores it, its samples and collate."""

    name: str
    head: str
    split: str
    data: Dataset
    collate: Any


def _label_space(card: dict[str, Any]) -> tuple[str, list[str]]:
    return str(card["task"]), list(card["label_names"])


def check_test_on(cfg: TrainConfig) -> dict[str, str]:
    """external dataset -> the training dataset whose head scores it (same task type and label names);
    a usage error naming both label spaces when none matches, or when an external dataset is trained on."""
    from climb.prepare import open_prepared

    trained = {n: _label_space(open_prepared(n).card) for n in cfg.datasets}
    heads = {}
    for name in cfg.test_on:
        if name in trained:
            raise ClimbUsageError(f"test_on {name}: it is a training dataset; external validation needs another one")
        space = _label_space(open_prepared(name).card)
        match = next((n for n, s in trained.items() if s == space), None)
        if match is None:
            theirs = "; ".join(f"{n}: {t} {labels}" for n, (t, labels) in trained.items())
            raise ClimbUsageError(f"test_on {name}: its labels ({space[0]} {space[1]}) differ from those of the "
                                  f"training dataset(s) ({theirs}); external validation needs the same label names")
        heads[name] = match
    return heads


def external_test(cfg: TrainConfig, name: str, task: TaskData) -> TestSet:
    """Every split of prepared dataset `name`, read and transformed like `task`'s test split."""
    from climb.loading import load
    from climb.loading.transforms import default_transform

    source = task.test or task.val or getattr(task.train, "dataset", task.train)
    card = load(name, "train").card
    for field in source.fields:
        theirs, ours = card["fields"].get(field), source.card["fields"][field]
        if theirs is None or theirs["kind"] != ours["kind"] or theirs.get("feature_names") != ours.get("feature_names"):
            raise ClimbUsageError(f"test_on {name}: field {field!r} ({ours['kind']}) is absent or differs from "
                                  f"{task.name}'s (kind, features); external validation needs the same input")
    transform: Any = cfg.transform
    if cfg.transform == "default":
        transform = default_transform(source.card, train=False, seed=cfg.seed, **task.transform_options)
    parts = [load(name, split, transform=transform, fields=source.fields, seed=cfg.seed) for split in card["splits"]]
    return TestSet(name, task.name, EXTERNAL_SPLIT, ConcatDataset(parts), parts[0].collate)


def test_sets(cfg: TrainConfig, tasks: dict[str, TaskData]) -> list[TestSet]:
    """Each task's test split, then the external datasets of `cfg.test_on`."""
    own = [TestSet(n, n, "test", t.test, t.test.collate) for n, t in tasks.items() if t.test is not None]
    heads = check_test_on(cfg) if cfg.test_on else {}
    return own + [external_test(cfg, name, tasks[head]) for name, head in heads.items()]


class Scorer(L.LightningModule):
    """Lightning's predict step for test sets: the batches of loader i scored by the head `heads[i]`."""

    def __init__(self, model: ClimbModule, heads: list[str]):
        super().__init__()
        self.model, self.heads = model, heads

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        head = self.heads[dataloader_idx]
        scores = self.model.losses[head].scores(self.model(batch, head).float())
        return {"y": batch["label"].cpu().numpy(), "score": scores.cpu().numpy(), "patient_id": list(batch["patient_id"])}


def predict_sets(model: ClimbModule, tests: list[TestSet], cfg: TrainConfig,
                 batch_size: int = 128) -> list[dict[str, np.ndarray]]:
    """Labels, scores (probabilities / predictions) and patient ids of each test set, through `Trainer.predict`."""
    if not tests:
        return []
    loaders = [DataLoader(t.data, batch_size=batch_size, shuffle=False, collate_fn=t.collate) for t in tests]
    outputs = predict_loaders(Scorer(model, [t.head for t in tests]), loaders, cfg)
    return [stack_predictions(out) for out in outputs]


def predict(model: ClimbModule, task: TaskData, split: str = "test", batch_size: int = 128,
            cfg: TrainConfig | None = None) -> dict[str, np.ndarray]:
    """Labels, scores and patient ids of one split of `task` (on `cfg`'s accelerator; default: the module's config)."""
    ds = getattr(task, split)
    return predict_sets(model, [TestSet(task.name, task.name, split, ds, ds.collate)], cfg or model.cfg, batch_size)[0]


def evaluate_module(model: ClimbModule, tasks: dict[str, TaskData], cfg: TrainConfig, protocol: str,
                    init: str | None = None) -> tuple[list[ResultRow], dict[str, dict[str, np.ndarray]]]:
    """Metrics with patient-level bootstrap CIs on every test set (`test_sets`), typed setting columns filled."""
    rows: list[ResultRow] = []
    preds = {}
    setting = {"protocol": protocol, "encoder": cfg.encoder, "seed": cfg.seed, "trained_on": "+".join(cfg.datasets),
               "shots": cfg.shots, "init": init or ("pretrained" if cfg.pretrained else "scratch"),
               "mode": "linear_probe" if cfg.freeze_encoder else "finetune"}
    tests = test_sets(cfg, tasks)
    for test, p in zip(tests, predict_sets(model, tests, cfg)):
        preds[test.name] = p
        task = tasks[test.head].task.value
        cis = bootstrap_metrics(task, p["y"], p["score"], groups=p["patient_id"], n_boot=cfg.n_boot, seed=cfg.seed)
        rows += result_rows(cis, dataset=test.name, split=test.split, task=task, **setting)
    return rows, preds


__all__ = ["TestSet", "check_test_on", "evaluate_module", "predict", "predict_sets", "test_sets"]
