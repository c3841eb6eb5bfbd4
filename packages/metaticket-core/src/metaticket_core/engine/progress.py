"""Progress for long work: a rich bar on a terminal, plain log lines otherwise (CI, files)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from ..api.console import err_console


class Progress:
    """``with Progress() as p: bar = p.task("train", n); bar.advance(info="loss 0.3")``."""

    def __init__(self, enabled: bool = True, plain: bool | None = None):
        self.enabled = enabled
        self.plain = (not err_console.is_terminal) if plain is None else plain
        self._rich: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.enabled and not self.plain:
            self._rich = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=err_console,
                transient=False,
            )
            self._rich.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
            self._rich = None

    def task(
        self, description: str, total: int, completed: int = 0, transient: bool = False
    ) -> Bar:
        """A bar; a ``transient`` one (short evaluations) logs nothing in plain mode."""
        return Bar(self, description, total, completed, transient)

    def log(self, message: str) -> None:
        if self.enabled:
            err_console.print(message, highlight=False, soft_wrap=True)


class Bar:
    """One task of a Progress; in plain mode it logs about twenty lines over its course."""

    def __init__(
        self, progress: Progress, description: str, total: int, completed: int, transient: bool
    ):
        self.progress, self.description, self.total = progress, description, total
        self.transient = transient
        self.completed = completed
        self.start, self.start_count = time.perf_counter(), completed
        self.info = ""
        self._every = max(1, total // 20)
        rich = progress._rich
        self._id = (
            rich.add_task(description, total=total, completed=completed, info="", rate="")
            if rich is not None
            else None
        )

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return (self.completed - self.start_count) / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int = 1, info: str | None = None, rate: float | None = None) -> None:
        """``rate``: iterations per second as measured elsewhere (a sweep job's process) rather
        than since this bar began."""
        self.completed += n
        if info is not None:
            self.info = info
        rate = self.rate() if rate is None else rate
        rich = self.progress._rich
        if rich is not None and self._id is not None:
            rich.update(self._id, advance=n, info=self.info, rate=f"{rate:.1f} it/s")
        elif (
            self.progress.enabled
            and not self.transient
            and (self.completed % self._every == 0 or self.completed == self.total)
        ):
            self.progress.log(
                f"{self.description} {self.completed}/{self.total} "
                f"({rate:.1f} it/s) {self.info}".rstrip()
            )

    def done(self) -> None:
        rich = self.progress._rich
        if rich is not None and self._id is not None:
            rich.remove_task(self._id)


@dataclass(frozen=True)
class PlainLine:
    """A bar's line in plain mode, read back: how a parent follows the runs it started."""

    description: str
    completed: int
    total: int
    rate: float
    info: str


_PLAIN = re.compile(
    r"(?P<description>\S+) (?P<completed>\d+)/(?P<total>\d+) \((?P<rate>[\d.]+) it/s\) ?"
    r"(?P<info>.*)"
)


def parse_plain(line: str) -> PlainLine | None:
    """The bar that ``line`` reports (Bar.advance's plain format), or None for other lines."""
    match = _PLAIN.fullmatch(line.strip())
    if match is None:
        return None
    return PlainLine(
        match["description"],
        int(match["completed"]),
        int(match["total"]),
        float(match["rate"]),
        match["info"],
    )
