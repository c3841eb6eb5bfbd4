"""``mt data download`` and ``mt data check``: fetch an archive, resuming a partial download
(HTTP Range), verify its MD5, then unpack it without letting any member out of the root.

Partial downloads wait in ``<cache>/downloads`` (``$MT_CACHE_DIR``), never under the root. An
archive is unpacked into a hidden folder inside the root, checked member by member before
anything is written, and its top-level entries are renamed into place only when all of it
unpacked; any failure removes the folder, so the root holds complete datasets or nothing new.
A manifest of the unpacked files and their sizes, ``<root>/.metaticket/<archive>.json``, is what
``check`` compares the root against.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from metaticket_core.console import err_console
from metaticket_core.errors import DataError

from .sources import Archive

CHUNK = 1 << 20
MANIFESTS = ".metaticket"


@dataclass(frozen=True)
class Status:
    """What ``check`` found of one archive under a root."""

    archive: Archive
    state: str  # present, missing or corrupt
    detail: str


def check(archive: Archive, root: Path) -> Status:
    """Present (every file the manifest lists, at its size), missing, or corrupt."""
    manifest = root / MANIFESTS / f"{archive.key}.json"
    if manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        missing = [p for p in files if not (root / p).is_file()]
        resized = [p for p in files if p not in missing and (root / p).stat().st_size != files[p]]
        if not missing and not resized:
            return Status(archive, "present", f"{len(files)} files, sizes as unpacked")
        bad = missing or resized
        return Status(
            archive,
            "corrupt",
            f"{len(missing)} of {len(files)} files missing, {len(resized)} of another size "
            f"(first: {bad[0]})",
        )
    found = [p for p in archive.provides if (root / p).exists()]
    if not found:
        return Status(archive, "missing", f"no {', '.join(archive.provides)}")
    if len(found) < len(archive.provides):
        return Status(archive, "corrupt", f"only {', '.join(found)} of {archive.provides}")
    return Status(archive, "present", "not unpacked by mt data download: sizes not verified")


def install(archive: Archive, root: Path, downloads: Path) -> None:
    """Download, verify and unpack ``archive`` into ``root``."""
    path = download(archive, downloads)
    try:
        verify(archive, path)
        unpack(archive, path, root)
    finally:
        path.unlink(missing_ok=True)


def download(archive: Archive, downloads: Path) -> Path:
    """``<downloads>/<file>.part``, resumed where an earlier attempt stopped."""
    downloads.mkdir(parents=True, exist_ok=True)
    part = downloads / f"{archive.filename}.part"
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(archive.url, headers={"User-Agent": "metaticket"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left past what we have: it is complete
            return part
        raise DataError(f"{archive.url} answered HTTP {exc.code} {exc.reason}.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"Cannot reach {archive.url}: {reason}.") from None
    with response:
        if response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with (
            open(part, "ab" if have else "wb") as f,
            _ByteBar(archive.filename, total, have) as bar,
        ):
            try:
                while chunk := response.read(CHUNK):
                    f.write(chunk)
                    bar.advance(len(chunk))
            except (http.client.HTTPException, OSError) as exc:
                raise _stopped(archive, part, total, f"{type(exc).__name__}: {exc}") from None
    if total is not None and part.stat().st_size < total:
        raise _stopped(archive, part, total, "the connection closed early")
    return part


def _stopped(archive: Archive, part: Path, total: int | None, why: str) -> DataError:
    got = part.stat().st_size
    of = f" of {total:,}" if total is not None else ""
    return DataError(
        f"Download of {archive.filename} stopped at {got:,}{of} bytes ({why}); run the same "
        f"command again to resume it."
    )


class _ByteBar:
    """A rich byte bar on a terminal; nothing otherwise (logs, tests)."""

    def __init__(self, name: str, total: int | None, completed: int):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=not err_console.is_terminal,
        )
        self.task = self.progress.add_task(name, total=total, completed=completed)

    def __enter__(self) -> _ByteBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)


def verify(archive: Archive, path: Path) -> None:
    """The MD5 published for the archive, before anything is unpacked."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    if digest.hexdigest() != archive.md5:
        raise DataError(
            f"{archive.filename} is corrupt: MD5 {digest.hexdigest()}, expected {archive.md5} "
            f"(from {archive.checksum_from}); it was deleted, run the command again."
        )


def unpack(archive: Archive, path: Path, root: Path) -> None:
    """Unpack into a hidden folder of ``root``, then rename its entries into place (into
    ``archive.folder`` of the root)."""
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    target = root / archive.folder
    staging = Path(tempfile.mkdtemp(prefix=".mt-unpack-", dir=root))
    try:
        _extract(archive.filename, path, staging)
        for entry in sorted(staging.iterdir()):
            if (target / entry.name).exists():
                raise DataError(
                    f"{target / entry.name} already exists but is not a complete "
                    f"{archive.filename}: move it away, then run the command again."
                )
        files = {
            str(Path(archive.folder, p.relative_to(staging))): p.stat().st_size
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        target.mkdir(exist_ok=True)
        for entry in sorted(staging.iterdir()):
            os.replace(entry, target / entry.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(root.iterdir()):
            root.rmdir()
        raise
    staging.rmdir()
    manifest = root / MANIFESTS / f"{archive.key}.json"
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(json.dumps({"url": archive.url, "md5": archive.md5, "files": files}))


def _extract(name: str, path: Path, into: Path) -> None:
    """Every member checked first: no absolute path, no ``..``, no link out, no device file."""
    lowered = name.lower()
    try:
        if lowered.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    _inside(name, member, into)
                zf.extractall(into)
        elif lowered.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(path, "r:" if lowered.endswith(".tar") else "r:gz") as tf:
                for member in tf.getmembers():
                    _inside(name, member.name, into)
                    try:
                        tarfile.data_filter(member, str(into))
                    except tarfile.FilterError as exc:
                        raise DataError(f"Refused to unpack {name}: {exc}.") from None
                tf.extractall(into, filter="data")
        else:
            shutil.copyfile(path, into / name)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        reason = " ".join(str(exc).split())  # some of tarfile's errors span lines
        raise DataError(f"{name} cannot be unpacked, the archive is corrupt: {reason}.") from None


def _inside(name: str, member: str, into: Path) -> None:
    target = (into / member).resolve()
    if (
        member.startswith(("/", "\\"))
        or ".." in Path(member).parts
        or not target.is_relative_to(into.resolve())
    ):
        raise DataError(f"Refused to unpack {name}: member {member!r} would land outside the root.")
