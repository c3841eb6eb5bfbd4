"""``cub``'s layout reader: ``CUB_200_2011/images/<NNN.Name>/*.jpg`` (the archive unpacked;
``--data-root`` is ``CUB_200_2011/`` or its parent), or torchmeta's files. Preprocessing: RGB,
shorter side resized to 1.5 x ``size`` (126 for 84) with LANCZOS, then a center crop of ``size``
x ``size``. The parity rule splits the sorted class folders (torchmeta's split files list exactly
these); ``split_file`` takes torchmeta's json lists or Meta-Dataset's json (a different
140 / 30 / 30 split).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from .folders import class_folders
from .pipeline import ImageReader, Layout, Listing, parity_split
from .torchmeta import torchmeta_layout


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "CUB_200_2011"):
        if (folder / "images").is_dir():
            classes, files = class_folders(folder / "images")
            if classes:
                return Layout(folder, files, partial(Listing, classes), "CUB_200_2011 images")
    return next(filter(None, (torchmeta_layout(f) for f in (root, root / "cub"))), None)


load = ImageReader(_find, rule=parity_split, crop=1.5)
