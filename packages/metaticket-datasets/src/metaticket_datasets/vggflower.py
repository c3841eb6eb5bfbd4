"""``vgg-flower``: Oxford 102 Flowers (VGG), RGB 32x32 by default.

32x32 is the paper's setting for VGG-Flower (DESIGN.md section 4: the MLP takes 3 x 32 x 32,
as for CIFAR-FS); ``size=84`` gives the common few-shot size. Layout: ``jpg/image_00001.jpg``
and ``imagelabels.mat`` (``labels``: 1-based class of each image, in file order); images are
converted to RGB and resized to ``size`` x ``size`` with LANCZOS. Classes are named by their
label, ``001`` to ``102``.

Split (102 classes, 71 / 15 / 16): the archive carries none, so ``split_file`` is required:
Meta-Dataset's json ``{"train": ["090.canna lily", ...], "valid": [...], "test": [...]}``, whose
``NNN`` is the label.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import DataError

from .episodes import ImageEpisodes
from .images import Preprocess
from .imageset import (
    ClassSource,
    Listing,
    check_size,
    choose_split,
    decode_classes,
    image_episodes,
    plain_keys,
)  # fmt: skip
from .matfiles import read_mat
from .options import dataset_factory, require_root
from .splitfiles import missing_split

EXPECTED = "jpg/image_00001.jpg ... and imagelabels.mat"
FORMATS = (
    "Meta-Dataset's vgg_flower json "
    '{"train": ["090.canna lily", ...], "valid": [...], "test": [...]} (NNN = label)'
)


@dataset_factory("vgg-flower")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 32
) -> ImageEpisodes:
    """Oxford 102 Flowers: 102 flower species, 40 to 258 images each, RGB 32x32."""
    preprocess = Preprocess(check_size("vgg-flower", size))
    folder = _find(require_root("vgg-flower", root, EXPECTED))
    labels_file = folder / "imagelabels.mat"
    images = sorted((f"jpg/{e.name}", e.stat().st_size) for e in (folder / "jpg").iterdir())
    files = [("imagelabels.mat", labels_file.stat().st_size), *images]
    if split_file is None:  # fail before decoding
        raise missing_split("vgg-flower", folder, FORMATS)
    decoded = decode_classes("vgg-flower", partial(_listing, folder, labels_file),
                             preprocess=preprocess, source=folder, files=files,
                             cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "vgg-flower", decoded, split_file=split_file, keys=plain_keys, carried="",
        formats=FORMATS, source=folder, normalize=_label,
    )  # fmt: skip
    return image_episodes("vgg-flower", decoded, splits, preprocess=preprocess,
                          facts={"source": str(folder), "split": rule})  # fmt: skip


def _find(root: Path) -> Path:
    for folder in (root, root / "102flowers", root / "flowers-102"):
        if (folder / "jpg").is_dir() and (folder / "imagelabels.mat").is_file():
            return folder
    raise DataError(
        f"{root} is not an Oxford Flowers folder: expected {EXPECTED} there. Pass --data-root "
        "pointing at the folder that contains jpg/ and imagelabels.mat."
    )


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
