"""Hub datasets: a real prepared BreastMNIST exported in the hub layout, pushed to a local hub cache, pulled back.

No network: the "hub" is a local directory in huggingface_hub's own cache layout, read by the real
`snapshot_download` under HF_HUB_OFFLINE=1; the push goes through `climb.hubio.upload_folder` with an
`HfApi` stand-in whose upload copies the folder into that directory.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from climb.cli import app
from climb.hubio import copy_into_hub_cache
from climb.loading import load
from climb.loading.hub import (HubDatasetError, check_pushable, export_hub_folder, hub_license, load_hub_dataset,
                               push_hub_dataset)
from climb.prepare import open_prepared

REPO = "lab/breastmnist"


class LocalHub:
    """Stands in for `huggingface_hub.HfApi`: an upload lands in a local hub cache (no network)."""

    def __init__(self, cache: Path) -> None:
        self.cache, self.calls = cache, []

    def create_repo(self, repo_id: str, **kw) -> None:
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, *, folder_path: str, repo_id: str, repo_type: str, **kw) -> str:
        self.calls.append(("upload_folder", repo_id, {"repo_type": repo_type, **kw}))
        copy_into_hub_cache(folder_path, repo_id, self.cache, repo_type=repo_type)
        return f"https://hub.local/datasets/{repo_id}/commit/0"


@pytest.fixture(scope="module")
def hub_folder(prepared_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIMB_HOME", str(prepared_home))
        return export_hub_folder(open_prepared("breastmnist"), tmp_path_factory.mktemp("hub") / "breastmnist")


def assert_same_samples(pulled, name: str, split: str) -> None:
    """ids, labels and arrays of a hub split equal the prepared store's, sample by sample."""
    local = load(name, split)
    rows = pulled.with_format("numpy")
    assert len(rows) == len(local)
    assert list(rows["sample_id"]) == local.sample_ids
    assert list(rows["patient_id"]) == local.patient_ids
    np.testing.assert_array_equal(rows["label"], local.labels)
    np.testing.assert_array_equal(np.stack(rows["image"]), np.stack([local.raw_sample(i)["image"]
                                                                     for i in range(len(local))]))


def test_pushed_dataset_pulls_back_with_the_same_samples(home: Path, hub_folder: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = LocalHub(tmp_path / "hub_cache")
    assert push_hub_dataset(hub_folder, REPO, api=hub).endswith("/commit/0")
    assert hub.calls[0] == ("create_repo", REPO, {"repo_type": "dataset", "exist_ok": True})
    assert hub.calls[1][2]["commit_message"].startswith("climb export breastmnist (fingerprint ")
    for split in ("train", "val", "test"):
        assert_same_samples(load_hub_dataset(REPO, split, cache_dir=tmp_path / "hub_cache"), "breastmnist", split)
    pulled = load_hub_dataset(REPO, "test", cache_dir=tmp_path / "hub_cache")
    assert pulled.features["label"].names == open_prepared("breastmnist").card["label_names"]


def test_the_folder_is_a_plain_hub_dataset_for_datasets_load_dataset(home: Path, hub_folder: Path):
    from datasets import load_dataset

    splits = load_dataset(str(hub_folder), cache_dir=str(home / "hf_cache"))
    assert set(splits) == {"train", "val", "test"}
    assert_same_samples(splits["val"], "breastmnist", "val")


def test_dataset_card_states_licence_citation_splits_and_provenance(home: Path, hub_folder: Path):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(hub_folder / "README.md")
    store = open_prepared("breastmnist").card
    assert card.data.license == "cc-by-4.0"
    assert card.data.configs[0]["data_files"][2] == {"split": "test", "path": "data/test-00000-of-00001.parquet"}
    text = card.text
    assert "MedMNIST v2 - A large-scale lightweight benchmark" in text  # the catalog's citation
    assert f"card fingerprint: `{store['fingerprint']}`" in text
    assert f"`{store['builder']}` {store['builder_version']}" in text
    assert "| test | 156 | 156 | malignant: 42, normal, benign: 114 |" in text  # samples, patients, classes


def test_an_altered_data_file_is_refused_by_name(home: Path, hub_folder: Path, tmp_path: Path):
    import shutil

    copy = Path(shutil.copytree(hub_folder, tmp_path / "altered"))
    target = copy / "data" / "val-00000-of-00001.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(HubDatasetError, match="val-00000-of-00001.parquet: missing or altered"):
        load_hub_dataset(copy, "val")
    with pytest.raises(HubDatasetError, match="altered"):
        push_hub_dataset(copy, REPO, api=LocalHub(tmp_path / "c"))


def test_only_open_licences_that_allow_sharing_are_pushed():
    assert hub_license("CC BY 4.0 (UCI Machine Learning Repository); file redistributed") == "cc-by-4.0"
    assert hub_license("ODbL 1.0 (data)") == "odbl"
    assert hub_license("CC BY-NC-ND 4.0") is None and hub_license("Kaggle competition rules") is None
    assert check_pushable(SimpleNamespace(name="breastmnist", card={"catalog_id": "breastmnist"})) == "cc-by-4.0"
    with pytest.raises(HubDatasetError, match="mimic_iv: credentialed access .* push refused"):
        check_pushable(SimpleNamespace(name="mimic_iv", card={"catalog_id": "mimic_iv"}))


def test_cli_push_takes_the_token_from_the_environment_and_never_prints_it(home: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    runner, out = CliRunner(), tmp_path / "folder"
    monkeypatch.delenv("HF_TOKEN", raising=False)
    no_token = runner.invoke(app, ["export", "breastmnist", "--push", REPO, "--out", str(out)])
    assert no_token.exit_code == 1 and "HF_TOKEN environment variable" in no_token.output
    assert not out.exists()  # refused before any work
    bad_repo = runner.invoke(app, ["export", "breastmnist", "--push", "no-org", "--out", str(out)])
    assert bad_repo.exit_code == 2 and "expected ORG/NAME" in bad_repo.output
    secret = "hf_climbTestTokenThatMustNeverBePrinted"
    monkeypatch.setenv("HF_TOKEN", secret)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the real HfApi: its request fails offline
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    offline = runner.invoke(app, ["export", "breastmnist", "--push", REPO, "--out", str(out), "--limit", "5"])
    assert offline.exit_code == 1 and f"push to {REPO} failed" in offline.output, offline.output
    assert secret not in offline.output
    assert (out / "README.md").is_file() and (out / "climb_hub.json").is_file()  # the folder is kept


def test_cli_writes_a_hub_folder_without_pushing(home: Path, tmp_path: Path):
    done = CliRunner().invoke(app, ["export", "breastmnist", "--to", "hub", "--split", "val", "--out",
                                    str(tmp_path / "h")])
    assert done.exit_code == 0, done.output
    assert_same_samples(load_hub_dataset(tmp_path / "h", "val"), "breastmnist", "val")
    with pytest.raises(HubDatasetError, match="no split 'test'; splits: \\['val'\\]"):
        load_hub_dataset(tmp_path / "h", "test")
