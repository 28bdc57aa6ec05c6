"""Cholec80 (Twinanda et al. 2017): laparoscopic cholecystectomy clips, 7 phases + 7 tools (multilabel).

Layout of the CAMMA release, from CLIMB's loader (``src/datasets/endoscopic/cholec.py``:
``videos/videoNN.mp4``, ``phase_annotations/videoNN-phase.txt`` and
``tool_annotations/videoNN-tool.txt``, tab separated, with a ``Frame`` column) and a
third-party loader that documents both files' headers::

    videos/video01.mp4 ... video80.mp4                       25 fps
    phase_annotations/video01-phase.txt   Frame<TAB>Phase     one row per video frame (0, 1, 2, ...)
    tool_annotations/video01-tool.txt     Frame<TAB>Grasper<TAB>Bipolar<TAB>Hook<TAB>Scissors<TAB>
                                          Clipper<TAB>Irrigator<TAB>SpecimenBag   every 25th frame, 0/1

Samples (CLIMB's 90 intervals per video, 7,200 clips): each video is cut into ``clips``
consecutive intervals of equal length over its annotated frames; a clip's label is the
14-vector of the phases annotated on any of its frames and the tools present in any of
its tool rows (label order: the 7 phases, then the 7 tools, as in the catalog). Its
``video`` is ``frames`` frames sampled uniformly over the interval, resized to ``size``
(T, 3, size, size). A phase name outside the seven or a tool value other than 0/1 is an
error; a video whose decoded length differs from its phase annotation by more than one
second (25 frames) is an error.

Split (the standard one of the Cholec80 phase-recognition literature: EndoNet trains on
the first 40 videos and tests on the last 40; TeCNO and later work hold out videos 33-40
for validation): videos 1-32 train, 33-40 val, 41-80 test. Patient = video (one
operation per patient).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.extras import require
from climb.prepare.builder import Builder, PrepareError, register_builder

PHASES = ["Preparation", "CalotTriangleDissection", "ClippingCutting", "GallbladderDissection",
          "GallbladderPackaging", "CleaningCoagulation", "GallbladderRetraction"]
TOOLS = ["Grasper", "Bipolar", "Hook", "Scissors", "Clipper", "Irrigator", "SpecimenBag"]
FPS = 25
VIDEO_NAME = re.compile(r"^video(\d+)\.mp4$")


def official_split(number: int) -> str:
    return "train" if number <= 32 else "val" if number <= 40 else "test"


def _read_tsv(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise PrepareError(path, "annotation file not found")
    try:
        df = pd.read_csv(path, sep="\t")
    except Exception as e:  # pandas raises several types for broken tables
        raise PrepareError(path, f"unreadable annotation file ({type(e).__name__}: {e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if list(df.columns) != columns:
        raise PrepareError(path, f"columns {list(df.columns)}, expected {columns}")
    if df.isna().any().any():
        raise PrepareError(path, "empty cells")
    return df


def read_phases(path: Path) -> np.ndarray:
    """Phase index of every frame (the Frame column must be 0, 1, 2, ...)."""
    df = _read_tsv(path, ["Frame", "Phase"])
    if not np.array_equal(df["Frame"].to_numpy(), np.arange(len(df))):
        raise PrepareError(path, "Frame column is not 0, 1, 2, ... (one row per frame)")
    names = df["Phase"].astype(str).str.strip()
    unknown = sorted(set(names) - set(PHASES))
    if unknown:
        raise PrepareError(path, f"{int((~names.isin(PHASES)).sum())} frame(s) with unknown phase(s) {unknown}; "
                                 f"known: {PHASES}")
    return names.map({p: i for i, p in enumerate(PHASES)}).to_numpy()


def read_tools(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frame numbers, (rows, 7) 0/1 tool presence)."""
    df = _read_tsv(path, ["Frame", *TOOLS])
    values = df[TOOLS].to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise PrepareError(path, "tool presence values other than 0/1")
    return df["Frame"].to_numpy(), values.astype(np.float32)


def decode_frames(path: Path, wanted: np.ndarray, size: int) -> tuple[dict[int, np.ndarray], int]:
    """The frames at indices `wanted` as (3, size, size) uint8, and the video's frame count (one pass)."""
    av = require("av", "decoding videos")
    from PIL import Image

    targets = set(int(i) for i in wanted)
    out: dict[int, np.ndarray] = {}
    count = 0
    try:
        with av.open(str(path)) as container:
            for count, frame in enumerate(container.decode(video=0), start=1):
                if count - 1 in targets:
                    img = frame.to_image().convert("RGB").resize((size, size), Image.BILINEAR)
                    out[count - 1] = np.asarray(img).transpose(2, 0, 1)
    except Exception as e:  # PyAV raises its own error types for broken streams
        raise PrepareError(path, f"unreadable video ({type(e).__name__}: {e})") from None
    return out, count


@register_builder("cholec80")
class Cholec80(Builder):
    """Cholec80 videos -> fixed intervals labelled with the phases and tools they contain."""

    version = "1.0.0"
    catalog_id = "cholec80"
    task = Task.multilabel
    label_names = PHASES + TOOLS
    fields = {"video": "video"}
    split_policy = "standard Cholec80 split: videos 1-32 train, 33-40 val, 41-80 test (one patient per video)"
    default_params: dict[str, Any] = {"clips": 90, "frames": 16, "size": 112}

    def _videos(self, raw: Path) -> list[tuple[int, Path]]:
        found = []
        for p in sorted((raw / "videos").glob("video*.mp4")):
            m = VIDEO_NAME.match(p.name)
            if m:
                found.append((int(m[1]), p))
        if not found:
            raise PrepareError(raw / "videos", "no videoNN.mp4 files found")
        return found

    def _annotations(self, raw: Path, number: int) -> tuple[Path, Path]:
        stem = f"video{number:02d}"
        return raw / "phase_annotations" / f"{stem}-phase.txt", raw / "tool_annotations" / f"{stem}-tool.txt"

    def source_files(self, raw: Path) -> list[Path]:
        return [p for n, video in self._videos(raw) for p in (video, *self._annotations(raw, n))]

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._videos(raw)) * int(self.params["clips"])

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"video": {"frames": self.params["frames"], "size": self.params["size"], "fps_source": FPS,
                          "clips_per_video": self.params["clips"], "sampling": "uniform over each interval",
                          "layout": "T, C, H, W uint8 RGB"}}

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        clips, frames, size = int(self.params["clips"]), int(self.params["frames"]), int(self.params["size"])
        for number, video in self._videos(raw):
            phase_path, tool_path = self._annotations(raw, number)
            phases = read_phases(phase_path)
            tool_frames, tools = read_tools(tool_path)
            n = len(phases)
            if n < clips:
                raise PrepareError(phase_path, f"{n} annotated frames, fewer than clips={clips}")
            bounds = np.linspace(0, n, clips + 1).round().astype(int)
            picks = [np.round(np.linspace(a, b - 1, frames)).astype(int) for a, b in zip(bounds[:-1], bounds[1:])]
            decoded, count = decode_frames(video, np.concatenate(picks), size)
            if abs(count - n) > FPS:
                raise PrepareError(video, f"{count} frames, but {phase_path.name} annotates {n}")
            for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
                missing = [int(i) for i in picks[k] if int(i) not in decoded]
                if missing:
                    raise PrepareError(video, f"frame {missing[0]} (clip {k}) is past the end of the video ({count})")
                label = np.zeros(len(self.label_names), dtype=np.float32)
                label[np.unique(phases[a:b])] = 1.0
                inside = (tool_frames >= a) & (tool_frames < b)
                label[len(PHASES):] = tools[inside].max(axis=0) if inside.any() else 0.0
                yield {"sample_id": f"video{number:02d}-{k:03d}", "patient_id": f"video{number:02d}",
                       "split": official_split(number), "label": label,
                       "video": np.stack([decoded[int(i)] for i in picks[k]])}
