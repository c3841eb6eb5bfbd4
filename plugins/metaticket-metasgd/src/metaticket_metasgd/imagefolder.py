"""``image-folder``: few-shot episodes from your own images, one folder per class.

Layout (``--data-root ROOT``)::

    ROOT/split.json           {"train": ["cat", ...], "val": [...], "test": [...]}
    ROOT/<class>/<image>      .png .jpg .jpeg .bmp .gif .webp; any file names

The split file names the class folders of each split (disjoint; all three keys required). It
may live elsewhere: ``--set dataset_options.split_file=PATH``. Images are converted to gray
(``channels=1``, default) or RGB (``channels=3``), resized to ``size`` x ``size`` (default 28)
and scaled to [0, 1]; no normalization. A class is decoded on first use and kept in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from metaticket_core import (
    SPLITS,
    ConfigError,
    DataError,
    EpisodeShape,
    FewShotDataset,
    Split,
    Task,
)

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
LAYOUT = (
    "expected <root>/<class>/<image> (.png, .jpg, ...) and a split file <root>/split.json "
    'like {"train": ["class_a", ...], "val": [...], "test": [...]}'
)


class ImageFolder(FewShotDataset):
    """N-way K-shot episodes drawn from class folders listed in a split file."""

    def __init__(self, root: Path, split_file: Path, size: int, channels: int):
        self.root, self.split_file, self.size = root, split_file, size
        self.mode = "L" if channels == 1 else "RGB"
        self.input_shape = (channels, size, size)
        self.splits = _read_split_file(split_file)
        self.files: dict[str, list[Path]] = {}
        for split, classes in self.splits.items():
            for name in classes:
                folder = root / name
                if not folder.is_dir():
                    raise DataError(
                        f"Class {name!r} of split {split!r} in {split_file} has no folder "
                        f"{folder}; {LAYOUT}."
                    )
                files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)
                if not files:
                    raise DataError(f"Class folder {folder} holds no images; {LAYOUT}.")
                self.files[name] = files
        self._decoded: dict[str, np.ndarray] = {}

    def check(self, split: Split, *, ways: int, shots: int, queries: int) -> None:
        classes = self.splits[split]
        EpisodeShape(ways, shots, queries).check_classes(
            len(classes), f"Split {split!r} of {self.split_file}"
        )
        needed = shots + queries
        for name in classes:
            if len(self.files[name]) < needed:
                raise DataError(
                    f"Class folder {self.root / name} has {len(self.files[name])} images; "
                    f"{shots}-shot tasks with {queries} queries need {needed} per class."
                )

    def episodes(
        self,
        split: Split,
        *,
        ways: int,
        shots: int,
        queries: int,
        seed: int,
        rank: int = 0,
        worker: int = 0,
    ) -> Iterator[Task]:
        """Labels follow the order classes are drawn; support and query are class-major."""
        self.check(split, ways=ways, shots=shots, queries=queries)
        rng = np.random.default_rng([seed, SPLITS.index(split), rank, worker])
        classes = self.splits[split]
        while True:
            chosen = [classes[i] for i in rng.choice(len(classes), ways, replace=False)]
            support, query = [], []
            for name in chosen:
                images = self._images(name)
                picked = images[rng.choice(len(images), shots + queries, replace=False)]
                support.append(picked[:shots])
                query.append(picked[shots:])
            yield Task(
                _floats(np.concatenate(support)),
                torch.arange(ways).repeat_interleave(shots),
                _floats(np.concatenate(query)),
                torch.arange(ways).repeat_interleave(queries),
                tuple(chosen),
            )

    def load_images(self, paths: list[Path]) -> torch.Tensor:
        return _floats(self._decode(paths))

    def describe(self) -> dict[str, str]:
        sizes = ", ".join(f"{s} {len(self.splits[s])}" for s in SPLITS)
        return {
            "source": str(self.root),
            "split": f"{self.split_file} (classes: {sizes})",
            "preprocessing": f"{self.mode} {self.size}x{self.size}, scaled to [0, 1]",
        }

    def _images(self, name: str) -> np.ndarray:
        if name not in self._decoded:
            self._decoded[name] = self._decode(self.files[name])
        return self._decoded[name]

    def _decode(self, paths: list[Path]) -> np.ndarray:
        """uint8 (n, channels, size, size)."""
        out = np.empty((len(paths), *self.input_shape), np.uint8)
        for i, path in enumerate(paths):
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(
                        image.convert(self.mode).resize(
                            (self.size, self.size), Image.Resampling.LANCZOS
                        )
                    )
            except Exception as exc:  # Pillow's format plugins raise all kinds on a damaged file
                raise DataError(
                    f"Cannot decode image {path}: {type(exc).__name__}: {exc}"
                ) from None
            out[i] = pixels[None] if self.mode == "L" else pixels.transpose(2, 0, 1)
        return out


def _floats(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255)


def _read_split_file(path: Path) -> dict[Split, list[str]]:
    if not path.is_file():
        raise DataError(f"Split file {path} does not exist; {LAYOUT}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"Split file {path} is not valid JSON ({exc}); {LAYOUT}.") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(s), list) and all(isinstance(c, str) for c in data[s]) for s in SPLITS
    ):
        raise DataError(
            f"Split file {path} must map each of train, val and test to a list of class "
            f"folder names; {LAYOUT}."
        )
    seen: dict[str, str] = {}
    for split in SPLITS:
        for name in data[split]:
            if name in seen:
                raise DataError(
                    f"Split file {path} lists class {name!r} in both {seen[name]!r} and "
                    f"{split!r}; splits must be disjoint."
                )
            seen[name] = split
    return {s: list(data[s]) for s in SPLITS}


def load(
    root: Path | None,
    *,
    cache_dir: Path | None = None,
    split_file: str | Path | None = None,
    size: int = 28,
    channels: int = 1,
) -> ImageFolder:
    """The registered factory. ``cache_dir`` is accepted as every dataset factory's is, and
    unused: a user's folder is decoded class by class, in memory. An option it does not take
    is refused by ``mt`` before this is called."""
    if root is None:
        raise DataError(f"Dataset 'image-folder' needs --data-root; {LAYOUT}.")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"Data root {root} is not a folder; {LAYOUT}.")
    if channels not in (1, 3):
        raise ConfigError(f"Dataset 'image-folder': channels must be 1 or 3, got {channels!r}.")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"Dataset 'image-folder': size must be an int >= 1, got {size!r}.")
    path = Path(split_file).expanduser() if split_file else root / "split.json"
    return ImageFolder(root, path, size, channels)
