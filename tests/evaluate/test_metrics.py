"""Metrics against scikit-learn on known inputs, ECE on hand-computed cases, tidy rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from climb.evaluate import ResultRow, bootstrap_metrics, compute_metrics, result_rows, to_frame


@pytest.fixture
def binary_case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.25, 200), 0, 1), 1)  # rounding -> many ties
    return y, score


def test_binary_matches_sklearn(binary_case: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = binary_case
    m = compute_metrics("binary", y, p, threshold=0.5)
    pred = (p >= 0.5).astype(int)
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["auprc"] == pytest.approx(skm.average_precision_score(y, p))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - pred))
    assert compute_metrics("binary", y, np.stack([1 - p, p], 1))["auroc"] == pytest.approx(m["auroc"])
    assert compute_metrics("binary", y, p, threshold=0.3)["sensitivity"] > m["sensitivity"]


def test_multiclass_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    logits = rng.normal(size=(300, 4)) + 1.5 * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = compute_metrics("multiclass", y, p)
    pred = p.argmax(1)
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"))
    onehot = np.eye(4)[y]
    assert m["auprc"] == pytest.approx(skm.average_precision_score(onehot, p, average="macro"))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    # sensitivity / specificity of the argmax prediction, macro one-vs-rest
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    confusion = skm.multilabel_confusion_matrix(y, pred)  # per class [[tn, fp], [fn, tp]]
    spec = np.mean([c[0, 0] / (c[0, 0] + c[0, 1]) for c in confusion])
    assert m["specificity"] == pytest.approx(spec)
    assert not m.notes


def test_multiclass_sensitivity_follows_the_argmax_not_a_threshold() -> None:
    p = np.array([[0.45, 0.30, 0.25], [0.30, 0.45, 0.25], [0.25, 0.30, 0.45]])
    m = compute_metrics("multiclass", np.array([0, 1, 2]), p)  # every argmax right, no score >= 0.5
    assert m["accuracy"] == m["sensitivity"] == m["specificity"] == 1.0


def test_multilabel_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, (150, 3))
    p = np.clip(0.4 * y + rng.uniform(0, 0.6, (150, 3)), 0, 1)
    m = compute_metrics("multilabel", y, p)
    pred = (p >= 0.5).astype(int)
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p, average="macro"))
    assert m["auprc"] == pytest.approx(skm.average_precision_score(y, p, average="macro"))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["accuracy"] == pytest.approx(1 - skm.hamming_loss(y, pred))


def test_absent_class_is_skipped_with_note() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2],
                  [0.3, 0.4, 0.3], [0.6, 0.2, 0.2], [0.1, 0.2, 0.7]])
    m = compute_metrics("multiclass", y, p)
    expected = np.mean([skm.roc_auc_score(y == k, p[:, k]) for k in (0, 1)])
    assert m["auroc"] == pytest.approx(expected)
    assert any("class 2" in note for note in m.notes)
    single = compute_metrics("binary", np.zeros(4, int), np.array([0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(single["auroc"]) and single.notes


def test_ece_hand_computed() -> None:
    # confidences 0.9, 0.75, 0.62, 0.7 fall in four different bins of width 1/15
    y, p = np.array([1, 0, 1, 1]), np.array([0.9, 0.75, 0.62, 0.3])
    assert compute_metrics("binary", y, p)["ece"] == pytest.approx((0.1 + 0.75 + 0.38 + 0.7) / 4)
    # 0.9, 0.92 and (1 - 0.1) share one bin: accuracy 1, mean confidence 0.9067
    y, p = np.array([1, 1, 0]), np.array([0.9, 0.92, 0.1])
    assert compute_metrics("binary", y, p)["ece"] == pytest.approx(0.28 / 3)
    perfect = compute_metrics("multiclass", np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert perfect["ece"] == pytest.approx(0.0)


def test_regression_matches_sklearn() -> None:
    y, s = np.array([1.0, 2.0, 4.0, 8.0]), np.array([1.5, 2.0, 3.0, 9.0])
    m = compute_metrics("regression", y, s)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, s))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, s)))
    assert m["r2"] == pytest.approx(skm.r2_score(y, s))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="3 samples but y_score has 2"):
        compute_metrics("binary", [0, 1, 1], [0.2, 0.4])
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics("binary", [0, 1], [0.2, float("nan")])


def test_tidy_rows_to_frame(binary_case: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = binary_case
    cis = bootstrap_metrics("binary", y, p, n_boot=50, seed=0)
    keys = dict(dataset="pneumoniamnist", split="test", protocol="single_task", encoder="resnet18_small", seed=0)
    rows = result_rows(cis, **keys)
    frame = to_frame(rows + [ResultRow(metric="loss", value=0.3, **keys)])
    assert list(frame.columns[:9]) == ["dataset", "split", "protocol", "encoder", "seed", "metric",
                                       "value", "ci_low", "ci_high"]
    auroc = frame.set_index("metric").loc["auroc"]
    assert auroc["ci_low"] <= auroc["value"] <= auroc["ci_high"]
    assert len(frame) == len(cis) + 1 and frame["dataset"].eq("pneumoniamnist").all()


def test_labels_outside_task_are_refused() -> None:
    with pytest.raises(ValueError, match="0/1"):
        compute_metrics("binary", [1, 2, 2], [0.2, 0.4, 0.9])
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics("multilabel", np.array([[1.0, np.nan]]), np.array([[0.5, 0.5]]))


def test_every_task_type_has_one_declared_headline() -> None:
    from climb.evaluate import METRICS, Metric, headline, metrics_for, register_metric

    assert {t: headline(t).name for t in ("binary", "multiclass", "multilabel", "regression")} == {
        "binary": "auroc", "multiclass": "auroc", "multilabel": "auroc", "regression": "mae"}
    assert headline("regression").oriented(2.0) == -2.0 and headline("binary").oriented(0.7) == 0.7
    assert [m.name for m in metrics_for("regression")] == ["mae", "rmse", "r2"]
    with pytest.raises(ValueError, match="already has headline metric 'auroc'"):
        register_metric(Metric("other", "other", lambda e: 0.0, headline_for=("binary",)))
    assert "other" not in METRICS


def test_a_registered_metric_reaches_compute_metrics_and_the_bootstrap(binary_case) -> None:
    from climb.evaluate import METRICS, Metric, register_metric

    y, p = binary_case
    register_metric(Metric("mean_score", "mean score", lambda e: float(e.s.mean()), tasks=("binary",)))
    try:
        assert compute_metrics("binary", y, p)["mean_score"] == pytest.approx(p.mean())
        ci = bootstrap_metrics("binary", y, p, n_boot=20)["mean_score"]
        assert ci.low <= ci.value <= ci.high
        assert "mean_score" not in compute_metrics("regression", y.astype(float), p)
    finally:
        METRICS.pop("mean_score")


def test_typed_setting_columns_follow_the_metric_columns() -> None:
    rows = result_rows({"auroc": 0.8}, dataset="a", split="test", protocol="fewshot", encoder="e", seed=0,
                       task="binary", trained_on="a", shots=8, init="scratch", mode="finetune")
    frame = to_frame(rows)
    assert list(frame.columns[11:]) == ["task", "trained_on", "shots", "init", "mode", "fusion", "modalities",
                                        "dropped"]
    assert frame["shots"].iloc[0] == 8 and str(frame["shots"].dtype) == "Int64"
    assert frame["fusion"].isna().all()


def test_brier_score_matches_sklearn_and_is_reported_with_a_ci(binary_case) -> None:
    y, p = binary_case
    assert compute_metrics("binary", y, p)["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    rng = np.random.default_rng(3)
    yk = rng.integers(0, 3, 50)
    pk = rng.dirichlet(np.ones(3), 50)
    expected = np.mean(((pk - np.eye(3)[yk]) ** 2).sum(axis=1))
    assert compute_metrics("multiclass", yk, pk)["brier"] == pytest.approx(expected)
    ym, pm = rng.integers(0, 2, (40, 4)), rng.random((40, 4))
    assert compute_metrics("multilabel", ym, pm)["brier"] == pytest.approx(np.mean((pm - ym) ** 2))
    assert compute_metrics("binary", [0, 1], [0.0, 1.0])["brier"] == 0.0
    ci = bootstrap_metrics("binary", y, p, n_boot=30)["brier"]
    assert ci.low <= ci.value <= ci.high and "brier" not in compute_metrics("regression", [1.0, 2.0], [1.0, 2.5])
