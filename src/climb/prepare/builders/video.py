"""Ultrasound video: EchoNet-Dynamic (EF regression), COVID-BLUES and COVID-US (lung classification).

Every video -> field `video` (T, 3, size, size) uint8: `frames` frames sampled
uniformly over the clip (indices round(linspace(0, n-1, T))), each resized bilinearly.

EchoNet-Dynamic::

    FileList.csv   FileName, EF, ESV, EDV, FrameHeight, FrameWidth, FPS, NumberOfFrames, Split
    Videos/<FileName>.avi

Label = EF (%); official Split column TRAIN/VAL/TEST; one video per patient.

COVID-BLUES (github.com/NinaWie/COVID-BLUES; real_samples/covid_blues: 63 patients, 24 of
their videos, 100 frames of 350 x 350 at 25 fps)::

    lus_videos/patient_<id>_<bluepoint>[_2].mp4
    clinical_variables.csv   patient_id, cov_test (PCR: 0 negative, 1 positive), ... (127 columns)

COVID-US / COVIDx-US (github.com/nrc-cnrc/COVID-US @ caf3aca; the videos are fetched from
their original websites and cropped by its notebook `create_COVIDxUS.ipynb`)::

    labels/COVIDx-US1.2_3class.csv, COVIDx-US1.4_3class.csv   id, LUSS, source, probe, class, class_on_website, type
    labels/CovidxUS1.5_metadata.xlsx     (release 1.5 ships only this) id, LUSS, filetype, source, probe,
                                         class (COVID/Pneumonia/Normal/Other), type, patient, case_no, ...
    data/video/cropped/<id>_prc.avi      the notebook's cropped ("processed") video of each id

The label file of the highest release present is used, versions compared numerically
(`version` pins one, e.g. "1.4"); the card names the file. Release 1.4's 3-class CSV has 149
rows (COVID 72, Pneumonia 49, Normal 28); 1.5's sheet has 173 rows, 48 of class Other (not a
class of the 3-class task: left out, counted) and a `patient` column (147 patients), which the
1.5 build uses as patient id; the CSV releases publish none, so each of their videos is its
own patient. The notebook skips `22_butterfly_covid` (removed from the Butterfly source), so
that id is left out and counted; any other id without its cropped video is an error naming
it, or with `missing_videos="skip"` left out and counted (partial downloads from websites).
COVID-BLUES and COVID-US have no official split: seeded splits grouped by patient.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.extras import require
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels.mapping import check_policy, is_missing


def read_video(path: Path, frames: int, size: int) -> np.ndarray:
    """Decode `path` -> (frames, 3, size, size) uint8, frames sampled uniformly over the clip."""
    av = require("av", "decoding videos")
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
    split_policy = "official EchoNet-Dynamic Split column (TRAIN/VAL/TEST)"
    SPLITS = {"TRAIN": "train", "VAL": "val", "TEST": "test"}

    def label_files(self, raw: Path) -> list[Path]:
        return [raw / "FileList.csv"]

    def items(self, raw: Path) -> list[dict[str, Any]]:
        path = raw / "FileList.csv"
        df = _read_csv(path, ["FileName", "EF", "Split"])
        mapper = self.label_mapper(None, what="EF", source=path)
        out = []
        for row in df.itertuples(index=False):
            name = str(row.FileName)
            stem = name[:-4] if name.lower().endswith(".avi") else name
            split = self.SPLITS.get(str(row.Split).strip().upper())
            if split is None:
                raise PrepareError(path, f"{stem}: unknown Split {row.Split!r}")
            ef = mapper.number(row.EF, stem)
            if ef is None:
                continue
            video = raw / "Videos" / f"{stem}.avi"
            if not video.is_file():
                raise PrepareError(video, f"listed in {path.name} but missing")
            out.append({"path": video, "sample_id": stem, "patient_id": stem, "split": split, "label": ef})
        mapper.finish()
        return out


@register_builder("covid_blues")
class CovidBLUES(VideoBuilder):
    """COVID-BLUES BLUE-point lung ultrasound videos -> PCR-confirmed COVID-19 (binary)."""

    catalog_id = "covid_blues"
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    split_policy = "no official split: seeded (0) 70/10/20 split grouped by patient, stratified by PCR result"
    PCR = {0: "no COVID", 1: "COVID"}  # cov_test

    def label_files(self, raw: Path) -> list[Path]:
        return [raw / "clinical_variables.csv"]

    def items(self, raw: Path) -> list[dict[str, Any]]:
        path = raw / "clinical_variables.csv"
        df = _read_csv(path, ["patient_id", "cov_test"])
        mapper = self.label_mapper(self.PCR, what="cov_test", source=path)
        pcr = {str(int(p)): mapper.one(v, f"patient {int(p)}") for p, v in zip(df["patient_id"], df["cov_test"])}
        mapper.finish()
        videos = sorted((raw / "lus_videos").glob("patient_*.mp4"))
        if not videos:
            raise PrepareError(raw / "lus_videos", "no patient_<id>_<point>.mp4 videos found")
        out = []
        for video in videos:
            patient = video.stem.split("_")[1]
            if patient not in pcr:
                raise PrepareError(path, f"no row for patient {patient} (video {video.name})")
            if pcr[patient] is not None:
                out.append({"path": video, "sample_id": video.stem, "patient_id": patient, "split": None,
                            "label": pcr[patient]})
        return out


COVID_US_CLASSES = {"COVID": "COVID", "Pneumonia": "pneumonia", "Normal": "normal",
                    "Other": None}  # Other: outside the 3-class task (release 1.5's sheet), left out
COVID_US_LABEL_FILES = (re.compile(r"COVIDx-US(\d+(?:\.\d+)*)_3class\.csv"),
                        re.compile(r"CovidxUS(\d+(?:\.\d+)*)_metadata\.xlsx"))
COVID_US_REMOVED = ("22_butterfly_covid",)  # skipped by the notebook: removed from the Butterfly source


def release(version: str) -> tuple[int, ...]:
    """"1.10" -> (1, 10): releases compare numerically, never as strings ("1.10" > "1.2")."""
    return tuple(int(part) for part in version.split("."))


@register_builder("covid_us")
class CovidUS(VideoBuilder):
    """COVIDx-US cropped lung ultrasound videos -> COVID / pneumonia / normal."""

    catalog_id = "covid_us"
    split_fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    default_params: dict[str, Any] = {"frames": 16, "size": 112, "version": "latest", "missing_videos": "error"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("missing_videos", self.params["missing_videos"], ("error", "skip"))

    @property
    def split_policy(self) -> str:  # type: ignore[override]
        return ("no official split: seeded (0) 70/10/20 split stratified by class, grouped by the `patient` "
                "column of release 1.5 (earlier releases publish no patient ids: one video per patient)")

    def label_file(self, raw: Path) -> tuple[str, Path]:
        """(version, path) of the label file to read: the highest release, or the pinned `version`."""
        found = {}
        for path in sorted((raw / "labels").glob("*")):
            for pattern in COVID_US_LABEL_FILES:
                if m := pattern.fullmatch(path.name):
                    found[m.group(1)] = path
        if not found:
            raise PrepareError(raw / "labels", "no COVIDx-US<version>_3class.csv or CovidxUS<version>_metadata.xlsx "
                                               "label file found")
        wanted = self.params["version"]
        if wanted == "latest":
            wanted = max(found, key=release)
        if wanted not in found:
            raise PrepareError(raw / "labels", f"no label file of release {wanted}; found {sorted(found, key=release)}")
        return wanted, found[wanted]

    def label_files(self, raw: Path) -> list[Path]:
        return [self.label_file(raw)[1]]

    def items(self, raw: Path) -> list[dict[str, Any]]:
        version, path = self.label_file(raw)
        if path.suffix == ".xlsx":
            from climb.prepare.builders.images_2d import read_xlsx

            df = read_xlsx(path)
            missing = [c for c in ("id", "class", "patient") if c not in df.columns]
            if missing:
                raise PrepareError(path, f"missing column(s) {missing}; present: {list(df.columns)}")
        else:
            df = _read_csv(path, ["id", "class"])
        mapper = self.label_mapper(COVID_US_CLASSES, what="class", source=path)
        absent = self.label_mapper(None, what="cropped video", source=raw / "data" / "video" / "cropped")
        out = []
        for row in df.to_dict("records"):
            vid = str(row["id"]).strip()
            label = mapper.one(row["class"], vid)
            if label is None:
                continue
            video = raw / "data" / "video" / "cropped" / f"{vid}_prc.avi"
            if not video.is_file():
                if vid in COVID_US_REMOVED:
                    absent.exclude("removed from its source; the notebook never makes its video", vid)
                    continue
                if self.params["missing_videos"] == "skip":
                    absent.exclude("cropped video missing (missing_videos=skip)", vid)
                    continue
                raise PrepareError(video, f"{vid} is listed in {path.name} but its cropped video is missing (run "
                                          "create_COVIDxUS.ipynb; missing_videos=skip prepares a partial download)")
            if "patient" in row and is_missing(row["patient"]):
                raise PrepareError(path, f"{vid}: empty patient")
            patient = str(row["patient"]).strip() if "patient" in row else vid
            out.append({"path": video, "sample_id": vid, "patient_id": patient, "split": None, "label": label})
        mapper.finish()
        return out

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        version, path = self.label_file(raw)
        return {**super().field_meta(raw), "label": {"release": version, "file": f"labels/{path.name}"}}
