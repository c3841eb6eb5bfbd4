"""Episodic sampling from image classes held in memory as uint8 arrays.

All randomness comes from one numpy Generator seeded by (seed, split, rank, worker), so the same
arguments give the same episodes (evaluation tasks are fixed for a seed, and two methods are
compared on identical tasks) while ranks and data-loader workers draw different ones. Images stay
uint8 in the episodes too (one fancy-indexing gather): ``Task.to`` converts them to float on the
device they are copied to.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from metaticket_core import (
    SPLITS,
    ConfigError,
    DataError,
    EpisodeShape,
    FewShotDataset,
    Split,
    Task,
    class_labels,
)


def split_rng(seed: int, split: Split, rank: int, worker: int) -> np.random.Generator:
    """The one Generator an episode stream draws from."""
    return np.random.default_rng([seed, SPLITS.index(split), rank, worker])


def check_split_name(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")


def proportional_split(n: int, fractions: tuple[float, float, float]) -> dict[Split, range]:
    """Consecutive ranges of ``n`` items: the first ``round(f_train * n)`` for train, the next
    ``round(f_val * n)`` for val, the rest for test."""
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    return {
        "train": range(n_train),
        "val": range(n_train, n_train + n_val),
        "test": range(n_train + n_val, n),
    }


class SeededEpisodes(FewShotDataset):
    """A dataset whose episode stream draws from one Generator, seeded by (seed, split, rank,
    worker)."""

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
        self.check(split, ways=ways, shots=shots, queries=queries)
        return self._stream(split_rng(seed, split, rank, worker), split, ways, shots, queries)

    @abstractmethod
    def _stream(
        self, rng: np.random.Generator, split: Split, ways: int, shots: int, queries: int
    ) -> Iterator[Task]:
        """The endless tasks of ``split``, drawn from ``rng`` alone."""


class ImageEpisodes(SeededEpisodes):
    """N-way K-shot episodes from image classes stored back to back in one uint8 array.

    ``images`` is (n, C, H, W) with class c's images at ``offsets[c]:offsets[c + 1]``; ``splits``
    maps each split to its class indices. With ``rotations=4`` every class also appears rotated
    by 90, 180 and 270 degrees as three more classes of the same split (rotated copies never
    cross splits). Labels are assigned in the random order the classes are drawn; support and
    query are class-major (label 0's examples first).
    """

    task_type = "classification"

    def __init__(
        self,
        name: str,
        images: np.ndarray,
        offsets: np.ndarray,
        class_names: Sequence[str],
        splits: dict[Split, np.ndarray],
        *,
        rotations: int = 1,
        facts: dict[str, str] | None = None,
        decode: Callable[[Sequence[Path]], np.ndarray] | None = None,
    ):
        if rotations not in (1, 4) or (rotations == 4 and images.shape[-1] != images.shape[-2]):
            raise ValueError("rotations must be 1, or 4 for square images")
        self.name = name
        self.images = images
        self.offsets = np.asarray(offsets, np.int64)
        self.counts = np.diff(self.offsets)
        self.class_names = list(class_names)
        self.splits = {s: np.asarray(splits[s], np.int64) for s in SPLITS}
        self.rotations = rotations
        self.input_shape = tuple(images.shape[1:])
        self.facts = facts or {}
        self.decode = decode

    def num_classes(self, split: Split) -> int:
        """Classes of a split as episodes see them (rotated copies included)."""
        return len(self.splits[split]) * self.rotations

    def check(self, split: Split, *, ways: int, shots: int, queries: int) -> None:
        check_split_name(split)
        shape = EpisodeShape(ways, shots, queries)
        classes = self.splits[split]
        rotated = f" ({len(classes)} x {self.rotations} rotations)" if self.rotations > 1 else ""
        shape.check_classes(self.num_classes(split), f"{self.name} {split} split", rotated)
        per_class = self.counts[classes]
        fewest = int(per_class.min())
        if shots + queries > fewest:
            smallest = self.class_names[int(classes[per_class.argmin()])]
            raise DataError(
                f"{self.name} {split} split has {fewest} examples in its smallest class "
                f"({smallest}); shots + queries = {shots} + {queries} = {shots + queries} "
                "exceeds that."
            )

    def _stream(
        self, rng: np.random.Generator, split: Split, ways: int, shots: int, queries: int
    ) -> Iterator[Task]:
        classes = self.splits[split]
        support_y, query_y = class_labels(ways, shots), class_labels(ways, queries)
        while True:
            drawn = rng.choice(len(classes) * self.rotations, size=ways, replace=False)
            base, turns = classes[drawn // self.rotations], drawn % self.rotations
            x = self._gather(rng, base, shots + queries)
            for j in np.flatnonzero(turns):
                x[j] = np.rot90(x[j], int(turns[j]), axes=(-2, -1))
            yield Task(
                support_x=_flat(x[:, :shots]),
                support_y=support_y,
                query_x=_flat(x[:, shots:]),
                query_y=query_y,
                classes=tuple(self._label(c, t) for c, t in zip(base, turns, strict=True)),
            )

    def _gather(self, rng: np.random.Generator, base: np.ndarray, n: int) -> np.ndarray:
        """n distinct random images of each class: (ways, n, C, H, W), a fresh copy."""
        counts = self.counts[base]
        keys = rng.random((len(base), int(counts.max())))
        keys[np.arange(keys.shape[1]) >= counts[:, None]] = 2.0  # never pick past a class's end
        picks = np.argsort(keys, axis=1)[:, :n]
        return self.images[self.offsets[base][:, None] + picks]

    def load_images(self, paths: list[Path]) -> torch.Tensor:
        """User images preprocessed like this dataset's (``decode`` given by the dataset)."""
        if self.decode is None:
            return super().load_images(paths)
        return _to_float(self.decode(paths)[None])

    def _label(self, cls: int, turns: int) -> str:
        name = self.class_names[int(cls)]
        return f"{name}/rot{90 * int(turns):03d}" if self.rotations > 1 else name

    def describe(self) -> dict[str, str]:
        sizes = " / ".join(f"{s} {self.num_classes(s)}" for s in SPLITS)
        rotated = " (rotations included)" if self.rotations > 1 else ""
        return {
            "classes": f"{sizes}{rotated}",
            "examples per class": _range_text(self.counts),
            "input shape": "x".join(map(str, self.input_shape)),
            **self.facts,
        }


def _flat(x: np.ndarray) -> torch.Tensor:
    """(ways, n, C, H, W) uint8 -> (ways * n, C, H, W) uint8, contiguous."""
    return torch.from_numpy(np.ascontiguousarray(x.reshape(-1, *x.shape[2:])))


def _to_float(x: np.ndarray) -> torch.Tensor:
    """(ways, n, C, H, W) uint8 -> (ways * n, C, H, W) float32 in [0, 1].

    Converted by numpy: single-threaded, so sampling does not compete with torch's threads."""
    return torch.from_numpy(np.divide(x.reshape(-1, *x.shape[2:]), 255, dtype=np.float32))


def _range_text(counts: np.ndarray) -> str:
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo} to {hi}"
