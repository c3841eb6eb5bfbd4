"""Decoding images into uint8 arrays; a file that cannot be decoded is named.

A source is an image file, encoded image bytes (PNG/JPEG inside a pickle or HDF5 file) or an
already decoded (H, W, C) / (H, W) uint8 array; an optional box crops it first (Cars, Aircraft).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from metaticket_core import DataError, warn

RESAMPLE = Image.Resampling.LANCZOS
Box = tuple[int, int, int, int]  # left, upper, right, lower in pixels (PIL's crop box)
Source = Path | bytes | np.ndarray | tuple[Path, Box]


@dataclass(frozen=True)
class Preprocess:
    """Resize to ``size`` x ``size`` with LANCZOS; with ``shorter``, first scale the shorter side
    to ``shorter`` (aspect kept) and center-crop ``size`` x ``size`` (CUB's 126 -> 84); with
    ``ink``, invert, so that drawings on light paper have bright ink (Omniglot's polarity)."""

    size: int
    mode: Literal["L", "RGB"] = "RGB"
    shorter: int | None = None
    ink: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.mode == "L" else 3

    def describe(self) -> str:
        if self.shorter:
            text = (f"{self.mode}, shorter side LANCZOS to {self.shorter}, center crop "
                    f"{self.size}x{self.size}")  # fmt: skip
        else:
            text = f"{self.mode}, LANCZOS to {self.size}x{self.size} where needed"
        return f"{text}, inverted: ink 1.0, paper 0.0" if self.ink else text

    def __call__(self, image: Image.Image) -> np.ndarray:
        """(channels, size, size) uint8."""
        image = image.convert(self.mode)
        if self.shorter:
            scale = self.shorter / min(image.size)
            image = image.resize(
                (max(self.size, round(image.width * scale)),
                 max(self.size, round(image.height * scale))), RESAMPLE,
            )  # fmt: skip
            left, top = (image.width - self.size) // 2, (image.height - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        elif image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), RESAMPLE)
        pixels = np.asarray(image)
        if self.ink:
            pixels = 255 - pixels
        return pixels[None] if self.channels == 1 else pixels.transpose(2, 0, 1)


def decode_into(out: np.ndarray, sources: Iterable[Source], preprocess: Preprocess) -> int:
    """Preprocess ``sources`` into ``out[0], out[1], ...``; returns how many were written."""
    i = -1
    for i, source in enumerate(sources):
        if i >= len(out):
            raise DataError(f"More images than expected ({len(out)}) near {_where(source)}.")
        out[i] = _decode(source, preprocess)
    return i + 1


def _decode(source: Source, preprocess: Preprocess) -> np.ndarray:
    if isinstance(source, np.ndarray) and source.dtype == np.uint8 and source.ndim in (2, 3):
        if source.ndim == 3 and source.shape[-1] != 3:
            raise DataError(f"Expected (H, W, 3) RGB images, got an array of shape {source.shape}.")
        size = (preprocess.size, preprocess.size)
        if source.shape[:2] == size and preprocess == Preprocess(preprocess.size):
            return source.transpose(2, 0, 1)  # already the right size: no resampling
        return preprocess(Image.fromarray(source))
    path, box = source if isinstance(source, tuple) else (source, None)
    try:
        raw = io.BytesIO(_bytes(path)) if isinstance(path, bytes | np.ndarray) else path
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(raw) as image:
                pixels = preprocess(image.crop(box) if box else image)
        if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
            warn(
                f"image {_where(source)} has {image.width * image.height:,} pixels, more than "
                f"{Image.MAX_IMAGE_PIXELS:,}: decoding it takes much memory and time."
            )
        return pixels
    except Exception as exc:  # Pillow's format plugins raise all kinds on a damaged file
        raise DataError(
            f"Cannot decode image {_where(source)}: {exc}. Replace or delete the file, then rerun."
        ) from exc


def _bytes(encoded: bytes | np.ndarray) -> bytes:
    return encoded if isinstance(encoded, bytes) else np.ascontiguousarray(encoded).tobytes()


def _where(source: Source) -> str:
    if isinstance(source, tuple):
        return str(source[0])
    return str(source) if isinstance(source, Path) else "(encoded image bytes)"


def decode_files(paths: Sequence[Path], *, preprocess: Preprocess) -> np.ndarray:
    """Image files as uint8 (n, channels, size, size)."""
    out = np.empty((len(paths), preprocess.channels, preprocess.size, preprocess.size), np.uint8)
    decode_into(out, paths, preprocess)
    return out


def undecodable(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """The image files among ``paths`` that do not decode, each with why (``mt data check`` on
    a folder mt did not unpack, which has no manifest of sizes to compare with)."""
    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
        except Exception as exc:  # as in _decode: Pillow raises all kinds on a damaged file
            bad.append((path, " ".join(str(exc).split())[:80] or type(exc).__name__))
    return bad
