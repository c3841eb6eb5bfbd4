"""``tieredimagenet``: tieredImageNet (Ren et al. 2018), RGB 84x84.

608 ImageNet classes grouped in 34 categories; 351 / 97 / 160 classes (20 / 6 / 8 categories).
84x84 is the benchmark's own size (images are resized with LANCZOS only when they differ).
Layouts, tried in order (each also under ``tiered-imagenet/`` or ``tieredimagenet/``):

- learn2learn's (the original release's) pickles ``{train,val,test}_images_png.pkl`` (a list of
  PNG-encoded images) + ``{split}_labels.pkl`` (``label_specific``, ``label_specific_str``);
- torchmeta's ``{train,val,test}_data.hdf5`` (PNG bytes per class) + ``{split}_labels.json``;
- ImageNet-style class folders ``<wnid>/*.JPEG`` (ImageNet's ``train/``) with the CSV split
  ``train.csv`` / ``val.csv`` / ``test.csv`` (``<class wnid>,<category wnid>``, no header) beside
  them or given as ``split_file``; only the listed classes are read.
"""

from __future__ import annotations

import functools
from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError

from .episodes import ImageEpisodes
from .folders import class_folders
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
from .options import dataset_factory, require_root
from .splitfiles import missing_split, read_class_split
from .torchmeta import files_of, has_split_files, split_file_classes
from .unpickle import field, labels_field, read_pickle

EXPECTED = (
    "{train,val,test}_images_png.pkl + {split}_labels.pkl (learn2learn), {split}_data.hdf5 "
    "(torchmeta), or ImageNet class folders <wnid>/*.JPEG with the CSV split"
)
FORMATS = "tieredImageNet's train.csv / val.csv / test.csv (<class wnid>,<category wnid> per line)"


@dataset_factory("tieredimagenet")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 84
) -> ImageEpisodes:
    """tieredImageNet: 608 ImageNet classes split by category, RGB 84x84."""
    preprocess = Preprocess(check_size("tieredimagenet", size))
    root = require_root("tieredimagenet", root, EXPECTED)
    folder, layout, listing, files = _find(root, split_file)
    decoded = decode_classes("tieredimagenet", listing, preprocess=preprocess, source=folder,
                             files=files, cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "tieredimagenet", decoded, split_file=split_file, keys=plain_keys,
        carried=f"Ren et al.'s, as {layout} carries it", formats=FORMATS, source=folder,
    )  # fmt: skip
    return image_episodes("tieredimagenet", decoded, splits, preprocess=preprocess,
                          facts={"source": f"{folder} ({layout})", "split": rule})  # fmt: skip


def _find(root: Path, split_file):
    for folder in (root, root / "tiered-imagenet", root / "tieredimagenet"):
        pickles = {s: (folder / f"{s}_images_png.pkl", folder / f"{s}_labels.pkl") for s in SPLITS}
        if all(p.is_file() for pair in pickles.values() for p in pair):
            files = [(p.name, p.stat().st_size) for pair in pickles.values() for p in pair]
            return folder, "learn2learn pickles", partial(_from_pickles, pickles), files
        if has_split_files(folder):
            return folder, "torchmeta", partial(split_file_classes, folder), files_of(folder)
    csv = Path(split_file).expanduser() if split_file is not None else root
    if not (csv / "train.csv").is_file() and not csv.is_file():
        if any(p.is_dir() and p.name.startswith("n") for p in root.iterdir()):
            raise missing_split("tieredimagenet", root, FORMATS)
        raise DataError(
            f"{root} holds no tieredImageNet data: expected {EXPECTED} there. Pass --data-root "
            "pointing at the folder that contains them."
        )
    entries, _ = read_class_split(csv, "tieredimagenet")
    names = [wnid for s in SPLITS for wnid in entries[s]]
    classes, files = class_folders(root, names)
    sizes = np.cumsum([0, *(len(entries[s]) for s in SPLITS)])
    splits = {s: list(range(sizes[i], sizes[i + 1])) for i, s in enumerate(SPLITS)}
    return root, "ImageNet folders + CSV", partial(Listing, classes, splits), files


def _from_pickles(pickles: dict) -> Listing:
    """Classes from the label pickles; each split's image pickle (gigabytes of PNG bytes) is read
    when its first class is decoded and dropped after its last."""
    classes: list[ClassSource] = []
    splits = {}
    for split, (images_path, labels_path) in pickles.items():
        labels = read_pickle(labels_path)
        specific = labels_field(labels, "label_specific", labels_path)
        names = (
            [str(n) for n in field(labels, "label_specific_str", labels_path)]
            if isinstance(labels, dict) and "label_specific_str" in labels
            else [str(i) for i in range(int(specific.max()) + 1)]
        )
        images = functools.cache(partial(_images, images_path, len(specific)))
        splits[split] = list(range(len(classes), len(classes) + len(names)))
        for label, name in enumerate(names):
            rows = np.flatnonzero(specific == label)
            last = label == len(names) - 1
            classes.append(ClassSource(name, len(rows), _rows(images, rows, last)))
    return Listing(classes, splits)


def _images(path: Path, expected: int) -> list:
    images = read_pickle(path)
    if len(images) != expected:
        raise DataError(f"{path} holds {len(images)} images, but its labels file {expected}.")
    return images


def _rows(images, rows: np.ndarray, last: bool):
    yield from (images()[r] for r in rows)
    if last:
        images.cache_clear()
