"""Intra-op threads per process. torch gives every process as many threads as there are cores,
so processes side by side oversubscribe them: two processes with 2 threads each on 2 cores run
2-7x slower than with 1 thread each. ``mt sweep --jobs N`` gives each run its share, and without
``--threads`` (or OMP_NUM_THREADS) a process takes the cores that the load leaves idle: on a
machine whose cores are busy with other work, one thread runs many times faster than one per
core, each waiting for the slowest."""

from __future__ import annotations

import math
import os

import torch

from ..api.errors import ConfigError

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


MAX_PER_CORE = 4  # beyond this threads only contend, and torch crashes at some thousands


def check_threads(threads: int | None) -> None:
    """``--threads`` is at least 1 and at most ``MAX_PER_CORE`` per core of the machine."""
    check_count("--threads", threads)
    limit = MAX_PER_CORE * (os.cpu_count() or 1)
    if threads is not None and threads > limit:
        raise ConfigError(
            f"--threads must be at most {limit} ({MAX_PER_CORE} per core of this machine's "
            f"{os.cpu_count() or 1}), got {threads}."
        )


def idle_cores() -> int:
    """The cores this process may use that the load leaves idle (at least 1): the 1-minute
    load average counts the processes running or waiting to run."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores(), math.ceil(cores() - load)))


def set_threads(threads: int | None) -> None:
    """Run torch's intra-op work on ``threads`` threads from now on; None: the cores left idle
    (``idle_cores``), unless OMP_NUM_THREADS or MKL_NUM_THREADS chose for torch already."""
    check_threads(threads)
    if threads is None and not any(v in os.environ for v in THREAD_VARIABLES):
        threads = idle_cores()
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
