"""Self-supervised pretraining (MAE, JEPA) on real BreastMNIST and PTB-XL, with tiny budgets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from typer.testing import CliRunner

from climb.train.ssl import (
    SSLConfig, SSLModule, _check_shapes, apply_mask, batch_rng, block_patch_mask, build_pretrain_data, patchify,
    pretrain, random_patch_mask,
)


@pytest.fixture(scope="module")
def prepared_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CLIMB_HOME with ptbxl (100 Hz) and breastmnist prepared, shared by this module's tests."""
    from climb.prepare import prepare

    home = tmp_path_factory.mktemp("ssl_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIMB_HOME", str(home))
        prepare("ptbxl", raw=shared_data / "ptbxl")
        prepare("breastmnist", raw=shared_data / "medmnist")
    return home


@pytest.fixture
def home(prepared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_HOME", str(prepared_home))
    return prepared_home


def _log(run_dir: Path) -> pd.DataFrame:
    """Every attempt's logged metrics (one log version per attempt)."""
    return pd.concat(pd.read_csv(p) for p in sorted(run_dir.glob("logs/version_*/metrics.csv")))


def _trained(run_dir: Path) -> SSLModule:
    """The module of the last checkpoint, read with weights_only=True (never unpickled)."""
    from climb.train.engine import load_checkpoint

    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    module = SSLModule(**ckpt["hyper_parameters"])
    module.load_state_dict(ckpt["state_dict"])
    return module


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


# ---------------------------------------------------------------- masks (no data)


def test_random_patch_mask_has_the_exact_ratio_and_is_seeded():
    mask = random_patch_mask(8, 49, 0.6, batch_rng(0, 0, 0))
    assert mask.shape == (8, 49) and mask.dtype == torch.bool
    assert mask.sum(dim=1).tolist() == [round(0.6 * 49)] * 8
    assert torch.equal(mask, random_patch_mask(8, 49, 0.6, batch_rng(0, 0, 0)))
    assert not torch.equal(mask, random_patch_mask(8, 49, 0.6, batch_rng(0, 0, 1)))  # next batch
    assert not torch.equal(mask, random_patch_mask(8, 49, 0.6, batch_rng(0, 1, 0)))  # next epoch
    assert len({tuple(row.tolist()) for row in mask}) == 8  # every sample its own mask


def test_block_patch_mask_is_exact_contiguous_and_seeded():
    mask = block_patch_mask(16, 20, 0.5, 3, batch_rng(1, 0, 0))
    assert mask.sum(dim=1).tolist() == [10] * 16
    runs = (mask[:, 1:] & ~mask[:, :-1]).sum(dim=1) + mask[:, 0]  # starts of masked runs
    assert int(runs.max()) <= 3 and int(runs.min()) >= 1
    assert torch.equal(mask, block_patch_mask(16, 20, 0.5, 3, batch_rng(1, 0, 0)))


@pytest.mark.parametrize("shape, patch", [((2, 1, 28, 28), 4), ((2, 3, 30, 29), 4), ((2, 12, 1000), 50),
                                          ((2, 2, 1003), 50)])
def test_apply_mask_zeroes_exactly_the_masked_patches(shape, patch):
    x = torch.randn(shape) + 5.0  # no accidental zeros
    n = patchify(x, patch).shape[1]
    assert n == math.prod(-(-s // patch) for s in shape[2:])
    mask = random_patch_mask(shape[0], n, 0.6, batch_rng(0, 0, 0))
    masked = apply_mask(x, mask, patch)
    assert masked.shape == x.shape
    before, after = patchify(x, patch), patchify(masked, patch)
    assert (after[mask] == 0).all()
    assert torch.equal(after[~mask], before[~mask])
    if all(s % patch == 0 for s in shape[2:]):
        zeroed = (masked == 0).float().mean().item()
        assert zeroed == pytest.approx(mask.float().mean().item())


def test_pooling_rejects_mismatched_channels_unless_selected():
    with pytest.raises(ValueError, match=r"different channel counts .* set select_channels"):
        _check_shapes({"ptbxl/train": (12, 1000), "mitdb/train": (2, 1000)}, None)
    with pytest.raises(ValueError, match="one shape"):
        _check_shapes({"a/train": (2, 1000), "b/train": (2, 720)}, [0, 1])
    _check_shapes({"a/train": (2, 1000), "b/train": (2, 1000)}, [0, 1])


# ---------------------------------------------------------------- real data


def test_pretrain_data_pools_splits_and_selects_channels(home):
    data = build_pretrain_data(SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", splits=["train", "val"],
                                         select_channels=[1, 6]))
    assert data.kind == "signal" and data.shape == (2, 1000)
    assert len(data.dataset) == sum(data.sizes.values()) and set(data.sizes) == {"ptbxl/train", "ptbxl/val"}
    with pytest.raises(ValueError, match=r"ptbxl: select_channels \[12\] out of range for its 12 channels"):
        build_pretrain_data(SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", select_channels=[0, 12]))
    with pytest.raises(ValueError, match="test split"):
        SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", splits=["train", "test"])


def test_mae_overfits_a_fixed_breastmnist_batch(home):
    import climb

    torch.manual_seed(0)
    images = climb.load("breastmnist", "train", transform="default", fields=["image"])
    batch = torch.stack([images[i]["image"] for i in range(4)])
    # raw-pixel targets: on 4x4 patches of ultrasound speckle the per-patch normalised
    # targets are mostly noise and fall much more slowly within a few steps
    cfg = SSLConfig(datasets=["breastmnist"], encoder="resnet18_small", objective="mae", norm_pix_loss=False)
    module = SSLModule(cfg.model_dump(mode="json"), "image", [1, 28, 28])
    assert module.patch == 4 and module.n_patches == 49
    mask = module.make_mask(len(batch), batch_rng(0, 0, 0))
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss, _ = module.ssl_loss(batch, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses


def test_mae_pretrain_writes_an_encoder_that_reloads_identically(home, tmp_path):
    from climb.models import create_encoder

    cfg = SSLConfig(datasets=["breastmnist"], encoder="resnet18_small", objective="mae", epochs=1,
                    batch_size=4, limit_train_batches=2, log_every_n_steps=1, out_dir=tmp_path)
    run = pretrain(cfg)
    assert run.steps == 2 and np.isfinite(run.final_loss)
    log = _log(run.run_dir)
    assert log["train/loss_step"].dropna().size == 2
    trained = _trained(run.run_dir)
    reloaded = create_encoder("resnet18_small", in_channels=1, pretrained_path=run.encoder_path)
    fresh = create_encoder("resnet18_small", in_channels=1)
    x = torch.randn(3, 1, 28, 28)
    trained.encoder.eval(), reloaded.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(trained.encoder(x), reloaded(x))
        assert not torch.allclose(fresh(x), reloaded(x))


class EMACheck(Callback):
    """Checks target = m * target_before + (1 - m) * context after every optimizer step."""

    def __init__(self) -> None:
        self.checked = 0
        self._before: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        # runs after the optimizer step and before the module's own hook (the EMA update)
        self._before = (_params(module.target_encoder), _params(module.encoder))

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._check(module)

    def on_train_epoch_end(self, trainer, module) -> None:
        self._check(module)

    def _check(self, module: SSLModule) -> None:
        if self._before is None:
            return
        target_before, context = self._before
        m = module.last_momentum
        assert m is not None and 0.5 < m <= 0.9
        for t, t0, c in zip(module.target_encoder.parameters(), target_before, context):
            assert not t.requires_grad and t.grad is None
            torch.testing.assert_close(t.detach(), m * t0 + (1 - m) * c, rtol=1e-5, atol=1e-6)
        self.checked += 1
        self._before = None


def test_jepa_on_ptbxl_trains_an_ema_target_that_plugs_into_supervised_training(home, tmp_path):
    from climb.models import create_encoder
    from climb.train import TrainConfig, train

    cfg = SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", objective="jepa", epochs=1, batch_size=8,
                    limit_train_batches=3, ema_momentum=(0.5, 0.9), log_every_n_steps=1, out_dir=tmp_path)
    check = EMACheck()
    run = pretrain(cfg, callbacks=[check])
    assert check.checked == 3 and run.steps == 3 and np.isfinite(run.final_loss)
    log = _log(run.run_dir)
    for key in ("train/pred_loss_step", "train/var_loss_step", "train/target_std_step", "train/context_std_step"):
        assert np.isfinite(log[key].dropna()).all() and log[key].dropna().size == 3
    assert (log["train/target_std_step"].dropna() > 0).all()

    trained = _trained(run.run_dir)
    saved = create_encoder("resnet1d_wang", pretrained_path=run.encoder_path)
    for t, s, c in zip(trained.target_encoder.parameters(), saved.parameters(), trained.encoder.parameters()):
        assert torch.equal(t, s)  # the EMA target is what is kept
    assert any(not torch.equal(t, c) for t, c in zip(trained.target_encoder.parameters(),
                                                      trained.encoder.parameters()))

    result = train(TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", pretrained=run.encoder_path, epochs=1,
                               batch_size=16, limit_train_batches=2, n_boot=10, out_dir=tmp_path / "downstream"))
    frame = result.frame()
    assert len(frame) > 0 and result.encoder_path is not None and result.encoder_path.is_file()


def test_non_finite_loss_stops_with_a_clear_message():
    cfg = SSLConfig(datasets=["ptbxl"], encoder="resnet1d_wang", objective="jepa", encoder_kwargs={"width": 16})
    module = SSLModule(cfg.model_dump(mode="json"), "signal", [12, 1000])
    batch = torch.randn(4, 12, 1000)
    batch[0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="non-finite jepa loss"):
        module.training_step(batch, 0)


def test_cli_pretrains_resumes_and_reports_bad_input(home, tmp_path):
    from climb.cli import app

    base = ["pretrain", "--dataset", "breastmnist", "--encoder", "resnet18_small", "--batch-size", "4",
            "--limit-train-batches", "1", "--out", str(tmp_path)]
    first = CliRunner().invoke(app, [*base, "--epochs", "1"])
    assert first.exit_code == 0, first.output
    assert "1 steps" in first.output and "encoder.safetensors" in first.output
    again = CliRunner().invoke(app, [*base, "--epochs", "1"])  # the same run: resumes, trains no more
    assert again.exit_code == 0 and "1 steps" in again.output, again.output
    log = _log(tmp_path / "breastmnist__resnet18_small__mae__seed0")
    assert sorted(log["epoch"].dropna().unique().tolist()) == [0]
    assert len(list((tmp_path / "breastmnist__resnet18_small__mae__seed0").glob("logs/version_*"))) == 2
    # more epochs change the learning-rate and momentum schedules: not a resume of this run
    longer = CliRunner().invoke(app, [*base, "--epochs", "2"])
    assert longer.exit_code == 1 and "differs in: epochs" in longer.output

    wrong_kind = CliRunner().invoke(app, ["pretrain", "--dataset", "breastmnist", "--encoder", "resnet1d_wang"])
    assert wrong_kind.exit_code == 1 and "no 'signal' field" in wrong_kind.output
    bad_ratio = CliRunner().invoke(app, [*base, "--mask-ratio", "1.5"])
    assert bad_ratio.exit_code == 2 and "mask_ratio" in bad_ratio.output
