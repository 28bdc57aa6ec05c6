"""2D image encoders (B, C, H, W) -> (B, out_dim), built with timm and never downloaded.

`pretrained_file` (via `create_encoder(..., pretrained_path=...)`) loads timm-format
weights from a local file through timm's own loader, which adapts the first conv to
`in_channels` and drops the classifier. `resnet18_small` is the MedMNIST variant for
28-64 px inputs: a 3x3 stride-1 stem conv and no max-pool, so the stem keeps resolution.
"""

from __future__ import annotations

import logging
from typing import Any

import timm
from torch import nn

from climb.models.registry import read_state_dict, register_encoder

log = logging.getLogger(__name__)

# registry name -> (timm model name, description)
TIMM_ENCODERS: dict[str, tuple[str, str]] = {
    "convnext_atto": ("convnext_atto", "ConvNeXt atto (3.4M)"),
    "convnextv2_atto": ("convnextv2_atto", "ConvNeXt-V2 atto (3.4M); CLIMB's best family"),
    "convnextv2_tiny": ("convnextv2_tiny", "ConvNeXt-V2 tiny (28M)"),
    "swin_tiny": ("swin_tiny_patch4_window7_224", "Swin-T, patch 4, window 7; set img_size for small inputs"),
    "vit_tiny": ("vit_tiny_patch16_224", "ViT-Ti/16; set img_size (and patch_size) for small inputs"),
    "resnet18": ("resnet18", "ResNet-18 (ImageNet stem: 7x7 stride-2 conv + max-pool)"),
    "efficientnet_b0": ("efficientnet_b0", "EfficientNet-B0"),
}


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


def _register_timm(name: str, timm_name: str, description: str) -> None:
    def factory(in_channels: int, pretrained_file: str | None = None, **kwargs: Any) -> nn.Module:
        return timm_backbone(timm_name, in_channels, pretrained_file, **kwargs)

    register_encoder(name, "image", in_channels=3, description=description, foreign_weights=True)(factory)


for _name, (_timm_name, _desc) in TIMM_ENCODERS.items():
    _register_timm(_name, _timm_name, _desc)


@register_encoder(
    "resnet18_small", "image", in_channels=3, foreign_weights=True,
    description="ResNet-18 with 3x3 stride-1 stem, no max-pool (MedMNIST, 28-64 px)",
)
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
