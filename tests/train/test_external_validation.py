"""`TrainConfig.test_on`: external datasets must share the training dataset's task type and label names."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_other_labels_are_refused_before_training(shared_data: Path, tmp_path: Path):
    from climb.errors import ClimbUsageError
    from climb.prepare import prepare
    from climb.train import TrainConfig, train

    prepare("yaib_mortality24_mimic", raw=shared_data / "yaib_demo")
    prepare("wdbc")
    cfg = TrainConfig(datasets=["yaib_mortality24_mimic"], encoder="ehr_gru", test_on=["wdbc"], out_dir=tmp_path)
    with pytest.raises(ClimbUsageError, match=r"test_on wdbc: its labels \(binary \['benign', 'malignant'\]\) differ"):
        train(cfg)
    assert not cfg.run_dir.exists()
