"""``sinusoid``: the regression tasks of Finn et al. (2017).

A task is y = A sin(x - phi) with amplitude A ~ U[0.1, 5] and phase phi ~ U[0, pi]; its ``shots``
support and ``queries`` query points have x ~ U[-5, 5]. Every split draws from this same
distribution; splits (like ranks and workers) differ only by the seed of their generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from metaticket_core import EpisodeShape, Split, Task

from .episodes import SeededEpisodes, check_split_name
from .roots import no_root
from .spec import DatasetSpec

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, np.pi)
X_RANGE = (-5.0, 5.0)


class Sinusoid(SeededEpisodes):
    """Endless sine-regression tasks; ``ways`` is ignored."""

    task_type = "regression"
    input_shape = (1,)

    def check(self, split: Split, *, ways: int, shots: int, queries: int) -> None:
        check_split_name(split)
        EpisodeShape(1, shots, queries)  # ways is ignored

    def _stream(
        self, rng: np.random.Generator, split: Split, ways: int, shots: int, queries: int
    ) -> Iterator[Task]:
        while True:
            amplitude, phase = rng.uniform(*AMPLITUDE), rng.uniform(*PHASE)
            x = rng.uniform(*X_RANGE, size=(shots + queries, 1)).astype(np.float32)
            y = (amplitude * np.sin(x - phase)).astype(np.float32)
            yield Task(
                support_x=torch.from_numpy(x[:shots]),
                support_y=torch.from_numpy(y[:shots]),
                query_x=torch.from_numpy(x[shots:]),
                query_y=torch.from_numpy(y[shots:]),
            )

    def describe(self) -> dict[str, str]:
        return {
            "task": "y = A sin(x - phase), A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]",
            "split": "one distribution; splits differ by generator seed",
            "source": "generated (Finn et al. 2017)",
        }


def load(spec: DatasetSpec, root: Path | None, *, cache_dir: Path) -> Sinusoid:
    """Sine-wave regression tasks (Finn et al. 2017)."""
    no_root(spec.name, root)
    return Sinusoid()
