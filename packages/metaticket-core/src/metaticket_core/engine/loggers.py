"""Where a run's metrics go: ``metrics.jsonl`` always, plus the loggers a config names.

Loggers come from the ``register_loggers`` hook like methods and models do; core registers
``jsonl``, ``csv`` and ``tensorboard``. A logger is built when training starts, as
``factory(run, start=ITERATION)``: ``start`` is 0 for a new run and the checkpoint's iteration
on resume, where records past it came from the interrupted run and must be dropped.

A logger that fails to close is reported in one line and the run goes on to its meta-test: its
metrics are already written or lost, and the run's result must not be. A logger that raises
SystemExit is an error naming it, not a silent exit with status 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..api.errors import ConfigError, PluginError
from ..api.files import write_text

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
        kept = io.StringIO()
        csv.writer(kept).writerows([self.COLUMNS, *self._rows(start)])
        write_text(self.path, kept.getvalue())  # a link is replaced, never its target written
        self.file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)

    def _rows(self, start: int) -> list[list[str]]:
        """The rows of an earlier run up to ``start``, all read before anything is written: a
        file that is not this logger's is an error that leaves it as it was."""
        if not self.path.exists():
            return []
        with open(self.path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
        try:
            if tuple(header or ()) != self.COLUMNS or any(len(r) != 3 for r in rows):
                raise ValueError
            return [r for r in rows if int(r[0]) <= start]
        except ValueError:
            raise ConfigError(
                f"{str(self.path)!r} is not a metrics.csv of mt (header "
                f"{','.join(self.COLUMNS)}, three columns a row); move it away, then resume."
            ) from None

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
    """Several loggers as one, in the order given, by name."""

    def __init__(self, loggers: dict[str, Logger]):
        self.loggers = loggers

    def log(self, record: Mapping[str, float]) -> None:
        for name, logger in self.loggers.items():
            with _no_exit(name, "log"):
                logger.log(record)

    def histograms(self, iteration: int, values: Mapping[str, torch.Tensor]) -> None:
        for name, logger in self.loggers.items():
            with _no_exit(name, "histograms"):
                logger.histograms(iteration, values)

    def close(self) -> None:
        """Close each once (training and the meta-test both end through here); one that fails
        is reported, and the others are closed all the same."""
        from ..api.console import warn

        loggers, self.loggers = self.loggers, {}
        for name, logger in loggers.items():
            try:
                logger.close()
            except (Exception, SystemExit) as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                if isinstance(exc, SystemExit):
                    reason = f"it called exit({exc.code!r})"
                warn(
                    f"logger {name!r} failed to close ({reason}); what it logged may be incomplete."
                )


@contextmanager
def _no_exit(name: str, method: str) -> Iterator[None]:
    """SystemExit from a logger as an error naming it: a plugin must not end the process."""
    try:
        yield
    except SystemExit as exc:
        raise PluginError(f"Logger {name!r} called exit({exc.code!r}) in {method}().") from None


def open_loggers(names: list[str], run: Run, start: int) -> Loggers:
    """The built-in JSONL logger and the named ones, ready for records past ``start``."""
    from ..api.registry import loggers

    registry = loggers()
    opened: dict[str, Logger] = {}
    for name in dict.fromkeys([BUILT_IN, *names]):
        with _no_exit(name, "__init__"):
            opened[name] = registry.get(name).factory(run, start=start)
    return Loggers(opened)
