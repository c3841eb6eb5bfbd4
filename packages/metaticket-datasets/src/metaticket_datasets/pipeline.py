"""The one pipeline of the image datasets: check the size, require the root, find the layout,
decode the classes (through the cache), choose the split, build the episodes.

An image dataset is its spec (spec.py: the facts) plus an ``ImageReader``: the code that finds
its layout under a data root and lists its classes. The listing runs only when the cache is
built (it may mean unpickling gigabytes); the images are then decoded once into one preallocated
uint8 array, so peak memory is that array plus one file's sources, never a float copy of the
dataset. Class names and a carried split are cached with the images, so a cached load reads one
file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

import numpy as np

from metaticket_core import SPLITS, ConfigError, DataError, Split

from .cache import cache_key, cached_arrays
from .episodes import ImageEpisodes
from .images import Preprocess, Source, decode_files, decode_into
from .roots import require_root
from .spec import DatasetSpec
from .splitfiles import assign, missing_split, read_class_split

Splits = dict[Split, Any]  # class indices of each split (arrays, lists or ranges)


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

    @classmethod
    def by_split(cls, parts: dict[Split, list[ClassSource]]) -> Listing:
        """The classes of each split back to back, carrying that split."""
        ends = list(accumulate(len(parts[s]) for s in SPLITS))
        return cls(
            [c for s in SPLITS for c in parts[s]],
            {s: list(range(end - len(parts[s]), end)) for s, end in zip(SPLITS, ends, strict=True)},
        )


@dataclass
class Layout:
    """What a reader found under a data root: the folder it reads, the files (names and sizes)
    that key the cache, the classes (listed only when the cache is built), which layout it is
    when a dataset reads several, and whether its listing carries the class split."""

    folder: Path
    files: list[tuple[str, int]]
    listing: Callable[[], Listing]
    name: str = ""
    carries_split: bool = False

    @property
    def source(self) -> str:
        return f"{self.folder} ({self.name})" if self.name else str(self.folder)


@dataclass
class Decoded:
    """What the cache holds: images of all classes back to back and the carried split; with the
    layout and preprocessing they came from."""

    images: np.ndarray
    offsets: np.ndarray
    names: list[str]
    splits: dict[Split, np.ndarray] | None
    cache_file: Path
    layout: Layout
    preprocess: Preprocess

    def episodes(
        self, spec: DatasetSpec, splits: Splits, rule: str, *, rotations: int = 1
    ) -> ImageEpisodes:
        return ImageEpisodes(
            spec.name, self.images, self.offsets, self.names, splits, rotations=rotations,
            facts={"source": self.layout.source, "split": rule,
                   "preprocessing": self.preprocess.describe(), "cache": str(self.cache_file)},
            decode=functools.partial(decode_files, preprocess=self.preprocess),
        )  # fmt: skip


def plain_keys(names: list[str]) -> dict[str, list[int]]:
    """Split-file entries are the class names themselves."""
    return {name: [i] for i, name in enumerate(names)}


def parity_split(n: int) -> Splits:
    """The published rule of CUB and Cars: class index i (from 0, in class order) is train when
    i % 2 == 0, val when i % 4 == 1, test when i % 4 == 3."""
    i = np.arange(n)
    return {"train": i[i % 2 == 0], "val": i[i % 4 == 1], "test": i[i % 4 == 3]}


@dataclass(frozen=True)
class ImageReader:
    """The code half of an image dataset. ``find(root, split_file)`` returns the Layout under a
    data root, or None when there is none; ``keys`` maps the names a split file may use to class
    indices (after ``normalize``); ``rule(number of classes)`` is the published split (the
    spec's ``split`` says it in words) for layouts that carry none. ``mode``, ``ink`` (inverted:
    ink bright on dark paper) and ``crop`` (CUB's: the shorter side to crop x size, then the
    center) preprocess the images. A spec's ``loader`` naming a reader runs the whole pipeline."""

    find: Callable[[Path, Path | None], Layout | None]
    keys: Callable[[list[str]], dict[str, list[int]]] = plain_keys
    normalize: Callable[[str], str] = str
    rule: Callable[[int], Splits] | None = None
    mode: Literal["L", "RGB"] = "RGB"
    ink: bool = False
    crop: float | None = None

    def __call__(
        self,
        spec: DatasetSpec,
        root: Path | None,
        *,
        cache_dir: Path,
        size: int,
        split_file: str | Path | None = None,
    ) -> ImageEpisodes:
        layout = self.locate(spec, root, split_file)
        if split_file is None and self.rule is None and not layout.carries_split:
            raise missing_split(spec.name, layout.folder, spec.split_files)  # fail before decoding
        decoded = self.decode(spec, layout, cache_dir=cache_dir, size=size)
        return decoded.episodes(spec, *self.choose_split(spec, decoded, split_file))

    def locate(
        self, spec: DatasetSpec, root: Path | None, split_file: str | Path | None = None
    ) -> Layout:
        """The layout under ``root``, which must exist."""
        root = require_root(spec.name, root, spec.expected)
        layout = self.find(root, Path(split_file).expanduser() if split_file else None)
        if layout is None:
            raise DataError(
                f"{root} holds no {spec.name} data: expected {spec.expected} there. Pass "
                f"--data-root pointing at {spec.data_root}."
            )
        return layout

    def decode(self, spec: DatasetSpec, layout: Layout, *, cache_dir: Path, size: int) -> Decoded:
        """The layout's classes, from the cache or decoded into it."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigError(f"{spec.name}: size must be a positive integer, got {size!r}.")
        shorter = round(self.crop * size) if self.crop else None
        preprocess = Preprocess(size, self.mode, shorter=shorter, ink=self.ink)
        key = cache_key(dataset=spec.name, source=layout.folder.resolve(), files=layout.files,
                        preprocess=preprocess.describe())  # fmt: skip
        build = functools.partial(_decode, spec.name, layout, preprocess)
        arrays, cache_file = cached_arrays(cache_dir, f"{spec.name}-{size}", key, build)
        carried = {s: arrays[f"split_{s}"] for s in SPLITS} if "split_train" in arrays else None
        return Decoded(arrays["images"], arrays["offsets"], arrays["names"].tolist(), carried,
                       cache_file, layout, preprocess)  # fmt: skip

    def choose_split(
        self, spec: DatasetSpec, decoded: Decoded, split_file: str | Path | None
    ) -> tuple[Splits, str]:
        """The class split and how it was chosen: ``split_file`` when given, else the split the
        data carries, else the published rule."""
        if split_file is not None:
            entries, where = read_class_split(split_file, spec.name)
            splits = assign(entries, self.keys(decoded.names), dataset=spec.name, where=where,
                            normalize=self.normalize)  # fmt: skip
            return splits, f"from {where}"
        if decoded.splits is not None:
            return decoded.splits, f"as {decoded.layout.name} carries it"
        if self.rule is None:
            raise missing_split(spec.name, decoded.layout.folder, spec.split_files)
        return self.rule(len(decoded.names)), spec.split


def _decode(dataset: str, layout: Layout, preprocess: Preprocess) -> dict[str, np.ndarray]:
    """The arrays the cache holds: every class's images decoded into one array."""
    found = layout.listing()
    empty = [c.name for c in found.classes if c.count < 1]
    if empty or not found.classes:
        raise DataError(f"{dataset}: no images for class {empty[0] if empty else '(any)'} "
                        f"under {layout.folder}.")  # fmt: skip
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
