"""EEG encoders (B, channels, samples) -> (B, out_dim): braindecode's models, used as encoders.

braindecode (Schirrmeister et al. 2017; maintained with its Hugging Face weights) builds
every network; climb only takes the features before each model's classifier
(`final_layer`) and, for the convolutional models, average-pools them to
`pooled_steps` time steps, so the embedding size does not depend on the window length:

| climb name | braindecode class | embedding |
|---|---|---|
| `eegnet` | `EEGNet` (EEGNet-8,2, Lawhern 2018) | features before `final_layer`, pooled |
| `shallow_fbcsp` | `ShallowFBCSPNet` (Schirrmeister 2017) | features before `final_layer`, pooled |
| `eeg_conformer` | `EEGConformer` (Song 2023) | transformer tokens, mean (its `fc` flattens a fixed length) |
| `biot` | `BIOT` (Yang 2023) | `forward(return_features=True)` |
| `labram` | `Labram` (Jiang 2024) | `forward(return_features=True)` tokens, mean; channels named |

Weights in braindecode's own layout (`braindecode/...` on the hub, written by
`PyTorchModelHubMixin`) load into `encoder.model`; their classifier (`final_layer.*`)
is dropped. braindecode is imported only when an EEG encoder is built (it takes
~25 s to import on a busy 2-core machine).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

CLASSIFIER_PREFIX = "final_layer."


class BraindecodeEncoder(nn.Module):
    """A braindecode model whose classifier is removed; `forward` returns its features."""

    def __init__(self, model: nn.Module, features: str, out_dim: int, pooled_steps: int = 4,
                 ch_names: list[str] | None = None):
        super().__init__()
        self.model, self.features = model, features
        self.model.final_layer = nn.Identity()
        self.pooled = nn.AdaptiveAvgPool1d(pooled_steps) if features == "pooled" else None
        self.ch_names = ch_names
        self.out_dim = out_dim * pooled_steps if self.pooled is not None else out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = getattr(self.model, "n_chans", None)
        if expected is not None and x.shape[1] != expected:  # braindecode would fail deep inside (IndexError)
            raise ValueError(f"{type(self.model).__name__} encoder built for {expected} channels, "
                             f"got input with {x.shape[1]}")
        if self.features == "pooled":  # (B, F, 1, T) or (B, F, T, 1) conv maps -> (B, F * pooled_steps)
            h = self.model(x)
            return self.pooled(h.reshape(h.shape[0], h.shape[1], -1)).flatten(1)
        if self.features == "tokens":  # EEGConformer: transformer tokens, mean over time
            tokens = self.model.transformer(self.model.patch_embedding(x.unsqueeze(1)))
            return tokens.mean(dim=1)
        kwargs = {"ch_names": self.ch_names} if self.ch_names is not None else {}
        features = self.model(x, return_features=True, **kwargs)["features"]
        return features.mean(dim=1) if features.dim() == 3 else features  # LaBraM: (B, tokens, D) -> mean

    def load_braindecode_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a braindecode state dict (its classifier is ignored), strictly for everything else."""
        keep = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIX)}
        self.model.load_state_dict(keep, strict=True)


def _with_weights(encoder: BraindecodeEncoder, pretrained_file: str | None) -> BraindecodeEncoder:
    """`encoder` with braindecode-layout weights from `pretrained_file` (a hub model.safetensors)."""
    if pretrained_file is None:
        return encoder
    from climb.models.registry import EncoderError, read_state_dict

    try:
        encoder.load_braindecode_state(read_state_dict(pretrained_file))
    except RuntimeError as exc:
        raise EncoderError(f"{pretrained_file}: weights do not fit this braindecode model: {exc}") from exc
    return encoder


def _braindecode(cls_name: str, in_channels: int, n_times: int, sfreq: float, **kw: Any) -> nn.Module:
    from climb.extras import require

    with warnings.catch_warnings():  # braindecode's import-time deprecation noise
        warnings.simplefilter("ignore", FutureWarning)
        bd = require("braindecode.models", "the EEG encoders")
    with warnings.catch_warnings():  # "trained at 200 Hz" style hints: the input contract checks this
        warnings.simplefilter("ignore", UserWarning)
        return getattr(bd, cls_name)(n_chans=in_channels, n_outputs=2, n_times=n_times, sfreq=sfreq, **kw)


def eegnet(in_channels: int, pretrained_file: str | None = None, n_times: int = 1000, sfreq: float = 250.0, pooled_steps: int = 4,
           **kw: Any) -> nn.Module:
    model = _braindecode("EEGNet", in_channels, n_times, sfreq, **kw)
    return _with_weights(BraindecodeEncoder(model, "pooled", model.F2, pooled_steps), pretrained_file)


def shallow_fbcsp(in_channels: int, pretrained_file: str | None = None, n_times: int = 1000, sfreq: float = 250.0, pooled_steps: int = 4,
                  **kw: Any) -> nn.Module:
    model = _braindecode("ShallowFBCSPNet", in_channels, n_times, sfreq, **kw)
    return _with_weights(BraindecodeEncoder(model, "pooled", model.n_filters_spat, pooled_steps), pretrained_file)


def eeg_conformer(in_channels: int, pretrained_file: str | None = None, n_times: int = 1000, sfreq: float = 250.0, **kw: Any) -> nn.Module:
    model = _braindecode("EEGConformer", in_channels, n_times, sfreq, **kw)
    model.fc = nn.Identity()  # flattens a fixed token count: unused by the length-free embedding
    return _with_weights(BraindecodeEncoder(model, "tokens", model.n_filters_time), pretrained_file)


def biot(in_channels: int, pretrained_file: str | None = None, n_times: int = 2000, sfreq: float = 200.0, **kw: Any) -> nn.Module:
    model = _braindecode("BIOT", in_channels, n_times, sfreq, **kw)
    return _with_weights(BraindecodeEncoder(model, "features", model.embed_dim), pretrained_file)


def labram(in_channels: int, pretrained_file: str | None = None, n_times: int = 2000, sfreq: float = 200.0, ch_names: list[str] | None = None,
           **kw: Any) -> nn.Module:
    """LaBraM: its channel embedding is indexed by 10-20 names (`ch_names`, one per input channel)."""
    model = _braindecode("Labram", in_channels, n_times, sfreq, **kw)
    return _with_weights(BraindecodeEncoder(model, "features", model.embed_dim, ch_names=ch_names), pretrained_file)
