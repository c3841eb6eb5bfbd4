"""``tieredimagenet``'s layout reader (Ren et al. 2018).

84x84 is the benchmark's own size (images are resized with LANCZOS only when they differ).
Layouts, tried in order (the first two also under ``tiered-imagenet/`` or ``tieredimagenet/``):

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

from .folders import listed_classes_layout
from .pipeline import ClassSource, ImageReader, Layout, Listing
from .specs import TIEREDIMAGENET
from .splitfiles import missing_split
from .torchmeta import torchmeta_layout
from .unpickle import field, labels_field, read_pickle


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "tiered-imagenet", root / "tieredimagenet"):
        pickles = {s: (folder / f"{s}_images_png.pkl", folder / f"{s}_labels.pkl") for s in SPLITS}
        if all(p.is_file() for pair in pickles.values() for p in pair):
            files = [(p.name, p.stat().st_size) for pair in pickles.values() for p in pair]
            return Layout(folder, files, partial(_from_pickles, pickles), "learn2learn pickles",
                          carries_split=True)  # fmt: skip
        found = torchmeta_layout(folder)
        if found:
            return found
    csv = split_file or root
    if (csv / "train.csv").is_file() or csv.is_file():
        return listed_classes_layout(root, root, csv, TIEREDIMAGENET.name,
                                     "ImageNet folders + CSV")  # fmt: skip
    if any(p.is_dir() and p.name.startswith("n") for p in root.iterdir()):
        raise missing_split(TIEREDIMAGENET.name, root, TIEREDIMAGENET.split_files)
    return None


def _from_pickles(pickles: dict) -> Listing:
    """Classes from the label pickles; each split's image pickle (gigabytes of PNG bytes) is read
    when its first class is decoded and dropped after its last."""
    parts = {}
    for split, (images_path, labels_path) in pickles.items():
        labels = read_pickle(labels_path)
        specific = labels_field(labels, "label_specific", labels_path)
        names = (
            [str(n) for n in field(labels, "label_specific_str", labels_path)]
            if isinstance(labels, dict) and "label_specific_str" in labels
            else [str(i) for i in range(int(specific.max()) + 1)]
        )
        images = functools.cache(partial(_images, images_path, len(specific)))
        parts[split] = []
        for label, name in enumerate(names):
            rows = np.flatnonzero(specific == label)
            last = label == len(names) - 1
            parts[split].append(ClassSource(name, len(rows), _rows(images, rows, last)))
    return Listing.by_split(parts)


def _images(path: Path, expected: int) -> list:
    images = read_pickle(path)
    if len(images) != expected:
        raise DataError(f"{path} holds {len(images)} images, but its labels file {expected}.")
    return images


def _rows(images, rows: np.ndarray, last: bool):
    yield from (images()[r] for r in rows)
    if last:
        images.cache_clear()


load = ImageReader(_find)
