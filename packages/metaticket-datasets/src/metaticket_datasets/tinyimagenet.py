"""``tiny-imagenet``'s layout reader: Tiny-ImageNet's training images as few-shot classes.

``wnids.txt`` (one class id per line) and ``train/<wnid>/images/*.JPEG`` (also found under
``tiny-imagenet-200/``); ``val/`` and ``test/`` are not read, since few-shot splits are by class.
Images are converted to RGB (a few originals are grayscale). Classes keep ``wnids.txt``'s order,
which the split follows.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from metaticket_core import DataError

from .episodes import proportional_split
from .folders import list_images
from .pipeline import ClassSource, ImageReader, Layout, Listing

FRACTIONS = (0.64, 0.16, 0.20)


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "tiny-imagenet-200"):
        if (folder / "wnids.txt").is_file() and (folder / "train").is_dir():
            classes, files = _classes(folder)
            return Layout(folder, files, partial(Listing, classes))
    return None


def _classes(folder: Path) -> tuple[list[ClassSource], list[tuple[str, int]]]:
    """One class per line of wnids.txt, in that order, and the files that key the cache."""
    wnids = (folder / "wnids.txt").read_text().split()
    if not wnids:
        raise DataError(f"{folder / 'wnids.txt'} lists no classes: expected one wnid per line.")
    classes, files = [], []
    for wnid in wnids:
        images = folder / "train" / wnid / "images"
        found = list_images(images) if images.is_dir() else []
        if not found:
            raise DataError(
                f"No images in {images} for class {wnid} of wnids.txt: expected "
                f"train/{wnid}/images/*.JPEG."
            )
        classes.append(ClassSource(wnid, len(found), [images / name for name, _ in found]))
        files += [(f"{wnid}/{name}", size) for name, size in found]
    return classes, files


load = ImageReader(_find, rule=partial(proportional_split, fractions=FRACTIONS))
