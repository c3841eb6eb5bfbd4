"""Intra-op threads per process. torch gives every process as many threads as there are cores,
so processes side by side oversubscribe them: two processes with 2 threads each on 2 cores run
2-7x slower than with 1 thread each. ``mt sweep --jobs N`` gives each run its share."""

from __future__ import annotations

import os

import torch

from .errors import ConfigError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cores() -> int:
    """Cores this process may use: its affinity mask (taskset, containers), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_count(option: str, value: int | None) -> None:
    """A count option (``--jobs``, ``--threads``) is at least 1, or unset."""
    if value is not None and value < 1:
        raise ConfigError(f"{option} must be at least 1, got {value}.")


def set_threads(threads: int | None) -> None:
    """Run torch's intra-op work on ``threads`` threads from now on (None: torch's default)."""
    check_count("--threads", threads)
    if threads is not None:
        torch.set_num_threads(threads)


def share(jobs: int, threads: int | None = None) -> int:
    """Threads per process when ``jobs`` run at once: ``threads`` if given, else an equal share
    of the cores (at least 1)."""
    return threads if threads is not None else max(1, cores() // jobs)


def environment(threads: int) -> dict[str, str]:
    """This process's environment for a child that must start with ``threads`` threads: OpenMP
    and MKL read these once, when torch loads."""
    return {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}
