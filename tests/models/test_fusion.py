"""Fusion strategies: shapes, masking of absent modalities, per-sample independence, modality dropout."""

from __future__ import annotations

import pytest
import torch

from climb.models.fusion import FUSION_STRATEGIES, make_fusion, masked_softmax, modality_dropout

DIMS = {"signal": 12, "text": 8, "tabular": 5}
B, N_OUT = 6, 3


def _inputs(seed: int = 0, tokens: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = {"signal": (B, 4, 12) if tokens else (B, 12), "text": (B, 7, 8) if tokens else (B, 8), "tabular": (B, 5)}
    return {m: torch.randn(*s, generator=g) for m, s in shape.items()}


def _model(name: str, train: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    extra = {"heads": 2, "layers": 2} if name == "cross_attention" else {}
    model = make_fusion(name, DIMS, N_OUT, hidden=16, **extra)
    return model.train(train)


def _present() -> dict[str, torch.Tensor]:
    return {"signal": torch.tensor([1, 1, 0, 1, 0, 1], dtype=torch.bool),
            "text": torch.tensor([1, 0, 1, 1, 1, 0], dtype=torch.bool),
            "tabular": torch.tensor([0, 1, 1, 1, 0, 0], dtype=torch.bool)}


@pytest.mark.parametrize("name", FUSION_STRATEGIES)
@pytest.mark.parametrize("tokens", [False, True])
def test_output_shape_and_finite(name: str, tokens: bool) -> None:
    out = _model(name)(_inputs(tokens=tokens), _present())
    assert out.shape == (B, N_OUT)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", FUSION_STRATEGIES)
def test_absent_modality_input_does_not_change_that_sample(name: str) -> None:
    model, present = _model(name), _present()
    x = _inputs(tokens=True)
    base = model(x, present)
    for m in DIMS:
        absent = ~present[m]
        changed = {k: v.clone() for k, v in x.items()}
        changed[m][absent] = torch.randn_like(changed[m][absent]) * 100
        changed[m][absent.nonzero()[0, 0]] = float("nan")  # even NaN in an absent input is harmless
        out = model(changed, present)
        torch.testing.assert_close(out[absent], base[absent], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", FUSION_STRATEGIES)
def test_present_modality_input_does_change_the_output(name: str) -> None:
    model, present = _model(name), _present()
    x = _inputs()
    base = model(x, present)
    for m in DIMS:
        changed = {k: v.clone() for k, v in x.items()}
        changed[m] = torch.randn_like(changed[m]) * 3.0  # not a constant shift (LayerNorm removes those)
        out = model(changed, present)
        moved = (out - base).abs().amax(dim=1) > 1e-5
        assert torch.equal(moved, present[m]), f"{name}: {m} moved {moved.tolist()}, present {present[m].tolist()}"


@pytest.mark.parametrize("name", FUSION_STRATEGIES)
def test_no_information_flows_between_samples(name: str) -> None:
    model = _model(name)
    x, present = _inputs(tokens=True), _present()
    base = model(x, present)
    for j in range(B):
        changed = {k: v.clone() for k, v in x.items()}
        for m in changed:
            changed[m][j] = torch.randn_like(changed[m][j]) * 10
        flipped = {m: p.clone() for m, p in present.items()}
        flipped["signal"][j] = ~flipped["signal"][j] if (flipped["text"][j] or flipped["tabular"][j]) else True
        out = model(changed, flipped)
        others = torch.arange(B) != j
        torch.testing.assert_close(out[others], base[others], rtol=0, atol=1e-6)
        assert not torch.allclose(out[j], base[j])


@pytest.mark.parametrize("name", FUSION_STRATEGIES)
def test_any_subset_of_modalities_at_test_time(name: str) -> None:
    model = _model(name)
    x = _inputs()
    only_text = model({"text": x["text"]})
    as_masks = model(x, {"signal": torch.zeros(B, dtype=torch.bool), "text": torch.ones(B, dtype=torch.bool),
                         "tabular": torch.zeros(B, dtype=torch.bool)})
    torch.testing.assert_close(only_text, as_masks)


def test_token_padding_mask_hides_padded_tokens() -> None:
    model = _model("cross_attention")
    x = _inputs(tokens=True)
    keep = torch.ones(B, 7, dtype=torch.bool)
    keep[:, 5:] = False
    base = model(x, None, {"text": keep})
    x["text"][:, 5:] = 1e3
    torch.testing.assert_close(model(x, None, {"text": keep}), base)


def test_cross_attention_reads_the_other_modalities() -> None:
    model = _model("cross_attention")
    x = _inputs()
    alone = model({"signal": x["signal"]})
    with_text = model({"signal": x["signal"], "text": x["text"]})
    assert not torch.allclose(alone, with_text)


def test_all_absent_sample_is_rejected() -> None:
    present = {m: torch.ones(B, dtype=torch.bool) for m in DIMS}
    for m in present:
        present[m][2] = False
    with pytest.raises(ValueError, match="at least one present modality"):
        _model("early_concat")(_inputs(), present)


def test_bad_inputs_are_named() -> None:
    model = _model("gated")
    with pytest.raises(KeyError, match="unknown modality"):
        model({"image": torch.zeros(B, 3)})
    with pytest.raises(ValueError, match="'text' must be"):
        model({"text": torch.zeros(B, 9)})
    with pytest.raises(ValueError, match="unknown fusion strategy"):
        make_fusion("sum", DIMS, 1)


def test_modality_dropout_never_drops_all_and_drops_some() -> None:
    g = torch.Generator().manual_seed(0)
    present = torch.rand(5000, 3, generator=g) < 0.7
    present[present.sum(1) == 0, 0] = True
    kept = modality_dropout(present, 0.6, generator=g)
    assert kept.any(dim=1).all()
    assert not (kept & ~present).any()  # never adds a modality
    rate = 1 - kept.sum() / present.sum()
    assert 0.4 < rate < 0.6  # ~p, less the rescued ones
    assert torch.equal(modality_dropout(present, 0.0), present)
    single = torch.zeros(100, 3, dtype=torch.bool)
    single[:, 1] = True
    assert torch.equal(modality_dropout(single, 0.9, generator=g), single)


def test_modality_dropout_applies_in_training_only() -> None:
    model = make_fusion("early_concat", DIMS, N_OUT, hidden=16, dropout=0.0, modality_dropout=0.5)
    x = _inputs()
    model.eval()
    a, b = model(x), model(x)
    torch.testing.assert_close(a, b)
    model.train()
    torch.manual_seed(1)
    outs = torch.stack([model(x) for _ in range(8)])
    assert (outs.std(dim=0) > 1e-6).any()


def test_masked_softmax_is_zero_when_all_masked() -> None:
    scores = torch.randn(2, 3)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    w = masked_softmax(scores, mask)
    assert torch.allclose(w[0].sum(), torch.tensor(1.0)) and w[0, 1] == 0
    assert torch.equal(w[1], torch.zeros(3))


def test_gradients_reach_every_present_modality_and_stay_finite() -> None:
    for name in FUSION_STRATEGIES:
        model = _model(name, train=True)
        x = {m: v.requires_grad_(True) for m, v in _inputs().items()}
        model(x, _present()).sum().backward()
        for m, v in x.items():
            assert torch.isfinite(v.grad).all()
            assert (v.grad[_present()[m]].abs().sum(dim=1) > 0).all(), (name, m)


def test_cross_attention_never_attends_within_a_modality() -> None:
    model = _model("cross_attention")
    x = {"signal": _inputs(tokens=True)["signal"]}  # one modality alone: no other keys to read
    base = model(x)
    with torch.no_grad():
        for block in model.blocks:
            for lin in (block.attn.q, block.attn.k, block.attn.v):
                lin.weight.add_(torch.randn_like(lin.weight))
    torch.testing.assert_close(model(x), base)
