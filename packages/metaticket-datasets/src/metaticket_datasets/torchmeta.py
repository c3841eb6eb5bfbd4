"""Folders that torchmeta leaves behind: HDF5 image data plus JSON class lists per split.

Two layouts: ``{split}_data.hdf5`` (group ``datasets``, one dataset per class) with
``{split}_labels.json`` (miniImageNet, tieredImageNet, CUB), and CIFAR-100's single ``data.hdf5``
(``<coarse>/<fine>`` datasets) with ``<benchmark>/{split}_labels.json`` listing
``[coarse, fine]`` pairs (CIFAR-FS, FC100). A class dataset holds decoded (n, H, W, C) uint8
images or encoded PNG/JPEG bytes (n,) of variable length; both are read one class at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError, Split

from .pipeline import ClassSource, Layout, Listing

SPLIT_DATA = "{}_data.hdf5"
LABELS = "{}_labels.json"


def torchmeta_layout(folder: Path) -> Layout | None:
    """``{split}_data.hdf5`` + ``{split}_labels.json`` in ``folder``, if there."""
    if not all((folder / SPLIT_DATA.format(s)).is_file() for s in SPLITS):
        return None
    listing = partial(split_file_classes, folder)
    return Layout(folder, files_of(folder), listing, "torchmeta", carries_split=True)


def cifar_layout(folder: Path, benchmark: str) -> Layout | None:
    """CIFAR-100's ``data.hdf5`` with ``<benchmark>/``'s class lists in ``folder``, if there."""
    if not (folder / "data.hdf5").is_file() or not (folder / benchmark).is_dir():
        return None
    listing = partial(cifar_classes, folder, benchmark)
    return Layout(folder, files_of(folder), listing, "torchmeta", carries_split=True)


def split_file_classes(folder: Path) -> Listing:
    """Classes of ``{split}_data.hdf5`` + ``{split}_labels.json``, split by file."""
    parts: dict[Split, list[ClassSource]] = {}
    for split in SPLITS:
        data = folder / SPLIT_DATA.format(split)
        names = _labels(folder / LABELS.format(split))
        keys = [f"datasets/{name}" for name in names]
        counts = _counts(data, keys)
        parts[split] = [ClassSource(name, count, _rows(data, key))
                        for name, key, count in zip(names, keys, counts, strict=True)]  # fmt: skip
    return Listing.by_split(parts)


def cifar_classes(folder: Path, benchmark: str) -> Listing:
    """Classes of CIFAR-100's ``data.hdf5``, split by ``<benchmark>/{split}_labels.json``."""
    data = folder / "data.hdf5"
    parts: dict[Split, list[ClassSource]] = {}
    for split in SPLITS:
        pairs = _labels(folder / benchmark / LABELS.format(split))
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise DataError(
                f"{folder / benchmark / LABELS.format(split)}: expected [[coarse, fine], ...]."
            )
        keys = [f"{coarse}/{fine}" for coarse, fine in pairs]
        counts = _counts(data, keys)
        parts[split] = [ClassSource(key, count, _rows(data, key))
                        for key, count in zip(keys, counts, strict=True)]  # fmt: skip
    return Listing.by_split(parts)


def files_of(folder: Path) -> list[tuple[str, int]]:
    """HDF5 and JSON files under ``folder`` (names and sizes), for the cache key."""
    found = sorted(p for p in folder.rglob("*") if p.suffix in (".hdf5", ".json") and p.is_file())
    return [(str(p.relative_to(folder)), p.stat().st_size) for p in found]


def _labels(path: Path) -> list:
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Cannot read torchmeta class list {path}: {exc}") from exc
    if not isinstance(labels, list) or not labels:
        raise DataError(f"{path}: expected a JSON list of classes, as torchmeta writes it.")
    return labels


def _open(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"Cannot open HDF5 file {path}: {exc}") from exc


def _counts(path: Path, keys: list[str]) -> list[int]:
    with _open(path) as f:
        missing = [k for k in keys if k not in f]
        if missing:
            raise DataError(f"{path} has no dataset {missing[0]!r}, which its class list names.")
        return [int(f[k].shape[0]) for k in keys]


def _rows(path: Path, key: str) -> Iterator[np.ndarray]:
    """One class's images, read when the cache is built."""
    with _open(path) as f:
        yield from f[key][()]
