"""``mt data download`` and ``mt data check``: fetch an archive, resuming a partial download
(HTTP Range), verify its MD5, then unpack it without letting any member out of the root.

Partial downloads wait in ``<cache>/downloads`` (``$MT_CACHE_DIR``), never under the root, named
by the archive's MD5 as well as its file name (two archives of one name never share a file), and
one process at a time fetches each (``<md5>-<file>.lock``, refused otherwise). A download stops
at an overall deadline, however slowly the server trickles, and at the size the server announced
(or ``MAX_BYTES``), however long the body. A verified archive is kept until it has been unpacked:
a failure that is not its fault (a full disk, a read-only root, Ctrl-C) names its cause and the
next run unpacks it without fetching it again.

An archive is unpacked into a hidden folder inside the root, checked member by member before
anything is written, and its top-level entries are renamed into place only when all of it
unpacked; any failure removes the folder (and a later run the folder a killed one left), so the
root holds complete datasets or nothing new. A manifest of the unpacked files and their sizes,
``<root>/.metaticket/<archive>.json``, written atomically, is what ``check`` compares the root
against; a root that mt did not unpack is checked for what can be checked without one: counts,
and that every image decodes (``foreign``).
"""

from __future__ import annotations

import errno
import fcntl
import gzip
import hashlib
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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

from metaticket_core import DataError, write_text
from metaticket_core.api.console import err_console

from .spec import Archive

CHUNK = 1 << 20
MANIFESTS = ".metaticket"
SOCKET_TIMEOUT = 60.0  # seconds without a byte
MAX_BYTES = 8 << 30  # where the server announces no size: above every archive listed
STAGING = ".mt-unpack-"


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
        try:
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
            sizes = {str(p): int(n) for p, n in files.items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return Status(archive, "corrupt", f"its manifest {manifest} is damaged ({exc})")
        files = sizes
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
    return foreign(archive, root)


def foreign(archive: Archive, root: Path) -> Status:
    """A root that mt did not unpack: the numbers of image folders and images where the archive
    states them, and that every image decodes (the first bad ones named)."""
    from .images import undecodable

    images = [
        p
        for name in archive.provides
        for p in sorted((root / name).rglob("*") if (root / name).is_dir() else [root / name])
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]
    if archive.images is not None:
        counted = (len({p.parent for p in images}), len(images))
        if counted != archive.images:
            return Status(
                archive,
                "corrupt",
                f"not unpacked by mt data download: {counted[0]} image folders and {counted[1]} "
                f"images, expected {archive.images[0]} and {archive.images[1]}",
            )
    bad = undecodable(images)
    if bad:
        shown = ", ".join(f"{p.relative_to(root)} ({why})" for p, why in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return Status(archive, "corrupt", f"{len(bad)} images do not decode: {shown}{more}")
    counts = "counts as expected, " if archive.images is not None else ""
    return Status(
        archive,
        "present",
        f"not unpacked by mt data download: {counts}{len(images)} images decode",
    )


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def install(archive: Archive, root: Path, downloads: Path, deadline: float) -> None:
    """Download, verify and unpack ``archive`` into ``root``, one process per archive. The
    archive is deleted once unpacked, or when it is at fault (its MD5, its contents); kept
    otherwise, for the next run to unpack."""
    with _locked(archive, downloads):
        path = verify(archive, download(archive, downloads, deadline))
        unpack(archive, path, root)
        path.unlink()


def _key(archive: Archive) -> str:
    """The archive's name in the download cache: its MD5 too, so that two archives of one file
    name (other sources, other versions) never share a file."""
    return f"{archive.md5}-{archive.filename}"


@contextmanager
def _locked(archive: Archive, downloads: Path) -> Iterator[None]:
    """Hold ``<downloads>/<md5>-<file>.lock``, or refuse: two processes appending to one
    ``.part`` file corrupt it."""
    downloads.mkdir(parents=True, exist_ok=True)
    lock = downloads / f"{_key(archive)}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"Another process is downloading or unpacking {archive.filename} (it holds "
                f"{lock}); wait for it to end, then run the command again."
            ) from None
        yield
    finally:
        os.close(fd)


def download(archive: Archive, downloads: Path, deadline: float) -> Path:
    """The archive in ``downloads``: kept from an earlier run once verified, else
    ``<md5>-<file>.part``, resumed where an earlier attempt stopped, within ``deadline``
    seconds and the announced size."""
    verified = downloads / _key(archive)
    if verified.is_file():
        return verified
    part = downloads / f"{_key(archive)}.part"
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(archive.url, headers={"User-Agent": "metaticket"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    end = time.monotonic() + deadline
    try:
        response = urllib.request.urlopen(request, timeout=min(SOCKET_TIMEOUT, deadline))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left past what we have: it is complete
            return part
        reason = " ".join(str(exc.reason).split())  # a redirect loop's spans lines
        raise DataError(f"{archive.url} answered HTTP {exc.code} {reason}.") from None
    except http.client.HTTPException as exc:
        raise _malformed(archive, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"Cannot reach {archive.url}: {reason}.") from None
    with response:
        if response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        if length is not None and not length.strip().isdigit():
            raise DataError(
                f"{archive.url} sent a malformed response: Content-Length {length[:40]!r} is "
                f"not a number of bytes."
            )
        total = have + int(length) if length is not None else None
        limit = total if total is not None else MAX_BYTES
        with (
            open(part, "ab" if have else "wb") as f,
            _ByteBar(archive.filename, total, have) as bar,
        ):
            try:
                while chunk := response.read1(CHUNK):
                    if f.tell() + len(chunk) > limit:
                        f.close()
                        part.unlink()
                        raise DataError(
                            f"{archive.url} sent more than the {limit:,} bytes "
                            f"{'it announced' if total is not None else 'any archive has'}; "
                            f"the partial download was deleted."
                        )
                    f.write(chunk)
                    bar.advance(len(chunk))
                    if time.monotonic() > end:
                        raise _stopped(archive, part, total, f"the {deadline:g} s deadline passed")
            except (http.client.HTTPException, OSError) as exc:
                raise _stopped(archive, part, total, f"{type(exc).__name__}: {exc}") from None
    if total is not None and part.stat().st_size < total:
        raise _stopped(archive, part, total, "the connection closed early")
    return part


def _malformed(archive: Archive, exc: http.client.HTTPException) -> DataError:
    """One line for a response ``http.client`` cannot parse (a garbage status line, a header
    line too long, too many headers)."""
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 80 else detail[:80] + "..."
    return DataError(
        f"{archive.url} sent a malformed HTTP response ({type(exc).__name__}: {detail!r})."
    )


def _stopped(archive: Archive, part: Path, total: int | None, why: str) -> DataError:
    got = part.stat().st_size if part.exists() else 0
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


def verify(archive: Archive, path: Path) -> Path:
    """The MD5 published for the archive, before anything is unpacked; a matching archive is
    renamed to its verified name, a mismatching one deleted."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    if digest.hexdigest() == archive.md5:
        verified = path.with_name(_key(archive))
        os.replace(path, verified)
        return verified
    path.unlink()
    raise DataError(
        f"{archive.filename} is corrupt: MD5 {digest.hexdigest()}, expected {archive.md5} "
        f"(from {archive.checksum_from}); it was deleted, run the command again."
    )


def unpack(archive: Archive, path: Path, root: Path) -> None:
    """Unpack into a hidden folder of ``root``, then rename its entries into place (into
    ``archive.folder`` of the root). A corrupt archive is deleted; any other failure keeps it
    and says what stopped the unpacking."""
    created = not root.exists()
    target = root / archive.folder
    try:
        root.mkdir(parents=True, exist_ok=True)
        prefix = f"{STAGING}{archive.md5[:12]}-"
        for stale in root.glob(f"{prefix}*"):  # a killed unpacking's (this archive is locked)
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as exc:
        raise _not_unpacked(archive, path, root, exc) from None
    try:
        try:
            _extract(archive.filename, path, staging)
        except DataError:  # the archive's fault: fetching it again is the cure
            path.unlink()
            raise
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
        staging.rmdir()
        manifest = root / MANIFESTS / f"{archive.key}.json"
        write_text(manifest, json.dumps({"url": archive.url, "md5": archive.md5, "files": files}))
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        if isinstance(exc, OSError | KeyboardInterrupt):
            raise _not_unpacked(archive, path, root, exc) from None
        raise


def _not_unpacked(archive: Archive, path: Path, root: Path, exc: BaseException) -> DataError:
    """A failure to unpack that is not the archive's fault (a full disk, a read-only root,
    Ctrl-C): its cause, and the verified archive kept for the next run."""
    if isinstance(exc, KeyboardInterrupt):
        cause = "interrupted (Ctrl-C)"
    else:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        cause = f"{exc.strerror or exc} ({name})"
    return DataError(
        f"Unpacking {archive.filename} into {root} stopped: {cause}; nothing was left there, and "
        f"the verified archive is kept in {path} for the next run to unpack."
    )


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
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
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
