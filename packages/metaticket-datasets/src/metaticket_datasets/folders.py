"""Image folders: ``<folder>/<class>/*.jpg`` (one folder per class), under ``train/``, ``val/``
and ``test/`` folders that carry the split, or split by a class split file."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from metaticket_core import SPLITS, DataError, Split

from .pipeline import ClassSource, Layout, Listing
from .splitfiles import read_class_split

SUFFIXES = (".jpg", ".jpeg", ".png")
SPLIT_DIRS: dict[Split, tuple[str, ...]] = {
    "train": ("train",),
    "val": ("val", "validation", "valid"),
    "test": ("test",),
}


def list_images(folder: Path) -> list[tuple[str, int]]:
    """(file name, size in bytes) of the images in ``folder``, sorted by name."""
    return sorted(
        (e.name, e.stat().st_size)
        for e in os.scandir(folder)
        if e.name.lower().endswith(SUFFIXES) and e.is_file()
    )


def class_folders(
    folder: Path, names: list[str] | None = None
) -> tuple[list[ClassSource], list[tuple[str, int]]]:
    """One class per subfolder of ``folder`` (sorted, or ``names`` in that order), and the
    (relative path, size) of every image for the cache key."""
    if names is None:
        names = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    classes, files = [], []
    for name in names:
        path = folder / name
        images = list_images(path) if path.is_dir() else []
        if not images:
            raise DataError(f"No images (*.jpg, *.png) in {path} for class {name}.")
        classes.append(ClassSource(name, len(images), [path / n for n, _ in images]))
        files += [(f"{name}/{n}", size) for n, size in images]
    return classes, files


def split_dirs(folder: Path) -> dict[Split, Path] | None:
    """``train/``, ``val/`` (or ``validation/``) and ``test/`` in ``folder``, if all exist."""
    found = {}
    for split, names in SPLIT_DIRS.items():
        dirs = [folder / n for n in names if (folder / n).is_dir()]
        if not dirs:
            return None
        found[split] = dirs[0]
    return found


def split_folders_layout(folder: Path, images: Path, name: str) -> Layout | None:
    """The classes of ``images/{train,val,test}/<class>/``, split by folder, if all exist."""
    dirs = split_dirs(images)
    if dirs is None:
        return None
    parts: dict[Split, list[ClassSource]] = {}
    files: list[tuple[str, int]] = []
    for split in SPLITS:
        parts[split], listed = class_folders(dirs[split])
        if not parts[split]:
            raise DataError(f"No class folders in {dirs[split]}: expected <class>/*.jpg there.")
        files += [(f"{split}/{name}", size) for name, size in listed]
    return Layout(folder, files, partial(Listing.by_split, parts), name, carries_split=True)


def listed_classes_layout(
    folder: Path, images: Path, split_file: Path, dataset: str, name: str
) -> Layout:
    """The class folders of ``images`` that ``split_file`` lists, in its order, split by it."""
    entries, _ = read_class_split(split_file, dataset)
    parts: dict[Split, list[ClassSource]] = {}
    files: list[tuple[str, int]] = []
    for split in SPLITS:
        parts[split], listed = class_folders(images, entries[split])
        files += listed
    return Layout(folder, files, partial(Listing.by_split, parts), name, carries_split=True)
