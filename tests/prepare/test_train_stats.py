"""Train-split statistics: a tabular or time-series field without builder statistics gets its
per-feature mean/std from the train split alone, in the card, applied by the default transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from climb.loading.transforms import default_transform
from climb.prepare import open_prepared, prepare


def _rows(ds, split: str, field: str) -> np.ndarray:
    """Every stored row of `field` in `split`, stacked as (values, features)."""
    view = ds.field(split, field)
    arrays = [np.asarray(view[i], dtype=np.float64) for i in range(ds.card["splits"][split]["num_samples"])]
    return np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays])


def test_tabular_stats_are_the_train_splits_and_standardise_it() -> None:
    ds = prepare("wdbc")  # scikit-learn's real WDBC table; the builder gives no statistics
    meta = ds.card["fields"]["tabular"]
    train = _rows(ds, "train", "tabular")
    everything = np.concatenate([_rows(ds, s, "tabular") for s in ds.card["splits"]])
    np.testing.assert_allclose(meta["mean"], train.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(meta["std"], train.std(axis=0), rtol=1e-9)
    assert not np.allclose(meta["mean"], everything.mean(axis=0), rtol=1e-6)  # not the whole dataset's
    assert meta["stats_from"].startswith(f"train split ({len(train)} samples)")
    transform = default_transform(ds.card, train=False).per_field["tabular"]
    standardised = np.stack([transform(np.asarray(ds.field("train", "tabular")[i])) for i in range(len(train))])
    np.testing.assert_allclose(standardised.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(standardised.std(axis=0), 1, atol=1e-4)


def test_timeseries_stats_ignore_missing_values(shared_data: Path) -> None:
    raw = shared_data / "yaib_demo"
    if not raw.is_dir():
        pytest.skip("yaib_demo not present in ../shared/data")
    ds = prepare("yaib_mortality24_mimic", raw=raw)
    meta = ds.card["fields"]["timeseries"]
    train = _rows(ds, "train", "timeseries")  # (sum of hours, 48), NaN = not measured
    measured = ~np.all(np.isnan(train), axis=0)
    np.testing.assert_allclose(np.asarray(meta["mean"])[measured], np.nanmean(train[:, measured], axis=0), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(meta["std"])[measured], np.nanstd(train[:, measured], axis=0), rtol=1e-9)
    names = ds.card["fields"]["timeseries"]["feature_names"]
    assert meta.get("stats_without_train_values", []) == [n for n, m in zip(names, measured) if not m]
    assert open_prepared("yaib_mortality24_mimic").card["fields"]["timeseries"]["mean"] == meta["mean"]


def test_a_store_built_without_train_stats_is_rebuilt_with_them() -> None:
    import json

    from climb.prepare.integrity import seal

    ds = prepare("wdbc")
    card = json.loads((ds.root / "card.json").read_text())
    for key in ("mean", "std", "stats_from"):
        del card["fields"]["tabular"][key]
    (ds.root / "card.json").write_text(json.dumps(seal({k: v for k, v in card.items() if k != "card_sha256"})))
    assert "mean" not in open_prepared("wdbc").card["fields"]["tabular"]  # a sealed card, as older climb wrote it
    assert "mean" in prepare("wdbc").card["fields"]["tabular"]
