"""Few-shot tasks and the dataset interface the trainer relies on.

Datasets (the metaticket-datasets plugin, or any other plugin) subclass ``FewShotDataset``; a
registered dataset factory is called as ``factory(root, cache_dir=..., **dataset_options)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import torch

from .errors import DataError

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
TaskType = Literal["classification", "regression"]
METRICS: dict[TaskType, str] = {"classification": "accuracy", "regression": "mse"}


def out_features(task_type: TaskType, ways: int) -> int:
    """A backbone's outputs for such tasks: one logit per class, or the regression value."""
    return ways if task_type == "classification" else 1


@dataclass(frozen=True)
class EpisodeShape:
    """N-way K-shot with Q queries per class. The rules every episode obeys are checked here
    (a run's config narrows them further: at least 2 ways and 1 query)."""

    ways: int
    shots: int
    queries: int

    def __post_init__(self) -> None:
        if self.ways < 1 or self.shots < 1 or self.queries < 0:
            raise DataError(
                f"Episodes need ways >= 1, shots >= 1 and queries >= 0; got ways={self.ways}, "
                f"shots={self.shots}, queries={self.queries}."
            )

    def check_classes(self, available: int, where: str, detail: str = "") -> None:
        """DataError unless ``where`` (a split, as the message names it) has enough classes;
        ``detail`` says how they are counted."""
        if self.ways > available:
            raise DataError(
                f"{where} has {available} classes{detail}; {self.ways}-way tasks need at least "
                f"{self.ways}. Use --ways {available} or fewer."
            )


@dataclass(frozen=True)
class Task:
    """One episode. Classification: x float (n, *input_shape), or uint8 images (0..255) that
    ``to`` turns into float32 in [0, 1] once on the device (a quarter of the bytes to copy);
    y int64 in 0..ways-1. Regression: y float (n, 1). ``classes[i]`` names label i (empty for
    regression)."""

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: tuple[str, ...] = ()

    def to(self, device: torch.device | str) -> Task:
        """On ``device``, images as float; to a GPU through pinned memory, copied without
        waiting for it. Labels made by ``class_labels`` become that shape's labels on the
        device, which are made once: no task copies them."""
        device = torch.device(device)
        return replace(
            self,
            support_x=_move(self.support_x, device),
            support_y=_move_labels(self.support_y, device),
            query_x=_move(self.query_x, device),
            query_y=_move_labels(self.query_y, device),
        )


def _move(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cuda" and t.device.type == "cpu":
        t = t.pin_memory().to(device, non_blocking=True)
    else:
        t = t.to(device)
    # exactly numpy's float32 x / 255, on any device (IEEE division)
    return t.to(torch.float32).div_(255) if t.dtype == torch.uint8 else t


# (ways, per_class, device) -> the labels class_labels made; and the (ways, per_class) of each
# by its id (ids stay unique: the tensors live as long as the process)
_labels: dict[tuple[int, int, torch.device], torch.Tensor] = {}
_label_shapes: dict[int, tuple[int, int]] = {}


def class_labels(ways: int, per_class: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels 0..ways-1, each repeated ``per_class`` times: a class-major support or query set,
    as the built-in datasets order them. Made once per shape and device and shared by every
    task that uses them (never modify them in place); ``Task.to`` moves them by looking up the
    device's own, so a dataset whose tasks hold these copies no labels per task."""
    key = (ways, per_class, torch.device(device))
    labels = _labels.get(key)
    if labels is None:  # two threads may both make them: setdefault keeps the first
        made = torch.arange(ways, device=key[2]).repeat_interleave(per_class)
        labels = _labels.setdefault(key, made)
        _label_shapes[id(labels)] = (ways, per_class)
    return labels


def _move_labels(y: torch.Tensor, device: torch.device) -> torch.Tensor:
    shape = _label_shapes.get(id(y))
    return _move(y, device) if shape is None else class_labels(*shape, device)


class FewShotDataset(ABC):
    """A source of episodes with fixed, disjoint class splits."""

    task_type: TaskType = "classification"
    input_shape: tuple[int, ...]  # one example, e.g. (1, 28, 28) or (1,) for sinusoid x

    @abstractmethod
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
        """Endless, deterministic stream of tasks: the same arguments give the same tasks."""

    def episode(self, split: Split, *, ways: int, shots: int, queries: int, seed: int) -> Task:
        """The task seeded by ``seed`` alone: the first of ``episodes(..., seed=seed)``. The
        trainer draws every task so, each from a seed of its own, so that any rank or thread
        draws any task. Override it where starting a stream costs more than drawing a task."""
        return next(self.episodes(split, ways=ways, shots=shots, queries=queries, seed=seed))

    @abstractmethod
    def check(self, split: Split, *, ways: int, shots: int, queries: int) -> None:
        """Raise DataError, before any work, when the split cannot provide such tasks."""

    def load_images(self, paths: list[Path]) -> torch.Tensor:
        """Decode image files exactly as this dataset's examples are (size, channels, polarity),
        as a float tensor (n, *input_shape); used to adapt a trained run to a user's images."""
        raise DataError(f"Dataset {type(self).__name__} cannot read image files.")

    def describe(self) -> dict[str, str]:
        """Human-readable facts (split sizes, source, preprocessing) for ``mt show`` and docs."""
        return {}


def default_cache_dir() -> Path:
    """Where decoded datasets are cached: ``$MT_CACHE_DIR`` or ``~/.cache/metaticket``."""
    import os

    return Path(os.environ.get("MT_CACHE_DIR", Path.home() / ".cache" / "metaticket"))
