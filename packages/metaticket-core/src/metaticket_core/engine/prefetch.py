"""The next step's episodes, drawn in a background thread while the current step runs.

Sampling an episode (numpy gathers, the copy to the device) takes milliseconds on the host,
during which a GPU would idle. Every task is drawn from a stream seeded by its own (seed,
iteration, task), so which thread draws it, and when, changes nothing: a run is bit-identical
with and without prefetching. One thread is enough: numpy releases the GIL in its gathers and the
step spends its time in torch's kernels, which release it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetcher(Generic[T]):
    """``get(key)`` returns ``draw(key)``, from the background thread when ``ahead(key)`` asked
    for it earlier; ``waited`` sums the seconds ``get`` spent waiting for it."""

    def __init__(self, draw: Callable[[int], T], enabled: bool = True):
        self.draw, self.enabled = draw, enabled
        self.pool: ThreadPoolExecutor | None = None  # started by the first ``ahead``
        self.pending: tuple[int, Future[T]] | None = None
        self.waited = 0.0

    def ahead(self, key: int) -> None:
        """Start drawing ``key`` in the background (no-op without prefetching)."""
        if not self.enabled:
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="mt-prefetch")
        self.pending = (key, self.pool.submit(self.draw, key))

    def get(self, key: int) -> T:
        start = time.perf_counter()
        pending, self.pending = self.pending, None
        if pending is not None and pending[0] == key:
            value = pending[1].result()  # its error, if drawing failed
        else:
            if pending is not None:
                pending[1].cancel()
            value = self.draw(key)
        self.waited += time.perf_counter() - start
        return value

    def close(self) -> None:
        """Stop the thread (a draw in progress is finished and dropped); ``ahead`` starts
        another."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool, self.pending = None, None
