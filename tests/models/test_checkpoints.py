"""Encoder weights round-trip through save_encoder / create_encoder(pretrained_path=...)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from climb.models import EncoderError, create_encoder, load_encoder, save_encoder


def _perturb(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)


@pytest.mark.parametrize(
    ("name", "x"),
    [
        ("convnextv2_atto", torch.randn(2, 1, 32, 32)),
        ("resnet1d_wang", torch.randn(2, 1, 250)),
        ("eegnet", torch.randn(2, 1, 250)),
    ],
)
def test_round_trip_identical_outputs(tmp_path: Path, name: str, x: torch.Tensor) -> None:
    model = create_encoder(name, in_channels=1)
    _perturb(model)
    model.eval()
    path = save_encoder(model, tmp_path / f"{name}.safetensors")
    reloaded = create_encoder(name, in_channels=1, pretrained_path=path).eval()
    rebuilt = load_encoder(path).eval()
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(reloaded(x), expected, rtol=0, atol=0)
        torch.testing.assert_close(rebuilt(x), expected, rtol=0, atol=0)
    fresh = create_encoder(name, in_channels=1).eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(x), expected)


def test_checkpoint_of_another_encoder_is_refused(tmp_path: Path) -> None:
    path = save_encoder(create_encoder("eegnet", in_channels=2), tmp_path / "e.safetensors")
    with pytest.raises(EncoderError, match="holds encoder 'eegnet'"):
        create_encoder("shallow_fbcsp", in_channels=2, pretrained_path=path)


def test_mismatched_weights_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"nonsense.weight": torch.zeros(3)}}, path)
    with pytest.raises(EncoderError, match="other.pt"):
        create_encoder("eegnet", in_channels=2, pretrained_path=path)
    with pytest.raises(EncoderError, match="not found"):
        create_encoder("eegnet", in_channels=2, pretrained_path=tmp_path / "missing.safetensors")


def test_timm_format_weights_load_with_channel_adaptation(tmp_path: Path) -> None:
    """A timm checkpoint (3 input channels, 1000-class head) loads into a 1-channel encoder."""
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("resnet18", pretrained=False, num_classes=1000, in_chans=3)
    path = tmp_path / "resnet18_timm.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    model = create_encoder("resnet18", in_channels=1, pretrained_path=path)
    torch.testing.assert_close(model.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))
    assert model.out_dim == 512
