"""Ultrasound video: EchoNet-Dynamic (EF regression), COVID-BLUES and COVID-US (lung classification).

Every video -> field `video` (T, 3, size, size) uint8: `frames` frames sampled
uniformly over the clip (indices round(linspace(0, n-1, T))), each resized bilinearly.

EchoNet-Dynamic::

    FileList.csv   FileName, EF, ESV, EDV, FrameHeight, FrameWidth, FPS, NumberOfFrames, Split
    Videos/<FileName>.avi

Label = EF (%); official Split column TRAIN/VAL/TEST; one video per patient.

COVID-BLUES (github.com/NinaWie/COVID-BLUES)::

    lus_videos/patient_<id>_<bluepoint>[_2].mp4
    clinical_variables.csv   patient_id, cov_test (PCR: 0 negative, 1 positive), ...

COVID-US / COVIDx-US (github.com/nrc-cnrc/COVID-US; videos made by its notebook)::

    labels/COVIDx-US<version>_3class.csv     id, LUSS, source, probe, class (COVID/Pneumonia/Normal), ...
    data/video/processed/<id>_prc_<probe>.mp4

The sources publish no patient ids, so each COVID-US video is its own patient.
COVID-BLUES and COVID-US have no official split: seeded splits grouped by patient.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder


def read_video(path: Path, frames: int, size: int) -> np.ndarray:
    """Decode `path` -> (frames, 3, size, size) uint8, frames sampled uniformly over the clip."""
    import av
    from PIL import Image

    try:
        with av.open(str(path)) as container:
            decoded = [f.to_image() for f in container.decode(video=0)]
    except Exception as e:
        raise PrepareError(path, f"unreadable video ({type(e).__name__}: {e})") from None
    if not decoded:
        raise PrepareError(path, "video has no frames")
    idx = np.round(np.linspace(0, len(decoded) - 1, frames)).astype(int)
    out = np.empty((frames, 3, size, size), dtype=np.uint8)
    for t, i in enumerate(idx):
        img = decoded[i].convert("RGB").resize((size, size), Image.BILINEAR)
        out[t] = np.asarray(img).transpose(2, 0, 1)
    return out


def _read_csv(path: Path, columns: list[str]):
    import pandas as pd

    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        df = pd.read_csv(path)
    except Exception as e:
        raise PrepareError(path, f"unreadable CSV ({type(e).__name__}: {e})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PrepareError(path, f"missing column(s) {missing}; present: {list(df.columns)}")
    return df


class VideoBuilder(Builder):
    version = "1.0.0"
    fields = {"video": "video"}
    split_seed = 0
    default_params: dict[str, Any] = {"frames": 16, "size": 112}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"video": {"frames": self.params["frames"], "size": self.params["size"],
                          "sampling": "uniform over the clip", "layout": "T, C, H, W uint8 RGB"}}

    def items(self, raw: Path) -> list[dict[str, Any]]:
        """[{path, sample_id, patient_id, split, label}] for every video."""
        raise NotImplementedError

    def source_files(self, raw: Path) -> list[Path]:
        return [*self.label_files(raw), *(it["path"] for it in self.items(raw))]

    def label_files(self, raw: Path) -> list[Path]:
        raise NotImplementedError

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self.items(raw))

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        for it in self.items(raw):
            video = read_video(it["path"], int(self.params["frames"]), int(self.params["size"]))
            yield {k: v for k, v in it.items() if k != "path"} | {"video": video}


@register_builder("echonet_dynamic")
class EchoNetDynamic(VideoBuilder):
    """EchoNet-Dynamic apical-4-chamber echo videos -> ejection fraction (regression)."""

    catalog_id = "echonet_dynamic"
    task = Task.regression
    label_names = ["EF"]
    split_policy = "official EchoNet-Dynamic Split column (TRAIN/VAL/TEST)"
    SPLITS = {"TRAIN": "train", "VAL": "val", "TEST": "test"}

    def label_files(self, raw: Path) -> list[Path]:
        return [raw / "FileList.csv"]

    def items(self, raw: Path) -> list[dict[str, Any]]:
        path = raw / "FileList.csv"
        df = _read_csv(path, ["FileName", "EF", "Split"])
        out = []
        for row in df.itertuples(index=False):
            name = str(row.FileName)
            stem = name[:-4] if name.lower().endswith(".avi") else name
            split = self.SPLITS.get(str(row.Split).strip().upper())
            if split is None:
                raise PrepareError(path, f"{stem}: unknown Split {row.Split!r}")
            if not np.isfinite(float(row.EF)):
                raise PrepareError(path, f"{stem}: EF is missing")
            video = raw / "Videos" / f"{stem}.avi"
            if not video.is_file():
                raise PrepareError(video, f"listed in {path.name} but missing")
            out.append({"path": video, "sample_id": stem, "patient_id": stem, "split": split,
                        "label": float(row.EF)})
        return out


@register_builder("covid_blues")
class CovidBLUES(VideoBuilder):
    """COVID-BLUES BLUE-point lung ultrasound videos -> PCR-confirmed COVID-19 (binary)."""

    catalog_id = "covid_blues"
    task = Task.binary
    label_names = ["COVID-19 negative", "COVID-19 positive"]
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = "no official split: seeded (0) 70/10/20 split grouped by patient, stratified by PCR result"

    def label_files(self, raw: Path) -> list[Path]:
        return [raw / "clinical_variables.csv"]

    def items(self, raw: Path) -> list[dict[str, Any]]:
        path = raw / "clinical_variables.csv"
        df = _read_csv(path, ["patient_id", "cov_test"])
        pcr = {str(int(p)): v for p, v in zip(df["patient_id"], df["cov_test"])}
        videos = sorted((raw / "lus_videos").glob("patient_*.mp4"))
        if not videos:
            raise PrepareError(raw / "lus_videos", "no patient_<id>_<point>.mp4 videos found")
        out = []
        for video in videos:
            patient = video.stem.split("_")[1]
            if patient not in pcr:
                raise PrepareError(path, f"no row for patient {patient} (video {video.name})")
            if pcr[patient] not in (0, 1):
                raise PrepareError(path, f"patient {patient}: cov_test {pcr[patient]!r} is not 0/1")
            out.append({"path": video, "sample_id": video.stem, "patient_id": patient, "split": None,
                        "label": int(pcr[patient])})
        return out


@register_builder("covid_us")
class CovidUS(VideoBuilder):
    """COVIDx-US processed lung ultrasound videos -> COVID / pneumonia / normal."""

    catalog_id = "covid_us"
    task = Task.multiclass
    label_names = ["COVID", "pneumonia", "normal"]
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = ("no official split: seeded (0) 70/10/20 split stratified by class; one video per "
                    "patient (the sources publish no patient ids)")
    CLASSES = {"covid": 0, "pneumonia": 1, "normal": 2}

    def label_files(self, raw: Path) -> list[Path]:
        found = sorted((raw / "labels").glob("COVIDx-US*_3class.csv"))
        if not found:
            raise PrepareError(raw / "labels", "no COVIDx-US*_3class.csv label file found")
        return [found[-1]]  # the latest release

    def items(self, raw: Path) -> list[dict[str, Any]]:
        path = self.label_files(raw)[0]
        df = _read_csv(path, ["id", "class"])
        videos = {v.name.split("_prc_")[0]: v for v in (raw / "data" / "video" / "processed").glob("*_prc_*.mp4")}
        out = []
        for vid, cls in zip(df["id"].astype(str), df["class"].astype(str)):
            if cls.strip().lower() not in self.CLASSES:
                raise PrepareError(path, f"{vid}: class {cls!r} not one of COVID/Pneumonia/Normal")
            if vid not in videos:
                raise PrepareError(path, f"{vid}: no processed video data/video/processed/{vid}_prc_*.mp4")
            out.append({"path": videos[vid], "sample_id": vid, "patient_id": vid, "split": None,
                        "label": self.CLASSES[cls.strip().lower()]})
        return out
