"""``tiny-imagenet``: Tiny-ImageNet's training images as few-shot classes, RGB ``size`` x ``size``.

Layout: ``wnids.txt`` (one class id per line) and ``train/<wnid>/images/*.JPEG`` (also found
under ``tiny-imagenet-200/``); ``val/`` and ``test/`` are not read, since few-shot splits are by
class. Images are converted to RGB (a few originals are grayscale) and resized with LANCZOS when
they are not already ``size`` x ``size``.

Split, fixed and by class: in ``wnids.txt`` order, the first 64% of the classes are train, the
next 16% val and the last 20% test (128 / 32 / 40 for the 200 classes).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from metaticket_core import ConfigError, DataError

from .cache import cache_key, cached_arrays
from .episodes import ImageEpisodes, proportional_split
from .images import decode_images
from .options import dataset_factory, require_root

EXPECTED = "wnids.txt and train/<wnid>/images/*.JPEG (or tiny-imagenet-200/)"
FRACTIONS = (0.64, 0.16, 0.20)
SUFFIXES = (".jpeg", ".jpg", ".png")


@dataset_factory("tiny-imagenet")
def load(root: Path | None, *, cache_dir: Path, size: int = 32) -> ImageEpisodes:
    """Tiny-ImageNet-200: natural images of 200 ImageNet classes."""
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"tiny-imagenet: size must be a positive integer, got {size!r}.")
    folder = find_root(require_root("tiny-imagenet", root, EXPECTED))
    classes = list_classes(folder)
    files = [(f"{wnid}/{name}", nbytes) for wnid, images in classes for name, nbytes in images]
    key = cache_key(dataset="tiny-imagenet", source=folder.resolve(), files=files, size=size)

    def build() -> dict[str, np.ndarray]:
        paths = [
            folder / "train" / wnid / "images" / name
            for wnid, images in classes
            for name, _ in images
        ]
        return {"images": decode_images(paths, size=size, mode="RGB")}

    arrays, cache_file = cached_arrays(cache_dir, f"tiny-imagenet-{size}", key, build)
    wnids = [wnid for wnid, _ in classes]
    offsets = np.cumsum([0] + [len(images) for _, images in classes])
    splits = {s: np.array(r) for s, r in proportional_split(len(wnids), FRACTIONS).items()}
    facts = {
        "source": str(folder),
        "split": "wnids.txt order: first 64% train, next 16% val, last 20% test",
        "preprocessing": f"RGB, LANCZOS to {size}x{size} where needed",
        "cache": str(cache_file),
    }
    return ImageEpisodes(
        "tiny-imagenet", arrays["images"], offsets, wnids, splits, facts=facts,
        decode=functools.partial(decode_images, size=size, mode="RGB"),
    )  # fmt: skip


def find_root(root: Path) -> Path:
    for folder in (root, root / "tiny-imagenet-200"):
        if (folder / "wnids.txt").is_file() and (folder / "train").is_dir():
            return folder
    raise DataError(
        f"{root} is not a Tiny-ImageNet folder: expected {EXPECTED} there. Pass --data-root "
        "pointing at the folder that contains wnids.txt."
    )


def list_classes(folder: Path) -> list[tuple[str, list[tuple[str, int]]]]:
    """(wnid, [(image name, size in bytes)]) per class, in wnids.txt order."""
    wnids = (folder / "wnids.txt").read_text().split()
    if not wnids:
        raise DataError(f"{folder / 'wnids.txt'} lists no classes: expected one wnid per line.")
    classes = []
    for wnid in wnids:
        images = folder / "train" / wnid / "images"
        found = (
            sorted(
                (e.name, e.stat().st_size)
                for e in os.scandir(images)
                if e.name.lower().endswith(SUFFIXES) and e.is_file()
            )
            if images.is_dir()
            else []
        )
        if not found:
            raise DataError(
                f"No images in {images} for class {wnid} of wnids.txt: expected "
                f"train/{wnid}/images/*.JPEG."
            )
        classes.append((wnid, found))
    return classes
