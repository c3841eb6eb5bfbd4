"""``cub``: Caltech-UCSD Birds-200-2011 for few-shot learning, RGB 84x84.

Layout: ``CUB_200_2011/images/<NNN.Name>/*.jpg`` (the archive unpacked; ``--data-root`` is
``CUB_200_2011/`` or its parent), or torchmeta's ``cub/{split}_data.hdf5`` + ``_labels.json``.
Preprocessing: RGB, shorter side resized to 1.5 x ``size`` (126 for 84) with LANCZOS, then a
center crop of ``size`` x ``size``.

Split (200 classes, 100 / 50 / 50): the published parity rule on the sorted class folders, index
i from 0: i % 2 == 0 train, i % 4 == 1 val, i % 4 == 3 test (torchmeta's split files list exactly
these). ``split_file`` takes torchmeta's json lists or Meta-Dataset's json (a different
140 / 30 / 30 split).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from metaticket_core import DataError

from .episodes import ImageEpisodes
from .folders import class_folders
from .images import Preprocess
from .imageset import (
    Listing,
    check_size,
    choose_split,
    decode_classes,
    image_episodes,
    parity_split,
    plain_keys,
)  # fmt: skip
from .options import dataset_factory, require_root
from .torchmeta import files_of, has_split_files, split_file_classes

EXPECTED = "CUB_200_2011/images/<NNN.Name>/*.jpg (or torchmeta's cub/{split}_data.hdf5)"
FORMATS = (
    "torchmeta's train.json / val.json / test.json (class folder names) or Meta-Dataset's "
    'json {"train": [...], "valid": [...], "test": [...]}'
)
RULE = "parity rule on sorted class folders: i%2==0 train, i%4==1 val, i%4==3 test"


@dataset_factory("cub")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 84
) -> ImageEpisodes:
    """CUB-200-2011: 200 bird species, about 60 images each, RGB 84x84."""
    size = check_size("cub", size)
    preprocess = Preprocess(size, shorter=round(1.5 * size))
    root = require_root("cub", root, EXPECTED)
    folder, layout, listing, files = _find(root)
    decoded = decode_classes("cub", listing, preprocess=preprocess, source=folder, files=files,
                             cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "cub", decoded, split_file=split_file, keys=plain_keys,
        carried=f"torchmeta's, as {layout} carries it", formats=FORMATS, source=folder,
        rule=(RULE, parity_split),
    )  # fmt: skip
    return image_episodes("cub", decoded, splits, preprocess=preprocess,
                          facts={"source": f"{folder} ({layout})", "split": rule})  # fmt: skip


def _find(root: Path):
    for folder in (root, root / "CUB_200_2011"):
        if (folder / "images").is_dir():
            classes, files = class_folders(folder / "images")
            if classes:
                return folder, "CUB_200_2011 images", partial(Listing, classes), files
    for folder in (root, root / "cub"):
        if has_split_files(folder):
            return folder, "torchmeta", partial(split_file_classes, folder), files_of(folder)
    raise DataError(
        f"{root} holds no CUB data: expected {EXPECTED} there. Pass --data-root pointing at "
        "CUB_200_2011/ (the archive unpacked)."
    )
