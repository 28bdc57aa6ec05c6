"""Compact storage of image and video fields: PNG (lossless) or JPEG (lossy), decoded on read.

A prepared store keeps arrays by default (`--storage arrays`); with `--storage png` or
`--storage jpeg`, every field whose kind lists that codec (`FieldKind.codecs`) is stored as one
encoded picture per sample, and its `.shape` column and dtype restore the array exactly
(PNG) or approximately (JPEG, quality `JPEG_QUALITY`). Video frames (T, C, H, W) are stacked
vertically into one (T*H, W) picture, so one decode yields the whole clip.

Pillow does the coding (libpng / libjpeg-turbo); what is hand-written here is only the
layout: channels-first arrays <-> channels-last pictures. The stored images of climb's
builders are resized and padded from their sources, so storing "the source's own bytes"
would store another picture than the standard sample; the codec re-encodes the standard
sample instead (losslessly by default).
"""

from __future__ import annotations

import io
from typing import ClassVar

import numpy as np

JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 6  # zlib level; Pillow's default


class Codec:
    """Encodes one array field value to bytes and back."""

    name: ClassVar[str]
    lossless: ClassVar[bool]
    format: ClassVar[str]

    def problem(self, array: np.ndarray) -> str | None:
        """Why `array` cannot be stored with this codec (None: it can)."""
        if array.ndim not in (3, 4):
            return f"{self.name} stores (C, H, W) or (T, C, H, W) arrays, not {array.ndim}-D"
        channels = array.shape[-3]
        if array.dtype not in self.dtypes or channels not in self.dtypes[array.dtype]:
            allowed = "; ".join(f"{d}: {sorted(c)} channels" for d, c in self.dtypes.items())
            return f"{self.name} stores {allowed}; got {array.dtype} with {channels} channels"
        return None

    dtypes: ClassVar[dict[np.dtype, set[int]]]

    def encode(self, array: np.ndarray) -> bytes:
        from PIL import Image

        picture = np.moveaxis(array, -3, -1)  # (..., H, W, C)
        picture = picture.reshape(-1, *picture.shape[-2:])  # frames stacked: (T*H, W, C)
        if picture.shape[-1] == 1:
            picture = picture[..., 0]
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(picture)).save(out, format=self.format, **self.options)
        return out.getvalue()

    options: ClassVar[dict] = {}

    def decode(self, data: bytes, shape: tuple[int, ...], dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
        """The array of `shape` and `dtype` stored in `data` (written into `out` when given)."""
        from PIL import Image

        with Image.open(io.BytesIO(data), formats=[self.format]) as im:
            picture = np.asarray(im, dtype=dtype)
        channels = shape[-3]
        frames = picture.reshape(*shape[:-3], shape[-2], shape[-1], channels)
        array = np.moveaxis(frames, -1, -3)
        if out is None:
            return np.ascontiguousarray(array)
        out[...] = array
        return out


class PNG(Codec):
    name = "png"
    lossless = True
    format = "PNG"
    dtypes = {np.dtype(np.uint8): {1, 3, 4}, np.dtype(np.uint16): {1}}
    options = {"compress_level": PNG_COMPRESS_LEVEL}


class JPEG(Codec):
    name = "jpeg"
    lossless = False
    format = "JPEG"
    dtypes = {np.dtype(np.uint8): {1, 3}}
    options = {"quality": JPEG_QUALITY}


CODECS: dict[str, Codec] = {c.name: c() for c in (PNG, JPEG)}
STORAGES = ("arrays", *CODECS)  # what `climb prepare --storage` accepts


def get_codec(name: str) -> Codec:
    if name not in CODECS:
        from climb.errors import ClimbUsageError

        raise ClimbUsageError(f"unknown storage codec {name!r}; known: {', '.join(CODECS)}")
    return CODECS[name]
