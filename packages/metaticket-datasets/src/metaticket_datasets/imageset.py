"""Building an ``ImageEpisodes`` from classes of image sources, through the array cache.

A loader of a natural-image benchmark lists its classes (name, image count, lazy sources) and,
when the data carries one, their split. The listing runs only when the cache is built (it may
mean unpickling gigabytes); the images are then decoded once into one preallocated uint8 array,
so peak memory is that array plus one file's sources, never a float copy of the dataset. Class
names and a carried split are cached with the images, so a cached load reads one file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metaticket_core import SPLITS, ConfigError, DataError, Split

from .cache import cache_key, cached_arrays
from .episodes import ImageEpisodes
from .images import Preprocess, Source, decode_files, decode_into
from .splitfiles import assign, missing_split, read_class_split


@dataclass
class ClassSource:
    """One class: its name, how many images it has and an iterable (may be a lazy generator)
    over them, consumed once while building the cache."""

    name: str
    count: int
    images: Iterable[Source]


@dataclass
class Listing:
    classes: list[ClassSource]
    splits: dict[Split, list[int]] | None = None  # None: the data carries no split


@dataclass
class Decoded:
    """What the cache holds: images of all classes back to back, and the carried split."""

    images: np.ndarray
    offsets: np.ndarray
    names: list[str]
    splits: dict[Split, np.ndarray] | None
    cache_file: Path


def check_size(dataset: str, size: Any) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"{dataset}: size must be a positive integer, got {size!r}.")
    return size


def decode_classes(
    dataset: str,
    listing: Callable[[], Listing],
    *,
    preprocess: Preprocess,
    source: Path,
    files: Any,
    cache_dir: Path,
) -> Decoded:
    """The decoded classes, from the cache or built there. ``files`` identifies the source data
    (names and sizes) in the cache key, together with the preprocessing."""
    key = cache_key(dataset=dataset, source=source.resolve(), files=files,
                    preprocess=preprocess.describe())  # fmt: skip

    def build() -> dict[str, np.ndarray]:
        found = listing()
        empty = [c.name for c in found.classes if c.count < 1]
        if empty or not found.classes:
            raise DataError(f"{dataset}: no images for class {empty[0] if empty else '(any)'} "
                            f"under {source}.")  # fmt: skip
        counts = [c.count for c in found.classes]
        size = preprocess.size
        out = np.empty((sum(counts), preprocess.channels, size, size), np.uint8)
        start = 0
        for c in found.classes:
            written = decode_into(out[start : start + c.count], c.images, preprocess)
            if written != c.count:
                raise DataError(
                    f"{dataset}: class {c.name} should have {c.count} images, found {written}."
                )
            start += c.count
        carried = found.splits or {}
        return {
            "images": out,
            "offsets": np.cumsum([0, *counts]),
            "names": np.array([c.name for c in found.classes], dtype=str),
            **{f"split_{s}": np.asarray(carried[s], np.int64) for s in carried},
        }

    arrays, cache_file = cached_arrays(cache_dir, f"{dataset}-{preprocess.size}", key, build)
    carried = {s: arrays[f"split_{s}"] for s in SPLITS} if "split_train" in arrays else None
    return Decoded(arrays["images"], arrays["offsets"], arrays["names"].tolist(), carried,
                   cache_file)  # fmt: skip


def choose_split(
    dataset: str,
    decoded: Decoded,
    *,
    split_file: str | Path | None,
    keys: Callable[[list[str]], dict[str, list[int]]],
    carried: str,
    formats: str,
    source: Path,
    rule: tuple[str, Callable[[list[str]], dict[Split, np.ndarray]]] | None = None,
    normalize: Callable[[str], str] = str,
) -> tuple[dict[Split, np.ndarray], str]:
    """The class split and how it was chosen: ``split_file`` when given, else the split the data
    carries (described by ``carried``), else the dataset's published ``rule`` (text, function),
    else an error asking for a split file in ``formats``."""
    if split_file is not None:
        entries, where = read_class_split(split_file, dataset)
        splits = assign(entries, keys(decoded.names), dataset=dataset, where=where,
                        normalize=normalize)  # fmt: skip
        return splits, f"from {where}"
    if decoded.splits is not None:
        return decoded.splits, carried
    if rule is not None:
        return rule[1](decoded.names), rule[0]
    raise missing_split(dataset, source, formats)


def image_episodes(
    dataset: str,
    decoded: Decoded,
    splits: dict[Split, np.ndarray],
    *,
    preprocess: Preprocess,
    facts: dict[str, str],
) -> ImageEpisodes:
    return ImageEpisodes(
        dataset, decoded.images, decoded.offsets, decoded.names, splits,
        facts={**facts, "preprocessing": preprocess.describe(), "cache": str(decoded.cache_file)},
        decode=functools.partial(decode_files, preprocess=preprocess),
    )  # fmt: skip


def plain_keys(names: list[str]) -> dict[str, list[int]]:
    """Split-file entries are the class names themselves."""
    return {name: [i] for i, name in enumerate(names)}


def parity_split(names: list[str]) -> dict[Split, np.ndarray]:
    """The published rule of CUB and Cars: class index i (from 0, in class order) is train when
    i % 2 == 0, val when i % 4 == 1, test when i % 4 == 3."""
    i = np.arange(len(names))
    return {"train": i[i % 2 == 0], "val": i[i % 4 == 1], "test": i[i % 4 == 3]}
