"""Ctrl-C and SIGTERM during training: they stop work that a resume redoes (computing a step's
meta-gradient, scoring validation or test episodes) at once, and wait while a step's update or a
validation's results are being recorded, so that a checkpoint never holds half of either.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """``with interrupts.handled():`` around training, ``with interrupts.interruptible():``
    around work that may be dropped; both raise KeyboardInterrupt (SIGTERM included)."""

    def __init__(self) -> None:
        self.open = False
        self.pending = False

    @contextmanager
    def handled(self) -> Iterator[None]:
        """Take over SIGINT and SIGTERM for the block (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._received) for s in SIGNALS}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        self.check()
        self.open = True
        try:
            yield
        finally:
            self.open = False

    def check(self) -> None:
        """Raise the interrupt that arrived while recording, now that recording is done."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def _received(self, signum: int, frame: FrameType | None) -> None:
        if self.open:
            raise KeyboardInterrupt
        self.pending = True
