"""2D image encoders (B, C, H, W) -> (B, out_dim): timm backbones and two clinical towers.

`pretrained_file` (a local file `climb.models.weights` resolved from a tag, a hub id or
a path) loads weights in the library's own layout: timm's loader adapts the first conv
to `in_channels` and drops the classifier; `rad_dino` reads the transformers DINOv2
checkpoint of microsoft/rad-dino (its config.json beside it); `biomedclip_image_tower`
takes the `visual.trunk.*` tensors of BiomedCLIP's open_clip checkpoint into timm's
ViT-B/16 (open_clip builds that tower with timm too, `open_clip_config.json`:
`vision_cfg.timm_model_name`), so the PubMedBERT text tower (which needs transformers
and its own hub config) is never built. `resnet18_small` is the MedMNIST variant for
28-64 px inputs: a 3x3 stride-1 stem conv and no max-pool, so the stem keeps resolution.
"""

from __future__ import annotations

import logging
from typing import Any

import timm
import torch
from torch import nn

from climb.models.registry import EncoderError, read_state_dict

log = logging.getLogger(__name__)

def timm_backbone(
    timm_name: str, in_channels: int, pretrained_file: str | None = None, **kwargs: Any
) -> nn.Module:
    """A timm model without classifier (num_classes=0), `out_dim` = its pooled feature size."""
    if pretrained_file is not None:
        overlay = {"state_dict": read_state_dict(pretrained_file), "source": ""}
        model = timm.create_model(
            timm_name, pretrained=True, pretrained_cfg_overlay=overlay,
            num_classes=0, in_chans=in_channels, **kwargs,
        )
    else:
        model = timm.create_model(timm_name, pretrained=False, num_classes=0, in_chans=in_channels, **kwargs)
    model.out_dim = model.num_features
    return model


def timm_encoder(in_channels: int, timm_name: str, pretrained_file: str | None = None, **kwargs: Any) -> nn.Module:
    """The registry's timm encoders (`factory_kwargs: {timm_name: ...}` in encoders.yaml)."""
    return timm_backbone(timm_name, in_channels, pretrained_file, **kwargs)


def resnet18_small(in_channels: int, pretrained_file: str | None = None, **kwargs: Any) -> nn.Module:
    """ResNet-18 whose stem keeps spatial resolution; ImageNet-stem weights keep all but conv1.

    As the MedMNIST ResNet-18 (28), the last BatchNorm of each block starts at weight 1, not
    timm's zero (`zero_init_last=False`; pass True for timm's init). On BreastMNIST this lifted
    validation / test AUROC of seeds 0 and 1 from 0.932 / 0.894 and 0.927 / 0.838 to
    0.971 / 0.912 and 0.941 / 0.895 (benchmarks/README.md).
    """
    kwargs.setdefault("zero_init_last", False)
    model = timm_backbone("resnet18", in_channels, pretrained_file, **kwargs)
    model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    if pretrained_file is not None:
        log.warning("resnet18_small: %s loaded; the 3x3 stem conv is freshly initialised", pretrained_file)
    return model


def biomedclip_image_tower(in_channels: int, pretrained_file: str | None = None, **kwargs: Any) -> nn.Module:
    """BiomedCLIP's image encoder: timm ViT-B/16, embedding = the trunk's CLS token (768)."""
    model = timm_backbone("vit_base_patch16_224", in_channels, **kwargs)
    if pretrained_file is not None:
        state = read_state_dict(pretrained_file)
        prefix = "visual.trunk."
        trunk = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not trunk:
            raise EncoderError(f"{pretrained_file}: no '{prefix}*' tensors: not an open_clip BiomedCLIP checkpoint")
        trunk = {k: v for k, v in trunk.items() if not k.startswith("head.")}
        try:
            model.load_state_dict(trunk, strict=True)
        except RuntimeError as exc:
            raise EncoderError(f"{pretrained_file}: BiomedCLIP image tower does not fit: {exc}") from exc
    return model


def rad_dino(in_channels: int, pretrained_file: str | None = None, **kwargs: Any) -> nn.Module:
    """RAD-DINO (microsoft/rad-dino): transformers `Dinov2Model`, embedding = the CLS token (768).

    With weights, the model is built from the `config.json` beside them (the hub snapshot);
    without, from DINOv2-base settings at 518 px (RAD-DINO's input size).
    """
    return Dinov2Encoder(in_channels, pretrained_file, **kwargs)


class Dinov2Encoder(nn.Module):
    """A transformers DINOv2 backbone whose forward returns the pooled CLS token."""

    def __init__(self, in_channels: int, pretrained_file: str | None = None, image_size: int = 518):
        super().__init__()
        from pathlib import Path

        from climb.extras import require

        require("transformers", "the RAD-DINO encoder")
        from transformers import Dinov2Config, Dinov2Model

        config_file = Path(pretrained_file).with_name("config.json") if pretrained_file else None
        if config_file is not None and config_file.is_file():
            config = Dinov2Config.from_json_file(str(config_file))
        else:
            config = Dinov2Config(image_size=image_size)
        config.num_channels = in_channels
        self.backbone = Dinov2Model(config)
        if pretrained_file is not None:
            state = read_state_dict(pretrained_file)
            state = {k.removeprefix("dinov2."): v for k, v in state.items()}
            try:
                self.backbone.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise EncoderError(f"{pretrained_file}: not a DINOv2 checkpoint for {in_channels} channels: {exc}") \
                    from exc
        self.out_dim = config.hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(pixel_values=x).pooler_output
