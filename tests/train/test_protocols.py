"""The supervised protocols end to end on real data (PTB-XL, Bonn EEG), on a tiny budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from lightning.pytorch.callbacks import Callback

from climb.models import create_encoder
from climb.train import TrainConfig, few_shot, train
from climb.train.module import ClimbModule
from helpers import prepare_into

FAST = dict(epochs=1, batch_size=16, limit_train_batches=3, n_boot=20)


def _logged(run_dir) -> pd.DataFrame:
    return pd.concat(pd.read_csv(p) for p in sorted(run_dir.glob("logs/*/metrics.csv")))


def test_single_task_writes_results_checkpoints_and_reusable_encoder(climb_prepared, tmp_path):
    cfg = TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", out_dir=tmp_path, **FAST)
    result = train(cfg)
    frame = result.frame()
    auroc = frame[frame.metric == "auroc"].iloc[0]
    assert auroc.dataset == "ptbxl" and auroc.split == "test" and auroc.protocol == "single"
    assert 0.0 <= auroc.ci_low <= auroc.value <= auroc.ci_high <= 1.0
    saved = pd.read_csv(result.run_dir / "results.csv")
    assert set(saved.metric) >= {"auroc", "auprc", "accuracy", "balanced_accuracy", "f1_macro", "ece"}
    assert (saved.train_samples_per_second > 0).all()
    assert (result.run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "val/ptbxl/auroc" in _logged(result.run_dir).columns
    assert list(result.run_dir.glob("tb/*/events.*"))
    preds = np.load(result.run_dir / "predictions.npz")
    assert preds["ptbxl/score"].shape == (64, 5)  # 64 fold-10 records, 5 superclasses
    assert ((preds["ptbxl/score"] >= 0) & (preds["ptbxl/score"] <= 1)).all()
    # the trained encoder is a reusable checkpoint
    enc = create_encoder("resnet1d_wang", in_channels=12, pretrained_path=result.encoder_path)
    x = torch.randn(2, 12, 1000)
    torch.testing.assert_close(enc.eval()(x), result_encoder_eval(result)(x))


def result_encoder_eval(result):
    from climb.train.engine import load_checkpoint

    ckpt = load_checkpoint(result.run_dir / "checkpoints" / "best.ckpt")  # weights_only=True
    model = ClimbModule(**ckpt["hyper_parameters"])
    model.load_state_dict(ckpt["state_dict"])
    return model.encoder.eval()


def test_multitask_shares_one_encoder_with_a_head_per_dataset(climb_prepared, tmp_path):
    cfg = TrainConfig(datasets=["bonn_eeg", "bonn_eeg_seizure"], encoder="eegnet", sampling="round_robin",
                      out_dir=tmp_path, **{**FAST, "limit_train_batches": 4})
    result = train(cfg)
    frame = result.frame()
    assert set(frame.dataset) == {"bonn_eeg", "bonn_eeg_seizure"}
    assert set(frame.protocol) == {"multitask"}
    logged = _logged(result.run_dir)
    assert {"train/bonn_eeg/loss_epoch", "train/bonn_eeg_seizure/loss_epoch"} <= set(logged.columns)
    assert {"val/bonn_eeg/auroc", "val/bonn_eeg_seizure/auroc", "val/score"} <= set(logged.columns)


def test_tasks_with_other_channel_counts_get_an_input_adapter():
    info = {
        "a": {"task": "binary", "n_out": 1, "field": "signal", "kind": "signal", "in_channels": 12,
              "label_names": ["n", "y"], "label_stats": {"class_counts": [1, 2], "n_samples": 3}},
        "b": {"task": "multiclass", "n_out": 3, "field": "signal", "kind": "signal", "in_channels": 1,
              "label_names": ["x", "y", "z"], "label_stats": {"class_counts": [1, 1, 1], "n_samples": 3}},
        "c": {"task": "binary", "n_out": 1, "field": "signal", "kind": "signal", "in_channels": 12,
              "label_names": ["n", "y"], "label_stats": {"class_counts": [1, 1], "n_samples": 2}},
    }
    module = ClimbModule(TrainConfig(datasets=["a", "b", "c"], encoder="resnet1d_wang").model_dump(mode="json"), info)
    assert set(module.adapters) == {"b"}  # the widest input (12 channels) feeds the encoder directly
    assert module({"signal": torch.randn(2, 1, 256)}, "b").shape == (2, 3)
    assert module({"signal": torch.randn(2, 12, 256)}, "a").shape == (2, 1)
    lead = torch.randn(2, 1, 256)  # the adapter starts by showing the encoder the lead on all 12 inputs
    torch.testing.assert_close(module.adapters["b"](lead), lead.expand(2, 12, 256))


def test_validation_batches_go_to_the_tasks_that_have_a_val_split():
    info = {
        "a": {"task": "binary", "n_out": 1, "field": "signal", "kind": "signal", "in_channels": 12,
              "label_names": ["n", "y"], "label_stats": {"class_counts": [1, 1], "n_samples": 2}, "has_val": False},
        "b": {"task": "multiclass", "n_out": 3, "field": "signal", "kind": "signal", "in_channels": 12,
              "label_names": ["x", "y", "z"], "label_stats": {"class_counts": [1, 1, 1], "n_samples": 3}, "has_val": True},
    }
    module = ClimbModule(TrainConfig(datasets=["a", "b"], encoder="resnet1d_wang").model_dump(mode="json"), info)
    module.eval()
    with torch.no_grad():
        module.validation_step({"signal": torch.randn(4, 12, 256), "label": torch.tensor([0, 1, 2, 0])}, 0,
                               dataloader_idx=0)  # the only val loader is b's
    assert list(module._val_outputs) == ["b"] and module._val_outputs["b"][0][1].shape == (4, 3)


def test_model_selection_score_refuses_an_undefined_task():
    from climb.train.module import val_score

    assert val_score({"a": 0.6, "b": 0.8}, selecting=True) == pytest.approx(0.7)
    with pytest.raises(ValueError, match=r"undefined for \['a'\].*model_selection='last'"):
        val_score({"a": float("nan"), "b": 0.8}, selecting=True)
    assert val_score({"a": float("nan"), "b": 0.8}, selecting=False) == pytest.approx(0.8)


def test_input_adapters_start_by_tiling_or_averaging_channels():
    from climb.train.module import _adapter

    gray = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(_adapter("image", 1, 3)(gray), gray.expand(2, 3, 8, 8))
    x = torch.arange(12.0).reshape(1, 12, 1)
    torch.testing.assert_close(_adapter("signal", 12, 3)(x).flatten(), torch.tensor([4.5, 5.5, 6.5]))
    torch.testing.assert_close(_adapter("tabular", 2, 4)(torch.tensor([[1.0, 2.0]])), torch.tensor([[1.0, 2, 1, 2]]))


class _Crash(Callback):
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 1:
            raise KeyboardInterrupt  # a killed run: nothing after the epoch-0 checkpoint survives


@pytest.mark.parametrize("variant", [
    {},  # selects on validation: best.ckpt + last.ckpt
    # few-shot (tests the latest epoch), worker processes and random crops: the resumed epoch must
    # draw the same order and crops as an uninterrupted run
    {"shots": 2, "num_workers": 2, "transform_options": {"crop_seconds": 8.0}},
], ids=["best_val", "fewshot_workers_crops"])
def test_killed_run_resumes_to_the_same_final_metrics(climb_prepared, tmp_path, variant):
    common = dict(datasets=["bonn_eeg"], encoder="eegnet", epochs=2, batch_size=16, limit_train_batches=3,
                  n_boot=10, **variant)
    straight = train(TrainConfig(out_dir=tmp_path / "a", **common))
    cfg = TrainConfig(out_dir=tmp_path / "b", **common)
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        train(cfg, callbacks=[_Crash()])
    assert (cfg.run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (cfg.run_dir / "results.csv").exists()
    resumed = train(cfg)
    a, b = straight.frame().set_index("metric").value, resumed.frame().set_index("metric").value
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)
    assert len(list(cfg.run_dir.glob("logs/*/metrics.csv"))) == 2  # the first attempt's log is kept


class _Seen(Callback):
    """Per epoch: the sample ids trained on, in order, and each sample's input."""

    def __init__(self, field: str = "eeg") -> None:
        self.field, self.ids, self.inputs = field, {}, {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        epoch = trainer.current_epoch
        self.ids.setdefault(epoch, []).extend(batch["sample_id"])
        for sid, x in zip(batch["sample_id"], batch[self.field]):
            self.inputs.setdefault(epoch, {})[sid] = x.clone()


def test_every_epoch_has_its_own_multitask_batch_order(climb_prepared, tmp_path):
    seen = _Seen()
    cfg = TrainConfig(datasets=["bonn_eeg", "bonn_eeg_seizure"], encoder="eegnet", sampling="round_robin",
                      out_dir=tmp_path, **{**FAST, "epochs": 2, "limit_train_batches": 4})
    train(cfg, callbacks=[seen])
    assert len(seen.ids[0]) == len(seen.ids[1]) == 4 * 16
    assert seen.ids[0] != seen.ids[1]  # the multitask batch sampler is re-seeded per epoch


def test_random_crops_are_drawn_anew_every_epoch(climb_prepared, tmp_path):
    seen = _Seen()
    cfg = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", shots=2, transform_options={"crop_seconds": 8.0},
                      out_dir=tmp_path, **{**FAST, "epochs": 2})
    train(cfg, callbacks=[seen])
    first, second = seen.inputs[0], seen.inputs[1]
    assert set(first) == set(second) and len(first) == 10  # 2 shots x 5 classes, every epoch
    changed = [sid for sid in first if not torch.equal(first[sid], second[sid])]
    assert len(changed) == len(first)  # each recording gets a new random 8 s crop


def test_a_run_directory_of_another_configuration_is_not_resumed(climb_prepared, tmp_path):
    common = dict(datasets=["bonn_eeg"], encoder="eegnet", out_dir=tmp_path, run_name="r", **FAST)
    first = train(TrainConfig(**common))
    with pytest.raises(ValueError, match="another configuration .*differs in: lr, shots"):
        train(TrainConfig(**{**common, "lr": 0.01, "shots": 2}))
    # a config.yaml from an older climb lacks newer keys: they take their defaults
    stored = yaml.safe_load((first.run_dir / "config.yaml").read_text())
    del stored["model_selection"]
    (first.run_dir / "config.yaml").write_text(yaml.safe_dump(stored))
    again = train(TrainConfig(**{**common, "n_boot": 5}))  # evaluation-only change: resumes, no retraining
    assert again.frame().query("metric == 'auroc'").value.iloc[0] == first.frame().query("metric == 'auroc'").value.iloc[0]


def test_few_shot_runs_test_the_last_epoch_not_the_best_on_full_validation(climb_prepared, tmp_path):
    few = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", shots=2, out_dir=tmp_path, **{**FAST, "epochs": 3})
    assert not few.selects_on_val and few.model_copy(update={"model_selection": "best_val"}).selects_on_val
    assert TrainConfig(datasets=["bonn_eeg"], encoder="eegnet").selects_on_val
    result = train(few)
    checkpoints = result.run_dir / "checkpoints"
    assert result.tested_checkpoint == checkpoints / "latest.ckpt" and not (checkpoints / "best.ckpt").exists()
    assert (checkpoints / "last.ckpt").resolve() == (checkpoints / "latest.ckpt").resolve()  # one file
    tested = torch.load(result.tested_checkpoint, map_location="cpu", weights_only=True)
    assert tested["global_step"] == 3  # 3 epochs x 1 step (10 samples): the end, whatever val AUROC did
    full = train(TrainConfig(**{**few.model_dump(), "shots": None, "run_name": "full"}))
    assert full.tested_checkpoint == full.run_dir / "checkpoints" / "best.ckpt"


class _PoisonWeights(Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        for head in pl_module.heads.values():
            head[-1].weight.data.fill_(float("nan"))


def test_non_finite_loss_stops_with_a_clear_message(climb_prepared, tmp_path):
    cfg = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", out_dir=tmp_path, **FAST)
    with pytest.raises(FloatingPointError, match="non-finite training loss .* on task 'bonn_eeg'"):
        train(cfg, callbacks=[_PoisonWeights()])


def test_few_shot_runs_every_cell_and_linear_probe_keeps_the_encoder(climb_prepared, tmp_path):
    pre = train(TrainConfig(datasets=["bonn_eeg_seizure"], encoder="eegnet", out_dir=tmp_path / "pre", **FAST))
    base = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", epochs=1, batch_size=8, n_boot=10,
                       out_dir=tmp_path / "fs")
    rows = few_shot(base, shots=(1, 4), seeds=(0,), inits={"scratch": None, "pretrained": pre.encoder_path})
    assert {r.protocol for r in rows} == {"fewshot"}
    assert {(r.shots, r.init, r.mode) for r in rows} == {
        (1, "scratch", "finetune"), (4, "scratch", "finetune"), (1, "pretrained", "linear_probe"),
        (1, "pretrained", "finetune"), (4, "pretrained", "linear_probe"), (4, "pretrained", "finetune")}
    from safetensors.torch import load_file

    probe = base.out_dir / "bonn_eeg__eegnet__k4__pretrained__linear_probe__seed0" / "encoder.safetensors"
    before, after = load_file(str(pre.encoder_path)), load_file(str(probe))
    learned = [k for k in before if "running" not in k and "num_batches" not in k]
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, changed  # weights AND BatchNorm statistics
    tuned = base.out_dir / "bonn_eeg__eegnet__k4__pretrained__finetune__seed0" / "encoder.safetensors"
    assert any(not torch.equal(before[k], load_file(str(tuned))[k]) for k in learned)


def test_bf16_autocast_is_configuration_only(climb_prepared, tmp_path):
    """The GPU path's mixed precision is a config value; on CPU Lightning autocasts to bfloat16 too."""
    cfg = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", precision="bf16-mixed", out_dir=tmp_path,
                      **{**FAST, "batch_size": 8, "limit_train_batches": 1})
    result = train(cfg)
    assert result.frame().value.notna().all()
    assert "bf16-mixed" in (result.run_dir / "config.yaml").read_text()


def test_pretrained_encoder_of_another_input_width_is_reused_through_an_adapter(climb_prepared, tmp_path):
    """A 1-lead EEG encoder transfers to 12-lead PTB-XL: the checkpoint keeps its width, PTB-XL is adapted."""
    pre = train(TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", out_dir=tmp_path / "pre", **FAST))
    info = {"ptbxl": {"task": "multilabel", "n_out": 5, "field": "signal", "kind": "eeg", "in_channels": 12,
                      "label_names": list("abcde"), "label_stats": {"class_counts": [0, 1, 0, 0, 1], "n_samples": 1}}}
    cfg = TrainConfig(datasets=["ptbxl"], encoder="eegnet", pretrained=pre.encoder_path)
    module = ClimbModule(cfg.model_dump(mode="json"), info)
    assert set(module.adapters) == {"ptbxl"}
    assert module({"signal": torch.randn(2, 12, 1000)}, "ptbxl").shape == (2, 5)


def test_transform_options_reach_the_splits_and_unknown_options_fail(shared_data, tmp_path, monkeypatch):
    from pydantic import ValidationError

    from climb.loading.transforms import RandomShiftFlip
    from climb.train.data import build_task

    with pytest.raises(ValidationError, match="unknown transform option"):
        TrainConfig(datasets=["breastmnist"], encoder="resnet18_small", transform_options={"augmnt": True})
    prepare_into(tmp_path / "home", {"breastmnist": shared_data / "medmnist"})
    monkeypatch.setenv("CLIMB_HOME", str(tmp_path / "home"))
    options = {"augment": True, "image_size": 32}
    task = build_task("breastmnist", "image", input_field=None, transform="default", shots=None, seed=0,
                      transform_options=options)
    steps = lambda ds: [type(t) for t in ds.transform.per_field["image"].transforms]  # noqa: E731
    assert RandomShiftFlip in steps(task.train) and RandomShiftFlip not in steps(task.val)
    assert task.train[0]["image"].shape == (1, 32, 32) and task.test[0]["image"].shape == (1, 32, 32)
    class CountVal(Callback):
        batches = 0

        def on_validation_batch_end(self, *args, **kwargs) -> None:
            CountVal.batches += 1

    cfg = TrainConfig(datasets=["breastmnist"], encoder="resnet18_small", out_dir=tmp_path / "runs",
                      transform_options=options, limit_val_batches=1, **FAST)
    result = train(cfg, callbacks=[CountVal()])
    assert CountVal.batches == 1  # of the 5 batches of 16 in the 78-image val split
    val = _logged(result.run_dir)["val/breastmnist/auroc"].dropna()
    assert len(val) == 1 and 0.0 <= val.iloc[0] <= 1.0
    assert {r.metric for r in result.rows} >= {"auroc", "accuracy"}


def test_throughput_leaves_out_warmup_steps(monkeypatch):
    from types import SimpleNamespace

    from climb.train import engine as protocols

    clock = iter([0.0, 10.0, 10.0, 11.0, 11.0, 12.0])  # a 10 s warm-up step, then two 1 s steps
    monkeypatch.setattr(protocols.time, "perf_counter", lambda: next(clock))
    speed, trainer = protocols.Throughput(warmup=1), SimpleNamespace(world_size=2)
    batch = {"label": torch.zeros(8)}
    for i in range(3):
        speed.on_train_batch_start(trainer, None, batch, i)
        speed.on_train_batch_end(trainer, None, None, batch, i)
    assert speed.rate == 16.0  # 2 steps x 8 samples x 2 ranks / 2 s
    short = protocols.Throughput(warmup=5)
    short.samples, short.all_samples, short.all_seconds = 0, 48, 12.0
    assert short.rate == 4.0  # fewer steps than the warm-up: all of them count


def test_ema_weights_are_validated_checkpointed_and_tested(climb_prepared, tmp_path):
    cfg = TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", out_dir=tmp_path, ema_decay=0.5, **FAST)
    result = train(cfg)
    ckpt = torch.load(result.run_dir / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    averaged, current = ckpt["state_dict"], ckpt["current_model_state"]
    key = next(k for k in averaged if k.startswith("encoder.") and k.endswith("weight"))
    assert not torch.equal(averaged[key], current[key])  # 3 steps with decay 0.5: the average lags
    saved = result_encoder_eval(result).state_dict()
    torch.testing.assert_close(saved[key.removeprefix("encoder.")], averaged[key])


def test_lr_schedules_per_epoch_or_step_with_warmup():
    from climb.train.engine import lr_factor

    assert [lr_factor("multistep", e, 100) for e in (0, 49, 50, 74)] == [1.0, 1.0, 0.1, 0.1]
    assert lr_factor("multistep", 75, 100) == pytest.approx(0.01) and lr_factor("constant", 99, 100) == 1.0
    assert lr_factor("cosine", 0, 10) == 1.0 and lr_factor("cosine", 5, 10) == pytest.approx(0.5)
    # warmup (SSL): linear over the first steps, then the schedule over the rest
    assert [lr_factor("cosine", s, 110, warmup=10) for s in (0, 4, 9)] == [0.1, 0.5, 1.0]
    assert lr_factor("cosine", 10, 110, warmup=10) == 1.0 and lr_factor("cosine", 60, 110, 10) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        TrainConfig(datasets=["ptbxl"], encoder="resnet1d_wang", lr_schedule="step")


class _Payload:
    """Unpickling this creates a marker file: proof that a checkpoint was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("planted, form", [
    (("best.ckpt",), "torch_save"),  # the tested weights: the old code unpickled them after resuming last.ckpt
    (("best.ckpt", "last.ckpt"), "raw_pickle"),  # the resume checkpoint too
], ids=["best", "best_and_last"])
def test_a_pickle_planted_as_a_checkpoint_is_never_executed(climb_prepared, tmp_path, planted, form):
    import pickle

    from climb.errors import ClimbError

    cfg = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", out_dir=tmp_path / "runs", **FAST)
    train(cfg)  # a finished run: best.ckpt + last.ckpt
    marker = tmp_path / "executed"
    for name in planted:
        path = cfg.run_dir / "checkpoints" / name
        path.unlink()
        if form == "raw_pickle":
            path.write_bytes(pickle.dumps({"state_dict": {}, "epoch": _Payload(marker)}))
        else:
            torch.save({"state_dict": {}, "epoch": _Payload(marker)}, path)
    assert not marker.exists()
    with pytest.raises(ClimbError, match=rf"{'last' if 'last.ckpt' in planted else 'best'}\.ckpt: not a checkpoint "
                                         "climb loads safely"):
        train(cfg)  # the same `climb train` again: resumes from last.ckpt, then tests best.ckpt
    assert not marker.exists()


def test_checkpoints_hold_class_counts_not_the_train_labels(climb_prepared, tmp_path):
    cfg = TrainConfig(datasets=["bonn_eeg"], encoder="eegnet", out_dir=tmp_path, **FAST)
    result = train(cfg)
    ckpt = torch.load(result.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    info = ckpt["hyper_parameters"]["tasks"]["bonn_eeg"]
    assert "train_labels" not in info
    assert info["label_stats"]["n_samples"] == sum(info["label_stats"]["class_counts"]) > 100
    assert len(info["label_stats"]["class_counts"]) == 5
