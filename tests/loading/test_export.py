"""Exports: Hugging Face rows equal the store rows; VLM JSONL lines are well-formed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from climb.cli import app
from climb.loading.export import hf_features, multiple_choice, to_hf_dataset, to_vlm_jsonl, write_video
from climb.prepare import open_prepared


def test_hf_dataset_rows_equal_store_rows(home):
    store = open_prepared("pneumoniamnist")
    ds = to_hf_dataset(store, "test").with_format("numpy")
    assert len(ds) == 624
    assert ds.features["label"].names == ["normal", "pneumonia"]
    for i in (0, 17, 623):
        row = ds[i]
        assert row["sample_id"] == store.field("test", "sample_id")[i]
        assert row["label"] == store.field("test", "label")[i]
        np.testing.assert_array_equal(row["image"], store.field("test", "image")[i])
    np.testing.assert_array_equal(ds["label"], store.labels("test"))


def test_vlm_jsonl_lines_parse_and_images_exist(home, tmp_path):
    store = open_prepared("pneumoniamnist")
    path = to_vlm_jsonl(store, "test", tmp_path, limit=20)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 20
    labels = store.labels("test")
    for i, line in enumerate(lines):
        assert line["answer"] in line["choices"] and line["choices"] == ["A. normal", "B. pneumonia"]
        assert line["answer"] == line["choices"][labels[i]]
        assert "Which of the following" in line["question"] and "Choices: A. normal B. pneumonia" in line["question"]
        image = np.asarray(Image.open(tmp_path / line["image"]))
        np.testing.assert_array_equal(image, store.field("test", "image")[i][0])


def test_multilabel_choices_and_video_writer(tmp_path):
    card = {"name": "toy", "task": "multilabel", "label_names": ["MI", "CD"]}
    mc = multiple_choice(card, np.array([1.0, 1.0]), "image")
    assert mc["answer"] == "A. MI; B. CD" and mc["choices"][-1] == "C. None of the above"
    assert multiple_choice(card, np.zeros(2), "image")["answer"] == "C. None of the above"
    with pytest.raises(ValueError, match="regression"):
        multiple_choice({"name": "r", "task": "regression", "label_names": []}, 1.0, "image")
    frames = np.random.default_rng(0).integers(0, 255, size=(6, 3, 15, 21), dtype=np.uint8)
    write_video(frames, tmp_path / "v.mp4")
    import av

    with av.open(str(tmp_path / "v.mp4")) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == 6 and (decoded[0].width, decoded[0].height) == (22, 16)


def test_cli_export_jsonl_and_hf(home, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", "breastmnist", "--split", "val", "--to", "jsonl",
                                 "--out", str(tmp_path / "j"), "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "j" / "breastmnist_val.jsonl").read_text().splitlines()) == 5
    result = runner.invoke(app, ["export", "breastmnist", "--split", "val", "--to", "hf", "--out", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    from datasets import load_from_disk

    assert len(load_from_disk(str(tmp_path / "h"))) == 78
    bad = runner.invoke(app, ["export", "nosuchset", "--to", "hf", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "not prepared" in bad.output


def test_hf_features_map_arrow_dtypes_and_variable_shapes():
    card = {"task": "multiclass", "label_names": ["a", "b", "c"],
            "fields": {"label": {"kind": "label"},
                       "signal": {"kind": "signal", "shape": [12, 1000], "dtype": "float"},
                       "beats": {"kind": "signal", "shape": None, "dtype": "double"},
                       "age": {"kind": "scalar", "dtype": "double"}, "report": {"kind": "text", "dtype": "string"}}}
    feats = hf_features(card, ["signal", "beats", "age", "report"])
    assert feats["signal"].shape == (12, 1000) and feats["signal"].dtype == "float32"
    assert feats["beats"].feature.dtype == "float64" and "beats.shape" in feats
    assert feats["label"].num_classes == 3 and feats["report"].dtype == "string"


def test_vlm_jsonl_of_a_volume_uses_the_middle_slice(shared_data, tmp_path):
    from climb.prepare import prepare

    store = prepare("adrenalmnist3d", raw=shared_data / "medmnist")
    path = to_vlm_jsonl(store, "val", tmp_path, limit=2)
    line = json.loads(path.read_text().splitlines()[1])
    assert "middle slice" in line["question"] and line["answer"] in line["choices"]
    image = np.asarray(Image.open(tmp_path / line["image"]))
    np.testing.assert_array_equal(image, store.field("val", "volume")[1][0, 14])
