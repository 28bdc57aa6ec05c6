"""Batched reads (`__getitems__`): one gather per field, the same batches as sample-by-sample reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Subset

import climb
from climb.loading import MultiTaskDataset, collate
from climb.loading.datasets import ClimbDataset, SampleBatch
from climb.loading.transforms import FieldTransforms, RandomTransform


def assert_same_batch(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, equal_nan=True, msg=key)
        else:
            assert a[key] == b[key], key


def one_by_one(ds, indices) -> dict:
    return ds.collate([ds[i] for i in indices])


INDICES = [5, 0, 4707, 17, 17, -1, 300]


@pytest.mark.parametrize("transform", [None, "default"])
def test_a_batch_equals_its_samples_collated(home, transform):
    ds = climb.load("pneumoniamnist", "train", transform=transform)
    batch = ds.__getitems__(INDICES)
    assert isinstance(batch, SampleBatch) == (transform is None)
    assert_same_batch(ds.collate(batch), one_by_one(ds, INDICES))


class Jitter(RandomTransform):
    def apply(self, x, rng):
        return x.astype(np.float32) + rng.normal()


def test_random_augmentation_stays_per_sample_and_seeded_by_index_and_epoch(home):
    ds = ClimbDataset(climb.prepare.open_prepared("pneumoniamnist"), "val",
                      transform=FieldTransforms({"image": Jitter()}), seed=3)
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        assert_same_batch(ds.collate(ds.__getitems__([7, 8, 7])), one_by_one(ds, [7, 8, 7]))
    images = ds.collate(ds.__getitems__([7, 8]))["image"]
    assert not torch.equal(images[0] - images[0].mean(), images[1] - images[1].mean())


def test_dataloader_batches_through_getitems_with_and_without_workers(home, monkeypatch):
    ds = climb.load("pneumoniamnist", "val")
    calls = []
    original = ClimbDataset.__getitems__
    monkeypatch.setattr(ClimbDataset, "__getitems__", lambda self, idx: calls.append(len(idx)) or original(self, idx))
    order = np.random.default_rng(0).permutation(len(ds)).tolist()
    plain = list(DataLoader(ds, batch_size=64, sampler=order, collate_fn=ds.collate))
    assert calls == [64] * 8 + [524 - 8 * 64]
    with_workers = list(DataLoader(ds, batch_size=64, sampler=order, collate_fn=ds.collate, num_workers=2))
    for a, b, start in zip(plain, with_workers, range(0, len(ds), 64)):
        assert_same_batch(a, b)
        assert_same_batch(a, one_by_one(ds, order[start:start + 64]))


def test_default_collate_still_works_on_a_sample_batch(home):
    ds = climb.load("pneumoniamnist", "test")
    batch = next(iter(DataLoader(ds, batch_size=8)))  # torch's default_collate iterates the samples
    assert batch["image"].shape == (8, 1, 28, 28) and batch["sample_id"] == [f"test-{i}" for i in range(8)]


def test_subsets_and_multitask_batches_are_gathered_too(home):
    pneumonia, breast = climb.load("pneumoniamnist", "val"), climb.load("breastmnist", "val")
    few = Subset(pneumonia, [3, 1, 4, 1, 5])
    assert isinstance(few.__getitems__([0, 2, 4]), SampleBatch)
    assert_same_batch(collate(few.__getitems__([0, 2, 4])), one_by_one(pneumonia, [3, 4, 5]))
    mt = MultiTaskDataset([pneumonia, breast])
    batch = mt.__getitems__([524 + 2, 524 + 0, 524 + 77])
    assert isinstance(batch, SampleBatch) and batch.columns["task"] == "breastmnist"
    assert_same_batch(mt.collate(batch), mt.collate([mt[i] for i in (526, 524, 601)]))
    sampler = mt.batch_sampler(16, rule="round_robin", seed=0, num_batches=4)
    for b in DataLoader(mt, batch_sampler=sampler, collate_fn=mt.collate):
        assert b["image"].shape == (16, 1, 28, 28) and isinstance(b["task"], str)


def test_numbers_multilabel_and_text_fields_batch_like_samples(shared_data, climb_home):
    from climb.prepare import prepare

    prepare("ptbxl_with_report", raw=shared_data / "ptbxl")
    ds = climb.load("ptbxl_with_report", "train")
    idx = [0, 9, 3, 100]
    batch = ds.__getitems__(idx)
    assert isinstance(batch, SampleBatch) and batch.columns["age"].dtype == torch.float32
    assert_same_batch(ds.collate(batch), one_by_one(ds, idx))


def test_graphs_fall_back_to_samples_and_collate_pyg_style(shared_data, climb_home):
    from climb.prepare import prepare

    prepare("proteins", raw=shared_data / "real_samples" / "proteins")
    ds = climb.load("proteins", "train")
    batch = ds.__getitems__([0, 1, 2])
    assert isinstance(batch, list)
    assert_same_batch(ds.collate(batch), one_by_one(ds, [0, 1, 2]))


def test_out_of_range_indices_fail_naming_the_index(home):
    ds = climb.load("pneumoniamnist", "val")
    with pytest.raises(IndexError, match="index 524 out of range"):
        ds.__getitems__([0, 524])
