"""Decoding image files into uint8 arrays; a file that cannot be decoded is named."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from metaticket_core.errors import DataError

RESAMPLE = Image.Resampling.LANCZOS


def decode_images(paths: Sequence[Path], *, size: int, mode: Literal["L", "RGB"]) -> np.ndarray:
    """Images as uint8 (n, channels, size, size), resized with LANCZOS (antialiased) when needed."""
    channels = 1 if mode == "L" else 3
    out = np.empty((len(paths), channels, size, size), np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
                if image.size != (size, size):
                    image = image.resize((size, size), RESAMPLE)
                pixels = np.asarray(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(
                f"Cannot decode image {path}: {exc}. Replace or delete the file, then rerun."
            ) from exc
        out[i] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return out


def decode_ink(paths: Sequence[Path], *, size: int) -> np.ndarray:
    """Drawings on light paper as gray (n, 1, size, size) with ink bright (Omniglot polarity)."""
    return 255 - decode_images(paths, size=size, mode="L")
