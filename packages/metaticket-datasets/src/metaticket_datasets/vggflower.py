"""``vgg-flower``'s layout reader: Oxford 102 Flowers (VGG).

``jpg/image_00001.jpg`` and ``imagelabels.mat`` (``labels``: 1-based class of each image, in
file order). Classes are named by their label, ``001`` to ``102``; Meta-Dataset's split json
names them ``"090.canna lily"``, whose ``NNN`` is the label. 32x32 by default, the paper's
setting (its MLP takes 3 x 32 x 32, as for CIFAR-FS); ``size=84`` gives the common few-shot
size. The archive carries no class split.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .matfiles import read_mat
from .pipeline import ClassSource, ImageReader, Layout, Listing


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "102flowers", root / "flowers-102"):
        labels = folder / "imagelabels.mat"
        if (folder / "jpg").is_dir() and labels.is_file():
            images = sorted((f"jpg/{e.name}", e.stat().st_size) for e in (folder / "jpg").iterdir())
            files = [("imagelabels.mat", labels.stat().st_size), *images]
            return Layout(folder, files, partial(_listing, folder, labels))
    return None


def _listing(folder: Path, labels_file: Path) -> Listing:
    labels = np.atleast_1d(np.asarray(read_mat(labels_file, "labels"))).astype(np.int64)
    classes = []
    for label in np.unique(labels):
        numbers = np.flatnonzero(labels == label) + 1  # image_00001.jpg has the first label
        paths = [folder / "jpg" / f"image_{n:05d}.jpg" for n in numbers]
        classes.append(ClassSource(f"{label:03d}", len(paths), paths))
    return Listing(classes)


def _label(entry: str) -> str:
    """``"090.canna lily"`` (or ``"090"``, ``"90"``) -> ``"090"``."""
    number = entry.split(".", 1)[0].strip()
    return f"{int(number):03d}" if number.isdigit() else entry


load = ImageReader(_find, normalize=_label)
