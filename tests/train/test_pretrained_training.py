"""Training from pretrained weights by name, offline: hf-hub ids, published folders, timm tags.

Weights are laid out as huggingface_hub's cache does under a temporary HF_HOME
(HF_HUB_OFFLINE=1), then reached through the real `TrainConfig.pretrained` / `climb train
--pretrained` / `climb fewshot --init` paths; nothing of climb is mocked. Data: the real UCR
ECG200 beats (shipped by an installed package) and the real BreastMNIST images (../shared/data).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from climb.cli import app
from climb.models.contract import ContractError, InputContract
from climb.models.publish import copy_into_hub_cache
from climb.train import TrainConfig, train
from climb.train.data import build_task, pretrained_contract
from climb.train.module import ClimbModule
from helpers import prepare_into, published_ecg200

FAST = {"epochs": 1, "batch_size": 16, "limit_train_batches": 2, "n_boot": 10}


@pytest.fixture(scope="module")
def home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ECG200 and BreastMNIST prepared, and one ECG200 run published as a climb model folder."""
    home = tmp_path_factory.mktemp("pretrained_home")
    prepare_into(home, {"breastmnist": shared_data / "medmnist"})
    published_ecg200(home)
    return home


@pytest.fixture()
def hub(home: Path, hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The prepared home, and an empty offline Hugging Face cache (tests/conftest.py)."""
    monkeypatch.setenv("CLIMB_HOME", str(home))
    return hub_cache


def _same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_climb_train_starts_from_an_hf_hub_id(home: Path, hub: Path, tmp_path: Path) -> None:
    """`climb train --pretrained hf-hub:...` loads the published weights: a linear probe keeps them exactly."""
    copy_into_hub_cache(home / "published", "lab/ecg200-resnet1d", hub)
    result = CliRunner().invoke(app, ["train", "-d", "ecg200", "-e", "resnet1d_wang", "--pretrained",
                                      "hf-hub:lab/ecg200-resnet1d", "--freeze-encoder", "--epochs", "1",
                                      "--batch-size", "16", "--limit-train-batches", "2", "--n-boot", "10",
                                      "--out", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "ecg200__resnet1d_wang__seed0"
    _same_tensors(load_file(run / "encoder.safetensors"), load_file(home / "published" / "model.safetensors"))
    rows = (run / "results.csv").read_text()
    assert ",pretrained," in rows and ",linear_probe," in rows
    assert "pretrained: hf-hub:lab/ecg200-resnet1d" in (run / "config.yaml").read_text()


def test_fewshot_inits_take_published_folders_and_hub_ids(home: Path, hub: Path, tmp_path: Path) -> None:
    copy_into_hub_cache(home / "published", "lab/ecg200-resnet1d", hub)
    result = CliRunner().invoke(app, ["fewshot", "ecg200", "-e", "resnet1d_wang", "--shots", "4", "--seeds", "0",
                                      "--init", f"folder={home / 'published'}", "--init",
                                      "hub=hf-hub:lab/ecg200-resnet1d", "--epochs", "1", "--batch-size", "8",
                                      "--n-boot", "10", "--out", str(tmp_path / "fs")])
    assert result.exit_code == 0, result.output
    published = load_file(home / "published" / "model.safetensors")
    for init in ("folder", "hub"):
        probe = tmp_path / "fs" / f"ecg200__resnet1d_wang__k4__{init}__linear_probe__seed0" / "encoder.safetensors"
        _same_tensors(load_file(probe), published)
    assert {"scratch", "folder", "hub"} <= set((tmp_path / "fs" / "fewshot_results.csv").read_text().split(","))


def test_missing_hub_weights_stop_a_run_before_training_with_the_how_to(hub: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "-d", "ecg200", "-e", "resnet1d_wang", "--pretrained",
                                      "hf-hub:lab/absent", "--out", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line and "lab/absent" in line and "HF_HUB_OFFLINE" in line and "hf download" in line
    assert not (tmp_path / "runs").exists()


def test_published_folder_settings_are_used_not_the_defaults(home: Path, hub: Path, tmp_path: Path) -> None:
    """A published encoder trained with non-default settings loads from its config.json alone."""
    from climb.models import create_encoder, save_encoder

    wide = create_encoder("resnet1d_wang", in_channels=1, width=32)
    save_encoder(wide, tmp_path / "w" / "model.safetensors")
    config = json.loads((home / "published" / "config.json").read_text())
    config["encoder_config"] = {"in_channels": 1, "width": 32}
    folder = tmp_path / "pub"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes((tmp_path / "w" / "model.safetensors").read_bytes())
    config["weights_sha256"] = None
    (folder / "config.json").write_text(json.dumps(config))
    cfg = TrainConfig(datasets=["ecg200"], encoder="resnet1d_wang", pretrained=str(folder), freeze_encoder=True,
                      out_dir=tmp_path / "runs", **FAST)
    result = train(cfg)
    _same_tensors(load_file(result.encoder_path), load_file(folder / "model.safetensors"))


def _timm_tag_in_cache(hub: Path, tmp_path: Path) -> dict[str, torch.Tensor]:
    import timm

    source = timm.create_model("convnextv2_atto", pretrained=False, num_classes=1000)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    folder = tmp_path / "timm_src"
    folder.mkdir()
    save_file(state, str(folder / "model.safetensors"))
    copy_into_hub_cache(folder, "timm/convnextv2_atto.fcmae_ft_in1k", hub)
    return state


def test_a_timm_tags_contract_sets_the_load_transform_and_the_encoder_width(hub: Path, tmp_path: Path) -> None:
    """Grayscale 28 px BreastMNIST meets ImageNet ConvNeXt-V2 weights: 224 px, the weights' mean/std,
    an RGB encoder fed by the task's channel adapter (1 channel tiled to 3)."""
    state = _timm_tag_in_cache(hub, tmp_path)
    cfg = TrainConfig(datasets=["breastmnist"], encoder="convnextv2_atto", pretrained="convnextv2_atto.fcmae_ft_in1k")
    contract = pretrained_contract(cfg)
    assert contract is not None and contract.image_size == 224
    default = cfg.model_copy(update={"pretrained": True})  # the encoder's default zoo weights (this tag)
    assert pretrained_contract(TrainConfig.model_validate(default.model_dump())) == contract
    assert TrainConfig(datasets=["breastmnist"], encoder="convnextv2_atto", pretrained=False).pretrained is None
    task = build_task("breastmnist", "image", input_field=None, transform="default", shots=None, seed=0,
                      contract=contract)
    raw = build_task("breastmnist", "image", input_field=None, transform=None, shots=None, seed=0)
    x, stored = task.test[0]["image"], raw.test[0]["image"]
    assert tuple(x.shape) == (1, 224, 224) and tuple(stored.shape) == (1, 28, 28)
    # normalised with the mean of the weights' per-channel statistics (ImageNet), not the dataset's
    mean, std = sum(contract.mean) / 3, sum(contract.std) / 3
    corner = float(stored[0, 0, 0]) / 255.0
    assert float(x[0, 0, 0]) == pytest.approx((corner - mean) / std, abs=1e-5)
    module = ClimbModule(cfg.model_dump(mode="json"), ClimbModule.task_info_from({"breastmnist": task}))
    torch.testing.assert_close(module.encoder.stem[0].weight, state["stem.0.weight"], rtol=0, atol=0)
    assert set(module.adapters) == {"breastmnist"} and module.adapters["breastmnist"].out_channels == 3
    assert module({"image": x[None]}, "breastmnist").shape == (1, 1)


def test_an_unmet_contract_is_a_clear_error_and_a_stated_rate_is_consent(home: Path, hub: Path) -> None:
    """A 200 Hz contract on ECG200 (no rate in its card) cannot be met; PTB-style resampling needs consent."""
    card = json.loads((home / "prepared" / "ecg200" / "card.json").read_text())
    from climb.train.data import contract_options

    field = next(iter(f for f in card["fields"] if f != "label"))
    with pytest.raises(ContractError, match="no sampling rate"):
        contract_options(InputContract(kind="signal", sampling_rate=200), card, field, {})
    card["fields"][field]["sampling_rate"] = 100
    with pytest.raises(ContractError, match="transform_options sampling_rate: 200"):
        contract_options(InputContract(kind="signal", sampling_rate=200), card, field, {})
    options, _ = contract_options(InputContract(kind="signal", sampling_rate=200, window=400), card, field,
                                  {"sampling_rate": 200})
    assert options == {"sampling_rate": 200, "crop_seconds": 2.0}
