"""`climb fusion`'s closing summary table renders rows gathered from several results frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from climb.cli.cmd_fusion import _summary


def test_summary_renders_missing_dropped_and_init_as_blank(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Concatenated per-run frames hold NaN (not None) where a row has no dropped modality: the table
    crashed with rich's NotRenderableError (seen on the GPU check, after the results were written)."""
    base = {"task": "binary", "metric": "auroc", "ci_low": 0.4, "ci_high": 0.9, "modalities": "static+timeseries",
            "notes": [[]], "init": "scratch"}
    frame = pd.DataFrame([
        {**base, "dataset": "yaib_mortality24_mimic", "split": "test", "fusion": "late_average", "shots": math.nan,
         "dropped": math.nan, "value": 0.484},
        {**base, "dataset": "yaib_mortality24_eicu", "split": "all", "fusion": "cross_attention", "shots": 8.0,
         "dropped": "static", "value": 0.632, "init": math.nan},
    ])
    monkeypatch.setenv("COLUMNS", "200")  # one line per row
    _summary(frame)
    out = capsys.readouterr().out
    assert "late_average" in out and "0.484 [0.400, 0.900]" in out and "static" in out and "nan" not in out
