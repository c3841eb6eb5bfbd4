"""``cifar-fs`` and ``fc100``: the CIFAR-100 few-shot benchmarks, RGB 32x32.

32x32 is CIFAR's own size and the paper's MLP input (3072 = 3 x 32 x 32), so nothing is resampled
unless ``size`` asks for it. Both take the 600 images of each CIFAR-100 fine class; CIFAR-FS
(Bertinetto et al. 2019) splits the 100 classes 64 / 16 / 20, FC100 (Oreshkin et al. 2018) splits
the 20 superclasses 12 / 4 / 4 (60 / 20 / 20 classes). Layouts, tried in this order:

- torchmeta: ``cifar100/data.hdf5`` + ``cifar100/{cifar-fs|fc100}/{split}_labels.json``;
- MetaOptNet's pickles as learn2learn reads them: ``CIFAR_FS_{train,val,test}.pickle`` /
  ``FC100_{train,val,test}.pickle`` (dict ``data`` uint8 (n, 32, 32, 3), ``labels``), also under
  ``CIFAR-FS/`` or ``FC100/``; classes are named by their CIFAR-100 label number;
- learn2learn's ``cifarfs/`` folder (CIFAR-FS): ``processed/{train,val,test}/<class>/*.png``, or
  ``cifar100/data/<class>/*.png`` + ``cifar100/splits/bertinetto/{train,val,test}.txt``;
- CIFAR-100's python version ``cifar-100-python/{train,test,meta}``, which carries no few-shot
  split: ``split_file`` is required.

Classes that know their superclass are named ``<coarse>/<fine>``. A ``split_file`` may list fine
class names (r2d2's txt, torchmeta's ``[[coarse, fine], ...]`` json) or, for FC100, superclass
names (torchmeta's fc100 json, or the expanded ``{superclass: [fine, ...]}`` json).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError

from .episodes import ImageEpisodes
from .folders import class_folders, split_dirs, split_folder_classes
from .images import Preprocess
from .imageset import (
    ClassSource,
    Listing,
    check_size,
    choose_split,
    decode_classes,
    image_episodes,
)  # fmt: skip
from .options import dataset_factory, require_root
from .splitfiles import missing_split, read_class_split
from .torchmeta import cifar_classes, files_of
from .unpickle import field, labels_field, read_pickle


@dataclass(frozen=True)
class Benchmark:
    name: str
    torchmeta: str  # subfolder of torchmeta's cifar100/
    prefix: str  # MetaOptNet pickle names
    folders: tuple[str, ...]  # where those pickles may sit
    formats: str  # split files accepted

    @property
    def expected(self) -> str:
        return (f"cifar100/data.hdf5 (torchmeta), {self.prefix}_train.pickle ..., "
                "cifarfs/ (learn2learn) or cifar-100-python/")  # fmt: skip


CIFAR_FS = Benchmark(
    "cifar-fs", "cifar-fs", "CIFAR_FS", ("CIFAR-FS", "cifar-fs", "CIFAR_FS"),
    "r2d2's train.txt / val.txt / test.txt (one CIFAR-100 class per line) or torchmeta's "
    "train.json ... ([[coarse, fine], ...])",
)  # fmt: skip
FC100 = Benchmark(
    "fc100", "fc100", "FC100", ("FC100", "fc100"),
    "torchmeta's fc100 train.json / val.json / test.json (superclass names per split) or one "
    'json {"train": {superclass: [class, ...]}, "val": ..., "test": ...}',
)  # fmt: skip


@dataset_factory("cifar-fs")
def load_cifar_fs(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 32
) -> ImageEpisodes:
    """CIFAR-FS: the 100 CIFAR-100 classes split 64 / 16 / 20."""
    return _load(CIFAR_FS, root, cache_dir, split_file, size)


@dataset_factory("fc100")
def load_fc100(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 32
) -> ImageEpisodes:
    """FC100: CIFAR-100 split by superclass, 60 / 20 / 20 classes."""
    return _load(FC100, root, cache_dir, split_file, size)


def _load(
    bench: Benchmark, root: Path | None, cache_dir: Path, split_file, size: int
) -> ImageEpisodes:
    preprocess = Preprocess(check_size(bench.name, size))
    root = require_root(bench.name, root, bench.expected)
    folder, layout, listing, files = _find(bench, root)
    if layout == "cifar-100-python" and split_file is None:  # fail before decoding
        raise missing_split(bench.name, folder, bench.formats)
    decoded = decode_classes(bench.name, listing, preprocess=preprocess, source=folder,
                             files=files, cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        bench.name, decoded, split_file=split_file, keys=_keys, carried=f"as {layout} carries it",
        formats=bench.formats, source=folder,
    )  # fmt: skip
    return image_episodes(bench.name, decoded, splits, preprocess=preprocess,
                          facts={"source": f"{folder} ({layout})", "split": rule})  # fmt: skip


def _find(bench: Benchmark, root: Path):
    """(folder, layout name, listing, files for the cache key) of the first layout found."""
    for folder in (root, root / "cifar100"):
        if (folder / "data.hdf5").is_file() and (folder / bench.torchmeta).is_dir():
            return (
                folder,
                "torchmeta",
                partial(cifar_classes, folder, bench.torchmeta),
                files_of(folder),
            )
    for folder in (root, *(root / f for f in bench.folders)):
        pickles = {s: folder / f"{bench.prefix}_{s}.pickle" for s in SPLITS}
        if all(p.is_file() for p in pickles.values()):
            files = [(p.name, p.stat().st_size) for p in pickles.values()]
            return folder, "MetaOptNet pickles", partial(_metaoptnet, pickles), files
    if bench is CIFAR_FS:
        for folder in (root, root / "cifarfs"):
            dirs = split_dirs(folder / "processed")
            if dirs:
                return folder, "learn2learn cifarfs/processed", *_split_folders(dirs)
            data, bertinetto = (
                folder / "cifar100" / "data",
                folder / "cifar100" / "splits" / "bertinetto",
            )
            if data.is_dir() and bertinetto.is_dir():
                return folder, "learn2learn cifarfs", *_bertinetto(data, bertinetto)
    for folder in (root, root / "cifar-100-python"):
        if all((folder / f).is_file() for f in ("train", "test", "meta")):
            files = [(f, (folder / f).stat().st_size) for f in ("train", "test", "meta")]
            return folder, "cifar-100-python", partial(_cifar100, folder), files
    raise DataError(
        f"{root} holds no {bench.name} data: expected {bench.expected} there. Pass --data-root "
        "pointing at the folder that contains one of them."
    )


def _split_folders(dirs):
    classes, splits, files = split_folder_classes(dirs)
    return partial(Listing, classes, splits), files


def _bertinetto(data: Path, split_folder: Path):
    entries, _ = read_class_split(split_folder, "cifar-fs")
    names = [n for s in SPLITS for n in entries[s]]
    classes, files = class_folders(data, names)
    sizes = np.cumsum([0, *(len(entries[s]) for s in SPLITS)])
    splits = {s: list(range(sizes[i], sizes[i + 1])) for i, s in enumerate(SPLITS)}
    return partial(Listing, classes, splits), files


def _metaoptnet(pickles: dict) -> Listing:
    classes: list[ClassSource] = []
    splits = {}
    for split, path in pickles.items():
        record = read_pickle(path)
        images = np.asarray(field(record, "data", path))
        labels = labels_field(record, "labels", path)
        if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(images):
            raise DataError(
                f"{path}: expected data uint8 (n, 32, 32, 3) and n labels, got data "
                f"{images.dtype} {images.shape} and {len(labels)} labels."
            )
        found = np.unique(labels)
        splits[split] = list(range(len(classes), len(classes) + len(found)))
        for label in found:
            rows = np.flatnonzero(labels == label)
            classes.append(ClassSource(str(label), len(rows), images[rows]))
    return Listing(classes, splits)


def _cifar100(folder: Path) -> Listing:
    """All 100 fine classes, training images then test images, named ``coarse/fine``."""
    meta = read_pickle(folder / "meta")
    fine_names = field(meta, "fine_label_names", folder / "meta")
    coarse_names = field(meta, "coarse_label_names", folder / "meta")
    parts = []
    for name in ("train", "test"):
        record = read_pickle(folder / name)
        data = np.asarray(field(record, "data", folder / name))
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{folder / name}: expected data uint8 (n, 3072), got {data.shape}.")
        parts.append((
            data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1),
            labels_field(record, "fine_labels", folder / name),
            labels_field(record, "coarse_labels", folder / name),
        ))  # fmt: skip
    classes = []
    for label, fine in enumerate(fine_names):
        rows = [(images, np.flatnonzero(fl == label)) for images, fl, _ in parts]
        coarse = {int(cl[fl == label][0]) for _, fl, cl in parts if (fl == label).any()}
        name = f"{_text(coarse_names[coarse.pop()])}/{_text(fine)}" if coarse else _text(fine)
        count = sum(len(r) for _, r in rows)
        classes.append(ClassSource(name, count, (img for images, r in rows for img in images[r])))
    return Listing(classes)


def _text(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def _keys(names: list[str]) -> dict[str, list[int]]:
    """A class by its full name or fine name; a superclass names all of its classes."""
    keys: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        keys.setdefault(name, []).append(i)
        if "/" in name:
            coarse, fine = name.split("/", 1)
            keys.setdefault(fine, []).append(i)
            keys.setdefault(coarse, []).append(i)
    return keys
