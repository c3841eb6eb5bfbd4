"""``miniimagenet``: miniImageNet (Vinyals et al. 2016, Ravi & Larochelle's split), RGB 84x84.

84x84 is the benchmark's own size and the paper's (DESIGN.md section 4); other sizes are resized
with LANCZOS. 100 ImageNet classes of 600 images, split 64 / 16 / 20. Layouts, tried in order:

- learn2learn's pickles ``mini-imagenet-cache-{train,validation,test}.pkl`` (dict ``image_data``
  uint8 (n, 84, 84, 3), ``class_dict`` {wnid: [row, ...]}; ``-val.pkl`` as torchmeta's tar has it);
- torchmeta's ``{train,val,test}_data.hdf5`` + ``{split}_labels.json``;
- image folders ``{train,val,test}/<wnid>/*.jpg``;
- Ravi's flat ``images/*.jpg`` with ``train.csv`` / ``val.csv`` / ``test.csv``
  (``filename,label`` per image) beside it or given as ``split_file``.

Each also under ``miniimagenet/`` or ``mini-imagenet/``. The first three carry the split.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError

from .episodes import ImageEpisodes
from .folders import split_dirs, split_folder_classes
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
from .splitfiles import missing_split
from .torchmeta import files_of, has_split_files, split_file_classes
from .unpickle import field, read_pickle

EXPECTED = (
    "mini-imagenet-cache-{train,validation,test}.pkl (learn2learn), {split}_data.hdf5 "
    "(torchmeta), train/ val/ test/ class folders, or images/ with Ravi's CSV files"
)
FORMATS = "Ravi's train.csv / val.csv / test.csv (filename,label per image, with a header)"
PICKLE = "mini-imagenet-cache-{}.pkl"


@dataset_factory("miniimagenet")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 84
) -> ImageEpisodes:
    """miniImageNet: 100 ImageNet classes, 600 images each, RGB 84x84."""
    preprocess = Preprocess(check_size("miniimagenet", size))
    root = require_root("miniimagenet", root, EXPECTED)
    folder, layout, listing, files = _find(root, split_file)
    decoded = decode_classes("miniimagenet", listing, preprocess=preprocess, source=folder,
                             files=files, cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "miniimagenet", decoded, split_file=split_file, keys=plain_keys,
        carried=f"Ravi & Larochelle's, as {layout} carries it", formats=FORMATS, source=folder,
    )  # fmt: skip
    return image_episodes("miniimagenet", decoded, splits, preprocess=preprocess,
                          facts={"source": f"{folder} ({layout})", "split": rule})  # fmt: skip


def _find(root: Path, split_file):
    for folder in (root, root / "miniimagenet", root / "mini-imagenet"):
        pickles = _pickles(folder)
        if pickles:
            files = [(p.name, p.stat().st_size) for p in pickles.values()]
            return folder, "learn2learn pickles", partial(_from_pickles, pickles), files
        if has_split_files(folder):
            return folder, "torchmeta", partial(split_file_classes, folder), files_of(folder)
        dirs = split_dirs(folder)
        if dirs:
            classes, splits, files = split_folder_classes(dirs)
            return folder, "split folders", partial(Listing, classes, splits), files
        if (folder / "images").is_dir():
            return folder, "Ravi's images/ + CSV", *_ravi(folder, split_file)
    raise DataError(
        f"{root} holds no miniImageNet data: expected {EXPECTED} there. Pass --data-root "
        "pointing at the folder that contains them."
    )


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
    classes: list[ClassSource] = []
    splits = {}
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
        splits[split] = list(range(len(classes), len(classes) + len(class_dict)))
        for wnid, rows in class_dict.items():
            classes.append(ClassSource(str(wnid), len(rows), images[np.asarray(rows)]))
    return Listing(classes, splits)


def _ravi(folder: Path, split_file):
    """Images of ``images/`` grouped and split by Ravi's CSV files."""
    csv_folder = Path(split_file).expanduser() if split_file is not None else folder
    if csv_folder.is_file():
        csv_folder = csv_folder.parent
    csvs = {s: csv_folder / f"{s}.csv" for s in SPLITS}
    if not all(p.is_file() for p in csvs.values()):
        raise missing_split("miniimagenet", folder / "images", FORMATS)
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
    return partial(Listing, classes, splits), files
