"""The TensorBoard logger (``pip install 'metaticket-core[tensorboard]'``): event files in
``<run>/tensorboard``, one scalar per metric under the name metrics.jsonl gives it, so the two
can be compared, and the mask-score histograms at each validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch.utils.tensorboard import SummaryWriter

from .loggers import Logger

if TYPE_CHECKING:
    from .runs import Run


class TensorBoardLogger(Logger):
    def __init__(self, run: Run, *, start: int):
        # purge_step: TensorBoard hides what the interrupted run wrote past the checkpoint
        self.writer = SummaryWriter(
            str(run.path / "tensorboard"), purge_step=start + 1 if start else None
        )

    def log(self, record: Mapping[str, float]) -> None:
        step, walltime = int(record["iteration"]), record.get("time")
        for name, value in record.items():
            if name not in ("iteration", "time", "kind"):
                self.writer.add_scalar(name, value, step, walltime=walltime)

    def histograms(self, iteration: int, values: Mapping[str, torch.Tensor]) -> None:
        for tag, tensor in values.items():
            self.writer.add_histogram(tag, tensor.detach().float().cpu(), iteration)

    def close(self) -> None:
        self.writer.close()
