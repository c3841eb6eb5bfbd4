"""One process per run: an exclusive ``flock`` on ``<run>/.lock``.

The OS releases the lock when its holder exits, however it ends (SIGKILL included), so a lock
is never stale, and a run whose state says "running" while nobody holds its lock was
interrupted. The holder writes who it is into the file, for the error the next process shows.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..api.errors import MetaticketError
from ..api.files import default_mode

LOCK_NAME = ".lock"
PATIENCE = 0.5  # seconds: rides over another process's is_held() probe


class RunInUse(MetaticketError):
    """Another process holds the run."""


@contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the duration of the block, or raise RunInUse at once."""
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, default_mode())
    try:
        if not _acquire(fd):
            raise RunInUse(
                f"Run {folder.name!r} is in use by {_holder(fd)}; wait for it to end or stop "
                f"that process (one process per run)."
            )
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
              "command": " ".join(["mt", *sys.argv[1:]])}  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def is_held(folder: Path) -> bool:
    """Whether a process holds ``folder``'s lock now."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _acquire(fd: int) -> bool:
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _holder(fd: int) -> str:
    """ "process PID on HOST (COMMAND, since HH:MM:SS)" from the lock file, as far as known."""
    info: dict = {}
    with suppress(OSError, ValueError):
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since", 0))))
    return (
        f"process {info['pid']} on {info.get('host', '?')} ({info.get('command')}, since {since})"
    )
