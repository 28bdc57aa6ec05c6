"""How to add a field kind: one class in one file (the worked example of docs/architecture.md).

`spectrogram` is not a built-in kind. Declaring it below is all it takes for a builder to
store it, for the store to validate and encode it, for `default_transform` to normalise it,
for batched loading to collate it and for training to know its channels and encoder input.
The data is real: short-time Fourier spectra of Bonn EEG segments (../shared/data/bonn_eeg).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import signal as sps

import climb
from climb.catalog.schema import Task
from climb.kinds import FieldKind, encoder_inputs, get_kind, register_kind, unregister_kind
from climb.loading.datasets import SampleBatch
from climb.prepare import PrepareError
from climb.prepare.builder import Builder
from climb.prepare.store import build

SETS = ["Z", "O", "N", "F", "S"]


class Spectrogram(FieldKind):
    """`spectrogram`: power over (frequency, time), (F, T); log-scaled and standardised per bin by default."""

    name = "spectrogram"
    layout = "(F, T)"
    encoder_input = "spectrogram"
    channel_axis = 0  # frequency bins are the channels of a 1-D convolution over time
    adapter_dims = 1

    def default_transform(self, meta, train, stats, options):
        from climb.loading.transforms import Compose, Standardize

        return Compose([np.log1p, Standardize()])


class BonnSpectra(Builder):
    """Four real Bonn EEG segments per set -> their STFT power spectrogram, 5-class label."""

    name = "bonn_spectra"
    catalog_id = "bonn_eeg"
    task = Task.multiclass
    label_names = SETS
    fields = {"spectrogram": "spectrogram"}
    split_fractions = {"train": 0.6, "val": 0.2, "test": 0.2}

    def source_files(self, raw: Path) -> list[Path]:
        return [p for s in SETS for p in sorted((raw / s).glob("*.txt"))[:4]]

    def generate(self, raw: Path):
        for path in self.source_files(raw):
            eeg = np.loadtxt(path, dtype=np.float64)
            _, _, z = sps.stft(eeg, fs=173.61, nperseg=128)
            yield {"sample_id": path.stem, "patient_id": path.stem, "label": SETS.index(path.parent.name),
                   "spectrogram": (np.abs(z) ** 2).astype(np.float32)}


@pytest.fixture
def spectrogram():
    register_kind(Spectrogram)
    yield get_kind("spectrogram")
    unregister_kind("spectrogram")


def test_a_kind_declared_in_one_class_is_stored_loaded_and_described(spectrogram, shared_data, climb_home):
    store = build(BonnSpectra(), shared_data / "bonn_eeg", climb_home / "prepared")
    meta = store.card["fields"]["spectrogram"]
    assert meta["kind"] == "spectrogram" and meta["shape"] == [65, 66] and meta["dtype"] == "float"
    ds = climb.load(store, "train", transform="default")
    x = ds[0]["spectrogram"]
    assert x.shape == (65, 66) and x.dtype == torch.float32
    assert torch.allclose(x.mean(dim=1), torch.zeros(65), atol=1e-4)  # log-scaled, standardised per bin
    plain = climb.load(store, "train")
    assert isinstance(plain.__getitems__([0, 1]), SampleBatch)
    assert spectrogram.in_channels(meta["shape"]) == 65 and "spectrogram" in encoder_inputs()


def test_an_unregistered_kind_is_a_clear_error(shared_data, climb_home):
    with pytest.raises(PrepareError, match="unknown field kind 'spectrogram'; known: image, volume"):
        build(BonnSpectra(), shared_data / "bonn_eeg", climb_home / "prepared")


def test_a_new_kind_trains_and_benchmarks_with_no_change_to_train_or_models(spectrogram, shared_data, climb_home):
    """The kind's `encoder_input` is a new encoder modality: an encoder registered for it trains on the
    store (channels and the load transform from the kind), and suites accept it as an input kind."""
    from torch import nn

    from climb.benchmark.suite import Suite
    from climb.models import register_encoder
    from climb.models.registry import _EXTRA
    from climb.train import TrainConfig, train

    build(BonnSpectra(), shared_data / "bonn_eeg", climb_home / "prepared")

    @register_encoder("spectro_cnn", "spectrogram", in_channels=65, description="1-D CNN over time, bins as channels")
    def spectro_cnn(in_channels: int, width: int = 16) -> nn.Module:
        model = nn.Sequential(nn.Conv1d(in_channels, width, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                              nn.Flatten())
        model.out_dim = width
        return model

    try:
        result = train(TrainConfig(datasets=["bonn_spectra"], encoder="spectro_cnn", epochs=1, batch_size=4,
                                   n_boot=10, out_dir=climb_home / "runs"))
        assert result.frame().value.notna().any()
        Suite.model_validate({"name": "spectra", "datasets": {"bonn_spectra": {"shared": "bonn_eeg"}},
                              "encoders": {"spectrogram": ["spectro_cnn"]}, "protocols": {"single": {}}})
    finally:
        _EXTRA.pop("spectro_cnn", None)
