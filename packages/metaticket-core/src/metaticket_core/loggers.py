"""Where a run's metrics go: ``metrics.jsonl`` always, plus the loggers a config names.

Loggers come from the ``register_loggers`` hook like methods and models do; core registers
``jsonl``, ``csv`` and ``tensorboard``. A logger is built when training starts, as
``factory(run, start=ITERATION)``: ``start`` is 0 for a new run and the checkpoint's iteration
on resume, where records past it came from the interrupted run and must be dropped.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

    from .runs import Run

BUILT_IN = "jsonl"


class Logger:
    """Receives what a run logs; every method is a no-op, override what you need."""

    def log(self, record: Mapping[str, float]) -> None:
        """One record: ``iteration``, ``kind`` (``"train"``: a logged training window, or
        ``"val"``: a validation; the only value that is not a number) and metrics."""

    def histograms(self, iteration: int, values: Mapping[str, torch.Tensor]) -> None:
        """Tensors to histogram, by tag, at each validation (``mask_scores/<layer>``)."""

    def close(self) -> None:
        """Training stopped (finished, interrupted or failed): flush and release files."""


class JsonlLogger(Logger):
    """metrics.jsonl in the run folder: one JSON object per record (what mt plot reads). On
    resume the trainer has already cut it back to the checkpoint (``Run.truncate_metrics``,
    which also knows whether that iteration's validation was recorded)."""

    def __init__(self, run: Run, *, start: int):
        self.run = run

    def log(self, record: Mapping[str, float]) -> None:
        self.run.log(dict(record))


class CsvLogger(Logger):
    """metrics.csv in the run folder, long format: iteration,name,value (values exact)."""

    COLUMNS = ("iteration", "name", "value")

    def __init__(self, run: Run, *, start: int):
        self.path = run.path / "metrics.csv"
        rows = []
        if self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if int(r["iteration"]) <= start]
        self.file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.writer.writerow(self.COLUMNS)
        self.writer.writerows([r[c] for c in self.COLUMNS] for r in rows)

    def log(self, record: Mapping[str, float]) -> None:
        iteration = record["iteration"]
        self.writer.writerows(
            (iteration, name, repr(float(value)))
            for name, value in record.items()
            if name not in ("iteration", "kind")
        )
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def tensorboard(run: Run, *, start: int) -> Logger:
    """TensorBoard event files in <run>/tensorboard: scalars, and mask-score histograms."""
    from .tensorboard import TensorBoardLogger

    return TensorBoardLogger(run, start=start)


class Loggers(Logger):
    """Several loggers as one, in the order given."""

    def __init__(self, loggers: list[Logger]):
        self.loggers = loggers

    def log(self, record: Mapping[str, float]) -> None:
        for logger in self.loggers:
            logger.log(record)

    def histograms(self, iteration: int, values: Mapping[str, torch.Tensor]) -> None:
        for logger in self.loggers:
            logger.histograms(iteration, values)

    def close(self) -> None:
        """Close each once (training and the meta-test both end through here)."""
        loggers, self.loggers = self.loggers, []
        for logger in loggers:
            logger.close()


def check_loggers(names: list[str]) -> None:
    """Every name is registered and whatever package it ``requires`` is installed."""
    from .registry import loggers

    registry = loggers()
    for name in names:
        info: dict[str, Any] = registry.get(name).info
        required = info.get("requires")
        if required and importlib.util.find_spec(required) is None:
            raise ConfigError(
                f"--log {name} needs the {required!r} package, which is not installed: "
                f"{info.get('install', f'pip install {required}')}"
            )


def open_loggers(names: list[str], run: Run, start: int) -> Loggers:
    """The built-in JSONL logger and the named ones, ready for records past ``start``."""
    from .registry import loggers

    registry = loggers()
    chosen = dict.fromkeys([BUILT_IN, *names])
    return Loggers([registry.get(name).factory(run, start=start) for name in chosen])
