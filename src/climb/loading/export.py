"""Export a prepared split to a Hugging Face `datasets.Dataset` or to VLM instruction JSONL.

Hugging Face: one row per sample with `sample_id`, `patient_id`, `label` and every field.
Fixed-shape arrays become `List(length=n)` (1-D) or `Array2D..Array5D` features with the
stored dtype; variable-shape arrays are stored flattened with a `<field>.shape` column;
`label` is a `ClassLabel` (binary/multiclass), a length-K float32 list (multilabel), or
a float (regression).

JSONL (instruction tuning for vision-language models): one line per sample,

    {"image": "images/<index>_<sample_id>.png", "question": "... Which of the following ...?
     Choices: A. normal B. pneumonia", "choices": ["A. normal", "B. pneumonia"],
     "answer": "B. pneumonia", "sample_id": ..., "patient_id": ...}

Image paths are relative to the JSONL file's folder. Images are written as PNG (volumes:
the middle slice along depth), videos as MPEG-4 (`"video"` key). Multilabel datasets get
the extra choice "None of the above" and answers listing every positive choice joined
with "; ". Regression datasets are not multiple choice and are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from climb.catalog.schema import Task
from climb.kinds import get_kind
from climb.prepare.store import PreparedDataset
from climb.safeio import atomic_write_text, open_for_write

NONE_OF_THE_ABOVE = "None of the above"
MEDIA_SUFFIX = {"image": ".png", "video": ".mp4"}  # FieldKind.vlm_media -> file suffix


# ---------------------------------------------------------------- Hugging Face


ARROW_TO_HF_DTYPE = {"float": "float32", "double": "float64", "halffloat": "float16"}


def _array_feature(shape: list[int] | None, arrow_dtype: str):
    from datasets import Array2D, Array3D, Array4D, Array5D, List, Value

    dtype = ARROW_TO_HF_DTYPE.get(arrow_dtype, arrow_dtype)
    if shape is None:
        return List(Value(dtype))
    if len(shape) == 1:
        return List(Value(dtype), length=shape[0])
    arrays = {2: Array2D, 3: Array3D, 4: Array4D, 5: Array5D}
    if len(shape) not in arrays:
        raise ValueError(f"cannot export a {len(shape)}-D array field to Hugging Face (at most 5-D)")
    return arrays[len(shape)](shape=tuple(shape), dtype=dtype)


def hf_features(card: dict[str, Any], fields: Sequence[str]):
    """The `datasets.Features` of an export of `fields` (see the module docstring)."""
    from datasets import ClassLabel, Features, List, Value

    task = Task(card["task"])
    feats: dict[str, Any] = {"sample_id": Value("string"), "patient_id": Value("string")}
    if task in (Task.binary, Task.multiclass):
        feats["label"] = ClassLabel(names=list(card["label_names"]))
    elif task == Task.multilabel:
        feats["label"] = List(Value("float32"), length=len(card["label_names"]))
    else:
        feats["label"] = Value("float64")
    for name in fields:
        meta = card["fields"][name]
        value = get_kind(meta["kind"]).value
        if value == "text":
            feats[name] = Value("string")
        elif value == "number":
            feats[name] = Value("float64")
        else:
            feats[name] = _array_feature(meta.get("shape"), meta["dtype"])
            if meta.get("shape") is None:
                feats[f"{name}.shape"] = List(Value("int32"))
    return Features(feats)


def _hf_rows(root: str, split: str, fields: list[str], limit: int | None) -> Iterator[dict[str, Any]]:
    store = PreparedDataset(Path(root))
    views = {n: store.field(split, n) for n in ["sample_id", "patient_id", "label", *fields]}
    n = len(views["label"]) if limit is None else min(limit, len(views["label"]))
    for i in range(n):
        row: dict[str, Any] = {}
        for name, view in views.items():
            value = view[i]
            if isinstance(value, np.ndarray) and store.card["fields"].get(name, {}).get("shape") is None \
                    and name != "label":
                row[f"{name}.shape"] = list(value.shape)
                value = value.reshape(-1)
            row[name] = value.item() if isinstance(value, np.generic) else value
        yield row


def to_hf_dataset(store: PreparedDataset, split: str, fields: Sequence[str] | None = None,
                  limit: int | None = None, cache_dir: Path | None = None):
    """`split` of `store` as a `datasets.Dataset` (written to `cache_dir`, default climb's cache)."""
    from datasets import Dataset

    from climb.config import climb_home

    _check_split(store, split)
    fields = [n for n in store.card["fields"] if n != "label"] if fields is None else list(fields)
    fingerprint = f"climb-{store.card['fingerprint'][:16]}-{split}-{'-'.join(fields)}-{limit}"
    return Dataset.from_generator(
        _hf_rows, features=hf_features(store.card, fields),
        gen_kwargs={"root": str(store.root), "split": split, "fields": fields, "limit": limit},
        cache_dir=str(cache_dir or climb_home() / "hf_cache"), fingerprint=fingerprint,
    )


def _check_split(store: PreparedDataset, split: str) -> None:
    if split not in store.card["splits"]:
        raise KeyError(f"{store.name} has no split {split!r}; splits: {store.splits}")


# ---------------------------------------------------------------- VLM JSONL


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) if i < 26 else f"A{chr(ord('A') + i - 26)}" for i in range(n)]


def multiple_choice(card: dict[str, Any], label: Any, kind: str) -> dict[str, Any]:
    """Question, lettered choices and answer for one sample's label (`kind`: the exported field's kind)."""
    task = Task(card["task"])
    if task not in (Task.binary, Task.multiclass, Task.multilabel):
        raise ValueError(f"{card['name']}: a {task.value} task has no multiple-choice form")
    names = list(card["label_names"]) + ([NONE_OF_THE_ABOVE] if task == Task.multilabel else [])
    choices = [f"{letter}. {name}" for letter, name in zip(_letters(len(names)), names)]
    media = get_kind(kind)
    what = media.vlm_noun
    note = f" {media.vlm_note}" if media.vlm_note else ""
    if task == Task.multilabel:
        positives = [choices[i] for i in np.flatnonzero(np.asarray(label) > 0.5)]
        answer = "; ".join(positives) if positives else choices[-1]
        ask = f"Which of the following findings are present in this {what}? Select all that apply."
    else:
        answer = choices[int(label)]
        ask = f"Which of the following is the correct label for this {what}?"
    question = f"This {what} is from the {card['name']} dataset.{note} {ask} Choices: {' '.join(choices)}"
    return {"question": question, "choices": choices, "answer": answer}


def to_display_uint8(image: np.ndarray) -> np.ndarray:
    """(C,H,W) array -> (H,W) or (H,W,3|4) uint8 for saving; floats are min-max scaled."""
    if image.dtype != np.uint8:
        image = image.astype(np.float64)
        low, high = np.nanmin(image), np.nanmax(image)
        image = np.zeros_like(image) if high <= low else (image - low) / (high - low)
        image = np.round(np.nan_to_num(image) * 255).astype(np.uint8)
    if image.shape[0] in (3, 4):
        return np.moveaxis(image, 0, -1)
    return image[0]


def write_png(image: np.ndarray, path: Path, fps: float | None = None) -> None:
    """(C,H,W) array -> PNG file (never through a symbolic link); `fps` is ignored (a video writer's)."""
    from PIL import Image

    with open_for_write(path) as f:
        Image.fromarray(to_display_uint8(image)).save(f, format="PNG")


def write_video(frames: np.ndarray, path: Path, fps: float | None = 10.0) -> None:
    """(T,C,H,W) frames -> MPEG-4 file (dimensions padded to even sizes; never through a link)."""
    from climb.extras import require

    av = require("av", "writing MP4 videos")
    fps = 10.0 if fps is None else fps
    pictures = [to_display_uint8(f) for f in frames]
    pictures = [np.repeat(p[..., None], 3, axis=-1) if p.ndim == 2 else p[..., :3] for p in pictures]
    h, w = pictures[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    with open_for_write(path) as f, av.open(f, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=max(1, round(fps)))
        stream.width, stream.height = w + w % 2, h + h % 2
        stream.pix_fmt = "yuv420p"
        for picture in pictures:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.pad(picture, pad)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


MEDIA_WRITERS = {"image": write_png, "video": write_video}


def _safe_name(sample_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", sample_id).strip("._") or "sample"


def visual_field(card: dict[str, Any]) -> tuple[str, str]:
    """(field name, kind) of the dataset's first field whose kind has VLM media (image/volume/video)."""
    for name, meta in card["fields"].items():
        if name != "label" and get_kind(meta["kind"]).vlm_media:
            return name, meta["kind"]
    kinds = {n: m.get("kind") for n, m in card["fields"].items() if n != "label"}
    raise ValueError(f"{card['name']}: no image, volume or video field to export as JSONL (fields: {kinds})")


def to_vlm_jsonl(store: PreparedDataset, split: str, out_dir: Path, limit: int | None = None) -> Path:
    """Write `<out_dir>/<name>_<split>.jsonl` plus its media files; return the JSONL path."""
    _check_split(store, split)
    field, kind_name = visual_field(store.card)
    kind = get_kind(kind_name)
    out_dir = Path(out_dir)
    media_dir = out_dir / f"{kind.vlm_media}s"
    media_dir.mkdir(parents=True, exist_ok=True)
    views = {n: store.field(split, n) for n in ("sample_id", "patient_id", "label", field)}
    n = len(views["label"]) if limit is None else min(limit, len(views["label"]))
    fps = float(store.card["fields"][field].get("fps", 10.0))
    write = MEDIA_WRITERS[kind.vlm_media]
    target = out_dir / f"{store.name}_{split}.jsonl"
    lines = []
    for i in range(n):
        sample_id = views["sample_id"][i]
        media = media_dir / f"{i:06d}_{_safe_name(sample_id)}{MEDIA_SUFFIX[kind.vlm_media]}"
        write(kind.vlm_picture(np.asarray(views[field][i])), media, fps)
        lines.append(json.dumps({kind.vlm_media: media.relative_to(out_dir).as_posix(),
                                 **multiple_choice(store.card, views["label"][i], kind_name),
                                 "sample_id": sample_id, "patient_id": views["patient_id"][i]}) + "\n")
    atomic_write_text(target, "".join(lines))
    return target


__all__ = ["hf_features", "multiple_choice", "to_hf_dataset", "to_vlm_jsonl", "visual_field", "write_png",
           "write_video"]
