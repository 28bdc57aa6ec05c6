"""Pretrained weights by name, offline: the real hf-hub: code path over a temporary hub cache.

Every test builds a small model, lays its weights out as huggingface_hub's cache does
(`models--org--name/snapshots/<rev>/...` with `refs/main`) under a temporary HF_HOME,
and loads them through `create_encoder` (HF_HUB_OFFLINE=1: no network call is possible).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from climb.models import EncoderError, create_encoder, save_encoder
from climb.models.publish import copy_into_hub_cache
from climb.models.weights import WeightsUnavailableError


def _cache_repo(cache: Path, repo: str, files: dict[str, Path], revision: str = "a" * 40) -> Path:
    folder = cache.parent / "src" / repo.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        (folder / name).write_bytes(src.read_bytes())
    return copy_into_hub_cache(folder, repo, cache, revision)


def _perturbed(name: str, **kw) -> torch.nn.Module:
    model = create_encoder(name, **kw)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return model.eval()


def test_hf_hub_id_loads_a_cached_climb_checkpoint_and_pins_revisions(tmp_path: Path, hub_cache: Path) -> None:
    model = _perturbed("resnet1d_wang", in_channels=1)
    weights = save_encoder(model, tmp_path / "model.safetensors")
    _cache_repo(hub_cache, "lab/ecg", {"model.safetensors": weights}, revision="b" * 40)
    x = torch.randn(2, 1, 250)
    for ref in ("hf-hub:lab/ecg", "hf-hub:lab/ecg@" + "b" * 40):
        loaded = create_encoder("resnet1d_wang", in_channels=1, pretrained=ref).eval()
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        assert loaded.pretrained_source.startswith(ref)
    with pytest.raises(WeightsUnavailableError, match="c{40}"):
        create_encoder("resnet1d_wang", in_channels=1, pretrained="hf-hub:lab/ecg@" + "c" * 40)


def test_missing_weights_offline_say_which_and_how(hub_cache: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as info:
        create_encoder("rad_dino", pretrained=True)
    message = str(info.value)
    assert "\n" not in message
    for text in ("microsoft/rad-dino", "model.safetensors", "HF_HUB_OFFLINE", "hf download microsoft/rad-dino",
                 "--pretrained /path/to/model.safetensors", str(hub_cache)):
        assert text in message


def test_timm_tag_resolves_offline_from_the_cache(tmp_path: Path, hub_cache: Path) -> None:
    """timm's pretrained config names the hub repo; the weights come from the local cache."""
    import timm

    source = timm.create_model("convnextv2_atto", pretrained=False, num_classes=1000)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    _cache_repo(hub_cache, "timm/convnextv2_atto.fcmae_ft_in1k", {"model.safetensors": path})
    for spec in ("convnextv2_atto.fcmae_ft_in1k", True):  # the zoo/timm tag, and the encoder's default
        model = create_encoder("convnextv2_atto", pretrained=spec)
        torch.testing.assert_close(model.stages[3].blocks[1].conv_dw.weight, source.stages[3].blocks[1].conv_dw.weight)
        assert model.input_contract.image_size == 224 and model.input_contract.mean == (0.485, 0.456, 0.406)
    gray = create_encoder("convnextv2_atto", in_channels=1, pretrained="convnextv2_atto.fcmae_ft_in1k")
    torch.testing.assert_close(gray.stem[0].weight, source.stem[0].weight.sum(dim=1, keepdim=True))
    with pytest.raises(ValueError, match="not a file, a folder"):
        create_encoder("convnextv2_atto", pretrained="resnet50.a1_in1k")


def test_braindecode_hub_weights_give_braindecodes_outputs(tmp_path: Path, hub_cache: Path) -> None:
    """climb's `biot` (zoo tag biot-prest-16chs) and braindecode's BIOT agree on the same weights."""
    from braindecode.models import BIOT, EEGNet

    torch.manual_seed(0)
    ref = BIOT(n_chans=16, n_outputs=2, n_times=2000, sfreq=200).eval()
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    _cache_repo(hub_cache, "braindecode/biot-pretrained-prest-16chs", {"model.safetensors": path})
    ours = create_encoder("biot", pretrained="biot-prest-16chs").eval()
    x = torch.randn(2, 16, 2000)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x, return_features=True)["features"], rtol=0, atol=0)
    assert ours.input_contract.sampling_rate == 200 and len(ours.input_contract.channel_names) == 16

    ref_net = EEGNet(n_chans=4, n_outputs=3, n_times=500, sfreq=250).eval()
    net_path = tmp_path / "eegnet.safetensors"
    save_file({k: v.contiguous() for k, v in ref_net.state_dict().items()}, str(net_path))
    ours_net = create_encoder("eegnet", in_channels=4, pretrained=net_path, n_times=500).eval()
    x = torch.randn(2, 4, 500)
    with torch.no_grad():
        features = torch.nn.Sequential(*list(ref_net.children())[:-1])(x)
        expected = torch.nn.functional.adaptive_avg_pool1d(features.reshape(2, features.shape[1], -1), 4).flatten(1)
        torch.testing.assert_close(ours_net(x), expected, rtol=0, atol=0)


def test_flipped_byte_in_a_climb_checkpoint_is_refused(tmp_path: Path) -> None:
    model = _perturbed("resnet1d_wang", in_channels=1)
    path = save_encoder(model, tmp_path / "encoder.safetensors")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # a weight byte: the file still parses, the weights differ
    path.write_bytes(bytes(data))
    with pytest.raises(EncoderError, match="sha256"):
        create_encoder("resnet1d_wang", in_channels=1, pretrained=path)


def test_local_folder_with_foreign_weights_and_preprocessing(tmp_path: Path) -> None:
    """A hub snapshot copied by hand (RAD-DINO layout): config.json, model.safetensors, preprocessor_config.json."""
    from transformers import Dinov2Config, Dinov2Model

    config = Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                          image_size=28, patch_size=14)
    ref = Dinov2Model(config).eval()
    config.to_json_file(str(tmp_path / "config.json"))
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(tmp_path / "model.safetensors"))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        {"crop_size": {"height": 28, "width": 28}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]}))
    ours = create_encoder("rad_dino", pretrained=tmp_path).eval()
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(pixel_values=x).pooler_output, rtol=0, atol=0)
    assert ours.input_contract.image_size == 28 and ours.input_contract.std == (0.25, 0.25, 0.25)
    assert ours.out_dim == 32
