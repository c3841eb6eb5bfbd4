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

from .folders import listed_classes_layout, split_folders_layout
from .pipeline import ClassSource, ImageReader, Layout, Listing
from .torchmeta import cifar_layout
from .unpickle import field, labels_field, read_pickle


@dataclass(frozen=True)
class Benchmark:
    """Where the layouts keep one benchmark's files."""

    torchmeta: str  # subfolder of torchmeta's cifar100/
    prefix: str  # MetaOptNet pickle names
    folders: tuple[str, ...]  # where those pickles may sit
    learn2learn: bool = False  # learn2learn's cifarfs/ folder holds it


CIFAR_FS = Benchmark("cifar-fs", "CIFAR_FS", ("CIFAR-FS", "cifar-fs", "CIFAR_FS"), True)
FC100 = Benchmark("fc100", "FC100", ("FC100", "fc100"))


def _find(bench: Benchmark, root: Path, split_file: Path | None) -> Layout | None:
    """The first layout found, in the module docstring's order."""
    for folder in (root, root / "cifar100"):
        found = cifar_layout(folder, bench.torchmeta)
        if found:
            return found
    for folder in (root, *(root / f for f in bench.folders)):
        pickles = {s: folder / f"{bench.prefix}_{s}.pickle" for s in SPLITS}
        if all(p.is_file() for p in pickles.values()):
            files = [(p.name, p.stat().st_size) for p in pickles.values()]
            return Layout(folder, files, partial(_metaoptnet, pickles), "MetaOptNet pickles",
                          carries_split=True)  # fmt: skip
    for folder in (root, root / "cifarfs") if bench.learn2learn else ():
        found = split_folders_layout(folder, folder / "processed", "learn2learn cifarfs/processed")
        if found:
            return found
        data, bertinetto = (
            folder / "cifar100" / "data",
            folder / "cifar100" / "splits" / "bertinetto",
        )
        if data.is_dir() and bertinetto.is_dir():
            return listed_classes_layout(
                folder, data, bertinetto, "cifar-fs", "learn2learn cifarfs"
            )
    for folder in (root, root / "cifar-100-python"):
        if all((folder / f).is_file() for f in ("train", "test", "meta")):
            files = [(f, (folder / f).stat().st_size) for f in ("train", "test", "meta")]
            return Layout(folder, files, partial(_cifar100, folder), "cifar-100-python")
    return None


def _metaoptnet(pickles: dict) -> Listing:
    parts = {}
    for split, path in pickles.items():
        record = read_pickle(path)
        images = np.asarray(field(record, "data", path))
        labels = labels_field(record, "labels", path)
        if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(images):
            raise DataError(
                f"{path}: expected data uint8 (n, 32, 32, 3) and n labels, got data "
                f"{images.dtype} {images.shape} and {len(labels)} labels."
            )
        rows = [(label, np.flatnonzero(labels == label)) for label in np.unique(labels)]
        parts[split] = [ClassSource(str(label), len(r), images[r]) for label, r in rows]
    return Listing.by_split(parts)


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


load_cifar_fs = ImageReader(partial(_find, CIFAR_FS), keys=_keys)
load_fc100 = ImageReader(partial(_find, FC100), keys=_keys)
