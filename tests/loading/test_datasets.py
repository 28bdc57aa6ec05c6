"""ClimbDataset and collate on real PneumoniaMNIST."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import climb
from climb.loading import ClimbDataset, collate, load
from climb.prepare import open_prepared


@pytest.mark.parametrize("split, size", [("train", 4708), ("val", 524), ("test", 624)])
def test_lengths_and_label_counts_match_the_card(home, split, size):
    ds = climb.load("pneumoniamnist", split=split)
    assert len(ds) == size
    counts = np.bincount(ds.labels, minlength=2)
    assert dict(zip(ds.label_names, counts.tolist())) == ds.card["splits"][split]["class_counts"]
    assert len(ds.patient_ids) == size and ds.patient_ids[0] == f"{split}-0"


def test_item_shapes_dtypes_and_values(home, shared_data):
    ds = load("pneumoniamnist", split="test")
    item = ds[5]
    assert set(item) == {"image", "label", "patient_id", "sample_id", "task"}
    assert item["image"].shape == (1, 28, 28) and item["image"].dtype == torch.uint8
    assert item["label"].dtype == torch.long and item["label"].ndim == 0
    assert item["task"] == "pneumoniamnist" and item["sample_id"] == "test-5"
    raw = np.load(shared_data / "medmnist" / "pneumoniamnist.npz")
    np.testing.assert_array_equal(item["image"][0].numpy(), raw["test_images"][5])
    assert int(item["label"]) == int(raw["test_labels"][5, 0])
    item["image"] += 1  # writable copy: the memory map is untouched
    assert torch.equal(ds[5]["image"][0], torch.from_numpy(raw["test_images"][5]))
    assert ds[-1]["sample_id"] == "test-623"
    with pytest.raises(IndexError):
        ds[624]


def test_default_transform_and_dataloader_with_two_workers(home):
    ds = climb.load("pneumoniamnist", split="val", transform="default")
    restored = pickle.loads(pickle.dumps(ds))
    assert restored._store is None and torch.equal(restored[3]["image"], ds[3]["image"])
    loader = DataLoader(ds, batch_size=128, num_workers=2, collate_fn=ds.collate)
    batches = list(loader)
    assert sum(len(b["label"]) for b in batches) == 524
    first = batches[0]
    assert first["image"].shape == (128, 1, 28, 28) and first["image"].dtype == torch.float32
    assert first["task"] == "pneumoniamnist" and len(first["sample_id"]) == 128
    labels = torch.cat([b["label"] for b in batches]).numpy()
    np.testing.assert_array_equal(labels, ds.labels)
    # ImageNet grey normalisation of [0, 1] pixels
    raw = climb.load("pneumoniamnist", split="val")[0]["image"].float() / 255
    np.testing.assert_allclose(ds[0]["image"], (raw - 0.449) / 0.226, atol=1e-4)


def test_fields_and_errors(home):
    with pytest.raises(KeyError, match="unknown field"):
        load("pneumoniamnist", fields=["signal"])
    with pytest.raises(KeyError, match="no split"):
        load("pneumoniamnist", split="dev")
    with pytest.raises(FileNotFoundError, match="climb prepare adrenalmnist3d"):
        load("adrenalmnist3d")


def test_prepare_if_missing(shared_data):
    ds = load("breastmnist", split="test", prepare_if_missing=True, raw=shared_data / "medmnist")
    assert len(ds) == 156 and open_prepared("breastmnist").card["splits"]["test"]["num_samples"] == 156


def test_collate_graphs_pyg_style_and_ragged_lists():
    kinds = {"x": "node_features", "edges": "edge_index", "w": "edge_weight"}
    g1 = {"x": torch.ones(3, 2), "edges": torch.tensor([[0, 1], [1, 2]]), "w": torch.tensor([1.0, 2.0]),
          "label": torch.tensor(0), "task": "g", "sample_id": "a"}
    g2 = {"x": torch.zeros(2, 2), "edges": torch.tensor([[0], [1]]), "w": torch.tensor([3.0]),
          "label": torch.tensor(1), "task": "g", "sample_id": "b"}
    batch = collate([g1, g2], kinds)
    assert batch["x"].shape == (5, 2)
    assert batch["edges"].tolist() == [[0, 1, 3], [1, 2, 4]]
    assert batch["batch"].tolist() == [0, 0, 0, 1, 1]
    assert batch["w"].tolist() == [1.0, 2.0, 3.0] and batch["label"].tolist() == [0, 1]
    ragged = collate([{"s": torch.zeros(2, 5)}, {"s": torch.zeros(2, 7)}])
    assert isinstance(ragged["s"], list) and [t.shape[1] for t in ragged["s"]] == [5, 7]


def test_random_transform_is_seeded_by_index_not_worker(home):
    from climb.loading.transforms import FieldTransforms, RandomTransform

    class Jitter(RandomTransform):
        def apply(self, x, rng):
            return x.astype(np.float32) + rng.normal()

    ds = ClimbDataset(open_prepared("pneumoniamnist"), "val", transform=FieldTransforms({"image": Jitter()}))
    a, b = ds[7]["image"], ds[7]["image"]
    assert torch.equal(a, b)
    ds.set_epoch(1)
    assert not torch.equal(ds[7]["image"], a)
