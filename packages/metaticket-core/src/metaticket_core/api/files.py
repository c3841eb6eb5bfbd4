"""Writing files so that nothing already written is lost or clobbered.

Every file is written to a temporary name in its folder and renamed over the target, so a crash,
a full disk or Ctrl-C leaves either the old file or the new one, never half of one; a process
killed outright leaves its temporary file behind, which ``remove_orphans`` deletes once the run
is locked again. Outputs the user names (``-o``) replace only a regular file, and only when asked.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import MetaticketError

TEMP_SUFFIX = ".tmp"


def default_mode() -> int:
    """The permissions a plain ``open()`` would give (mkstemp makes files private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary name beside ``path`` to write to; renamed over ``path`` on success and
    removed on any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def remove_orphans(folder: Path) -> None:
    """Delete the temporary files that a killed writer left in ``folder`` (call it only while
    no other process can be writing there)."""
    for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def check_output(path: Path, force: bool) -> None:
    """Refuse to write ``path`` over anything but a regular file, and over one without ``force``
    (a device, fifo, link or folder is never replaced)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        if not force:
            raise MetaticketError(f"{str(path)!r} exists; pass --force to replace it.")
        return
    raise MetaticketError(
        f"{str(path)!r} is {_kind(mode)}, not a regular file; choose another output path "
        f"(only a regular file is ever replaced)."
    )


def _kind(mode: int) -> str:
    kinds: list[tuple[Callable[[int], bool], str]] = [
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")
