"""Meta-test evaluation on fixed episodes, each seeded on its own: mean and 95% confidence
interval."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..api.config import RunConfig
from ..api.learner import MetaLearner
from ..api.precision import autocast
from ..api.tasks import METRICS, SPLITS, FewShotDataset, Split, TaskType
from .progress import Progress
from .records import Metrics, on_host


@dataclass(frozen=True)
class EvalResult:
    """``metric`` is ``accuracy`` (a fraction) or ``mse``; ``ci95`` is 1.96 standard errors."""

    metric: str
    mean: float
    ci95: float
    episodes: int
    loss: float

    def summary(self) -> str:
        if self.metric == "accuracy":
            return (
                f"accuracy {100 * self.mean:.2f}% ± {100 * self.ci95:.2f}% "
                f"({self.episodes} episodes)"
            )
        return f"mse {self.mean:.4f} ± {self.ci95:.4f} ({self.episodes} episodes)"

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    def improves_on(self, best: float | None) -> bool:
        """Whether this beats the ``best`` mean so far: a higher accuracy, or a lower mse."""
        if best is None:
            return True
        return self.mean > best if self.metric == "accuracy" else self.mean < best


def evaluate(
    learner: MetaLearner,
    dataset: FewShotDataset,
    config: RunConfig,
    split: Split,
    episodes: int,
    device: torch.device,
    progress: Progress | None = None,
) -> EvalResult:
    """Adapt to each of ``episodes`` fixed tasks of ``split`` and score its queries."""
    scores = episode_scores(learner, dataset, config, split, episodes, device, progress)
    return summarize(dataset.task_type, scores)


def derived_seed(*parts: int) -> int:
    """A task's own seed from the numbers that name it: the same task whichever rank, thread
    or resumed process draws it."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def episode_seed(seed: int, split: Split, index: int) -> int:
    """Seed of evaluation episode ``index`` of ``split``: its own, so that a rank draws its
    episodes alone."""
    return derived_seed(seed, SPLITS.index(split), index)


def episode_scores(
    learner: MetaLearner,
    dataset: FewShotDataset,
    config: RunConfig,
    split: Split,
    episodes: int,
    device: torch.device,
    progress: Progress | None = None,
    share: tuple[int, int] = (0, 1),
) -> list[dict[str, float]]:
    """Scores of the fixed episodes ``i < episodes`` with ``i % size == rank`` for ``share =
    (rank, size)``: the ranks of a distributed run split the same episodes between them, each
    drawing its own. The scores stay on the device until the last episode is queued, then are
    read at once."""
    rank, size = share
    mine = range(rank, episodes, size)
    scores: list[Metrics] = []
    task_bar = progress.task(f"{split} episodes", len(mine), transient=True) if progress else None
    for i in mine:
        task = dataset.episode(
            split, **asdict(config.episode), seed=episode_seed(config.seed, split, i)
        )
        with autocast(config.precision, device):
            scores.append(learner.evaluate(task.to(device)))
        if task_bar is not None:
            task_bar.advance()
    if task_bar is not None:
        task_bar.done()
    return on_host(scores)


def summarize(task_type: TaskType, scores: list[dict[str, float]]) -> EvalResult:
    """Mean and 95% CI of the episodes' accuracy (classification) or mse (regression)."""
    metric = METRICS[task_type]
    values = [s[metric] for s in scores]
    loss = sum(s["loss"] for s in scores) / len(scores)
    return EvalResult(metric, *mean_ci95(values), len(scores), loss)


def mean_ci95(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, 1.96 * math.sqrt(var / n)
