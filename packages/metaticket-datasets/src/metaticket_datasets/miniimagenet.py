"""``miniimagenet``'s layout reader (Vinyals et al. 2016, Ravi & Larochelle's split).

84x84 is the benchmark's own size and the paper's (DESIGN.md section 4); other sizes are resized
with LANCZOS. Layouts, tried in order, each also under ``miniimagenet/`` or ``mini-imagenet/``:

- learn2learn's pickles ``mini-imagenet-cache-{train,validation,test}.pkl`` (dict ``image_data``
  uint8 (n, 84, 84, 3), ``class_dict`` {wnid: [row, ...]}; ``-val.pkl`` as torchmeta's tar has it);
- torchmeta's ``{train,val,test}_data.hdf5`` + ``{split}_labels.json``;
- image folders ``{train,val,test}/<wnid>/*.jpg``;
- Ravi's flat ``images/*.jpg`` with ``train.csv`` / ``val.csv`` / ``test.csv``
  (``filename,label`` per image) beside it or given as ``split_file``.

All of them carry the split.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError

from .folders import split_folders_layout
from .pipeline import ClassSource, ImageReader, Layout, Listing
from .specs import MINIIMAGENET
from .splitfiles import missing_split
from .torchmeta import torchmeta_layout
from .unpickle import field, read_pickle

PICKLE = "mini-imagenet-cache-{}.pkl"


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "miniimagenet", root / "mini-imagenet"):
        pickles = _pickles(folder)
        if pickles:
            files = [(p.name, p.stat().st_size) for p in pickles.values()]
            return Layout(folder, files, partial(_from_pickles, pickles), "learn2learn pickles",
                          carries_split=True)  # fmt: skip
        found = torchmeta_layout(folder) or split_folders_layout(folder, folder, "split folders")
        if found:
            return found
        if (folder / "images").is_dir():
            return _ravi(folder, split_file)
    return None


def _pickles(folder: Path) -> dict | None:
    found = {}
    for split in SPLITS:
        names = ("validation", "val") if split == "val" else (split,)
        paths = [folder / PICKLE.format(n) for n in names if (folder / PICKLE.format(n)).is_file()]
        if not paths:
            return None
        found[split] = paths[0]
    return found


def _from_pickles(pickles: dict) -> Listing:
    parts = {}
    for split, path in pickles.items():
        record = read_pickle(path)
        images = field(record, "image_data", path)
        class_dict = field(record, "class_dict", path)
        if (
            not isinstance(images, np.ndarray)
            or images.ndim != 4
            or not isinstance(class_dict, dict)
        ):
            raise DataError(f"{path}: expected image_data (n, 84, 84, 3) and a class_dict.")
        parts[split] = [ClassSource(str(wnid), len(rows), images[np.asarray(rows)])
                        for wnid, rows in class_dict.items()]  # fmt: skip
    return Listing.by_split(parts)


def _ravi(folder: Path, split_file: Path | None) -> Layout:
    """Images of ``images/`` grouped and split by Ravi's CSV files."""
    csv_folder = split_file if split_file is not None else folder
    if csv_folder.is_file():
        csv_folder = csv_folder.parent
    csvs = {s: csv_folder / f"{s}.csv" for s in SPLITS}
    if not all(p.is_file() for p in csvs.values()):
        raise missing_split(MINIIMAGENET.name, folder / "images", MINIIMAGENET.split_files)
    rows: dict[str, list[str]] = {}
    splits: dict = {s: [] for s in SPLITS}
    for split, csv in csvs.items():
        for number, line in enumerate(csv.read_text().splitlines()[1:], 2):
            filename, _, label = line.strip().rpartition(",")
            if not filename:
                raise DataError(f"{csv}:{number}: expected filename,label, got {line!r}.")
            if label not in rows:
                splits[split].append(len(rows))
            rows.setdefault(label, []).append(filename)
    images = folder / "images"
    classes, files = [], []
    for label, names in rows.items():
        paths = [images / n for n in names]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"{missing[0]} is listed in the CSV split files but missing.")
        classes.append(ClassSource(label, len(paths), paths))
        files += [(n, p.stat().st_size) for n, p in zip(names, paths, strict=True)]
    return Layout(folder, files, partial(Listing, classes, splits), "Ravi's images/ + CSV",
                  carries_split=True)  # fmt: skip


load = ImageReader(_find)
