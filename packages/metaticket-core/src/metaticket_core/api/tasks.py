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
        waiting for it."""
        device = torch.device(device)

        def move(t: torch.Tensor) -> torch.Tensor:
            if device.type == "cuda" and t.device.type == "cpu":
                t = t.pin_memory().to(device, non_blocking=True)
            else:
                t = t.to(device)
            # exactly numpy's float32 x / 255, on any device (IEEE division)
            return t.to(torch.float32).div_(255) if t.dtype == torch.uint8 else t

        return replace(
            self,
            support_x=move(self.support_x),
            support_y=move(self.support_y),
            query_x=move(self.query_x),
            query_y=move(self.query_y),
        )


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
