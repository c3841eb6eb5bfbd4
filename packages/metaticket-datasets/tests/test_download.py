"""``mt data download`` and ``mt data check`` against a local HTTP server on 127.0.0.1 serving
archives built here; the URL/checksum table is swapped for the test's (monkeypatch), never the
internet. Every failure is one line on stderr and leaves nothing under the root."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import io
import json
import re
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from metaticket_core.app.testing import run_cli
from metaticket_datasets import fetch, specs
from metaticket_datasets.spec import Archive


class Server(ThreadingHTTPServer):
    """Serves ``files`` by name, honouring ``Range: bytes=N-``; ``cut[name] = n`` sends only n
    bytes of the next response to it, then drops the connection. A misbehaving server:
    ``raw[name]`` is sent as the whole response, ``trickle[name]`` sends one byte per that many
    seconds, ``endless`` names get a body without Content-Length that never ends."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.ranges: list[str | None] = []
        self.raw: dict[str, bytes] = {}
        self.trickle: dict[str, float] = {}
        self.endless: set[str] = set()

    def handle_error(self, request, client_address):
        pass  # a client that hung up on a misbehaving response: as intended

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self):
        name = self.path.lstrip("/")
        if name in self.server.raw:
            self.wfile.write(self.server.raw[name])
            return
        if name in self.server.endless:
            self.send_response(200)
            self.end_headers()
            with contextlib.suppress(OSError):
                while True:
                    self.wfile.write(b"\0" * 65536)
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        asked = self.headers.get("Range")
        self.server.ranges.append(asked)
        start = int(asked.removeprefix("bytes=").rstrip("-")) if asked else 0
        if start >= len(body) > 0:
            self.send_error(416)  # Range Not Satisfiable: nothing past the end
            return
        self.send_response(206 if asked else 200)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if name in self.server.trickle:
            with contextlib.suppress(OSError):
                for byte in body[start:]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(self.server.trickle[name])
            return
        self.wfile.write(body[start:][: self.server.cut.pop(name, None)])

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich must not cut what the tests look for


@pytest.fixture
def server():
    server = Server()
    # shutdown() waits for serve_forever's next poll: 0.5 s per test at its default interval
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def serve(server, monkeypatch):
    """``serve(dataset, {filename: bytes}, provides={filename: (...)})``: put the files on the
    server and make them the dataset's archives, with their true MD5 unless ``md5`` says."""

    def serve(dataset, files, provides, md5=None, folders=None):
        archives = []
        for name, body in files.items():
            server.files[name] = body
            digest = (md5 or {}).get(name) or hashlib.md5(body).hexdigest()
            folder = (folders or {}).get(name, "")
            archives.append(
                Archive(server.url(name), digest, "this test", provides[name], folder=folder)
            )
        monkeypatch.setitem(
            specs.SPECS,
            dataset,
            dataclasses.replace(specs.SPECS[dataset], archives=tuple(archives)),
        )

    return serve


@pytest.fixture
def dirs(tmp_path):
    return tmp_path / "data" / "root", tmp_path / "cache"


def mt_data(command, dataset, dirs, *options):
    root, cache = dirs
    extra = ["--cache-dir", str(cache)] if command == "download" else []
    return run_cli("data", command, dataset, "--root", str(root), *extra, *options)


def zipped(folder: Path, *names: str) -> bytes:
    """A zip of ``folder``'s entries ``names``, as paths relative to ``folder``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            for path in sorted((folder / name).rglob("*")) or [folder / name]:
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def tarred(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buffer.getvalue()


def archives_in(cache: Path) -> list[str]:
    """The archives, whole or partial, in the download cache (not its lock files)."""
    return [p.name for p in (cache / "downloads").iterdir() if p.suffix != ".lock"]


def failed_cleanly(result, dirs, message):
    """One line on stderr saying ``message``; nothing under the root (not even the root)."""
    assert result.exit_code == 1, result.stdout
    assert result.stderr.count("\n") == 1 and re.search(message, result.stderr), result.stderr
    assert not dirs[0].exists()
    assert not (dirs[0].parent / "evil.txt").exists()


# success: the readers' layout, check, and nothing fetched twice ------------------------------
def test_omniglot_two_zips_unpack_where_the_reader_looks(serve, server, dirs, omniglot_root, build):
    serve(
        "omniglot",
        {f"{s}.zip": zipped(omniglot_root, s) for s in ("images_background", "images_evaluation")},
        provides={f"{s}.zip": (s,) for s in ("images_background", "images_evaluation")},
    )
    result = mt_data("download", "omniglot", dirs)
    assert result.exit_code == 0, result.stderr
    assert f"mt train --dataset omniglot --data-root {dirs[0]}" in result.stdout
    root, cache = dirs
    assert sorted(p.name for p in root.iterdir()) == [
        ".metaticket", "images_background", "images_evaluation"
    ]  # fmt: skip
    assert not archives_in(cache)  # archives are not kept once unpacked
    dataset = build("omniglot", root, cache / "decoded", split="background")
    assert dataset.images.shape == (10 * 4, 1, 28, 28)  # characters x drawings

    checked = mt_data("check", "omniglot", dirs)
    assert checked.exit_code == 0 and checked.stdout.count(": present (") == 2

    requests = len(server.ranges)
    again = mt_data("download", "omniglot", dirs)
    assert again.exit_code == 0 and again.stdout.count("already present") == 2
    assert len(server.ranges) == requests


def test_omniglot_split_files_land_where_the_reader_takes_them(serve, dirs, omniglot_root, build):
    """torchmeta's files go to vinyals-split/ (each file once: its own manifest), and the reader
    then uses them rather than its seeded val draw, and says so."""
    zips = {
        f"{s}.zip": zipped(omniglot_root, s) for s in ("images_background", "images_evaluation")
    }
    characters = sorted(p.relative_to(omniglot_root) for p in omniglot_root.glob("*/*/*"))
    chosen = {"train": characters[:4], "val": characters[4:6], "test": characters[6:]}
    splits = {
        f"{split}.json": json.dumps(
            {
                image_set: {
                    p.parts[1]: [q.parts[2] for q in chosen[split] if q.parts[:2] == p.parts[:2]]
                    for p in chosen[split]
                    if p.parts[0] == image_set
                }
                for image_set in ("images_background", "images_evaluation")
            }
        ).encode()
        for split in chosen
    }
    serve(
        "omniglot",
        {**zips, **splits},
        provides={
            **{name: (name.removesuffix(".zip"),) for name in zips},
            **{name: (f"vinyals-split/{name}",) for name in splits},
        },
        folders={name: "vinyals-split" for name in splits},
    )
    result = mt_data("download", "omniglot", dirs)
    assert result.exit_code == 0, result.stderr
    root, cache = dirs
    assert sorted(p.name for p in (root / "vinyals-split").iterdir()) == [
        "test.json", "train.json", "val.json"
    ]  # fmt: skip
    assert len(list((root / ".metaticket").iterdir())) == 5
    checked = mt_data("check", "omniglot", dirs)
    assert checked.exit_code == 0 and checked.stdout.count(": present (") == 5
    dataset = build("omniglot", root, cache / "decoded")
    assert "torchmeta's files in" in dataset.describe()["split"]
    assert [dataset.num_classes(s) for s in ("train", "val", "test")] == [
        4 * len(chosen[s]) for s in ("train", "val", "test")
    ]


def test_tiny_imagenet_zip_is_read_by_its_loader(serve, dirs, make_tiny_imagenet, tmp_path, build):
    make_tiny_imagenet(tmp_path / "src" / "tiny-imagenet-200")
    zip_bytes = zipped(tmp_path / "src", "tiny-imagenet-200")
    serve("tiny-imagenet", {"t.zip": zip_bytes}, provides={"t.zip": ("tiny-imagenet-200",)})
    assert mt_data("download", "tiny-imagenet", dirs).exit_code == 0
    dataset = build("tiny-imagenet", dirs[0], tmp_path / "decoded")
    assert dataset.input_shape == (3, 32, 32)


def test_tgz_and_a_plain_file_vgg_flower_layout(serve, dirs):
    serve(
        "vgg-flower",
        {"102flowers.tgz": tarred({"jpg/image_00001.jpg": b"jpeg"}), "imagelabels.mat": b"mat"},
        provides={"102flowers.tgz": ("jpg",), "imagelabels.mat": ("imagelabels.mat",)},
    )
    result = mt_data("download", "vgg-flower", dirs)
    assert result.exit_code == 0, result.stderr
    assert "split_file" in result.stdout  # what is left to do before training
    root = dirs[0]
    assert (root / "jpg" / "image_00001.jpg").read_bytes() == b"jpeg"
    assert (root / "imagelabels.mat").read_bytes() == b"mat"


def test_check_reports_present_missing_and_corrupt(serve, server, dirs, omniglot_root):
    serve(
        "omniglot",
        {f"{s}.zip": zipped(omniglot_root, s) for s in ("images_background", "images_evaluation")},
        provides={f"{s}.zip": (s,) for s in ("images_background", "images_evaluation")},
    )
    missing = mt_data("check", "omniglot", dirs)
    assert missing.exit_code == 1 and missing.stdout.count(": missing (") == 2
    assert "2 of 2 archives missing; mt data download omniglot" in missing.stderr

    assert mt_data("download", "omniglot", dirs).exit_code == 0
    root = dirs[0]
    next(root.glob("images_background/*/*/*.png")).unlink()
    cut = next(root.glob("images_evaluation/*/*/*.png"))
    cut.write_bytes(cut.read_bytes()[:10])
    checked = mt_data("check", "omniglot", dirs)
    assert checked.exit_code == 1
    assert "images_background.zip: corrupt (1 of 20 files missing, 0 of another size" in (
        checked.stdout
    )
    assert "images_evaluation.zip: corrupt (0 of 20 files missing, 1 of another size" in (
        checked.stdout
    )
    assert checked.stderr.count("\n") == 1 and "archives corrupt" in checked.stderr
    requests = len(server.ranges)
    refused = mt_data("download", "omniglot", dirs)
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1
    assert "images_background.zip in" in refused.stderr and "move images_background away" in (
        refused.stderr
    )
    assert len(server.ranges) == requests  # refused before downloading


# failures: one line, nothing under the root --------------------------------------------------
def test_interrupted_download_resumes_with_a_range_request(serve, server, dirs, omniglot_root):
    body = zipped(omniglot_root, "images_background")
    serve("omniglot", {"b.zip": body}, provides={"b.zip": ("images_background",)})
    server.cut["b.zip"] = half = len(body) // 2
    stopped = mt_data("download", "omniglot", dirs)
    failed_cleanly(stopped, dirs, rf"stopped at {half:,} of {len(body):,} bytes.*resume")
    assert next((dirs[1] / "downloads").glob("*-b.zip.part")).stat().st_size == half

    resumed = mt_data("download", "omniglot", dirs)
    assert resumed.exit_code == 0, resumed.stderr
    assert server.ranges == [None, f"bytes={half}-"]
    assert mt_data("check", "omniglot", dirs).exit_code == 0


def test_a_complete_download_is_not_fetched_again(serve, server, dirs, omniglot_root):
    body = zipped(omniglot_root, "images_background")
    serve("omniglot", {"b.zip": body}, provides={"b.zip": ("images_background",)})
    (dirs[1] / "downloads").mkdir(parents=True)
    part = dirs[1] / "downloads" / f"{hashlib.md5(body).hexdigest()}-b.zip.part"
    part.write_bytes(body)  # stopped before unpacking
    assert mt_data("download", "omniglot", dirs).exit_code == 0
    assert server.ranges == [f"bytes={len(body)}-"]  # answered 416: nothing more to fetch
    assert mt_data("check", "omniglot", dirs).exit_code == 0


def test_wrong_checksum_is_refused_before_unpacking(serve, dirs, omniglot_root):
    body = zipped(omniglot_root, "images_background")
    serve(
        "omniglot",
        {"b.zip": body},
        provides={"b.zip": ("images_background",)},
        md5={"b.zip": "0" * 32},
    )
    result = mt_data("download", "omniglot", dirs)
    failed_cleanly(
        result, dirs, rf"b.zip is corrupt: MD5 {hashlib.md5(body).hexdigest()}, expected 0{{32}}"
    )
    assert not archives_in(dirs[1])  # deleted: resuming it cannot help


def test_truncated_archive_fails_its_checksum(serve, dirs, omniglot_root):
    body = zipped(omniglot_root, "images_background")
    true_md5 = hashlib.md5(body).hexdigest()
    serve(
        "omniglot",
        {"b.zip": body[: len(body) // 2]},
        provides={"b.zip": ("x",)},
        md5={"b.zip": true_md5},
    )
    failed_cleanly(mt_data("download", "omniglot", dirs), dirs, rf"expected {true_md5}")


@pytest.mark.parametrize(
    ("name", "body"),
    [("cut.zip", "truncated zip"), ("noise.tgz", b"\x1f\x8b not really gzip " * 50),
     ("noise.zip", b"PK\x03\x04" + b"\x00" * 300)],
)  # fmt: skip
def test_corrupt_archive_with_a_matching_checksum_leaves_nothing(
    serve, dirs, omniglot_root, name, body
):
    if body == "truncated zip":
        whole = zipped(omniglot_root, "images_background")
        body = whole[: len(whole) * 2 // 3]
    serve("omniglot", {name: body}, provides={name: ("images_background",)})
    failed_cleanly(
        mt_data("download", "omniglot", dirs),
        dirs,
        rf"{name} cannot be unpacked, the archive is corrupt",
    )


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("up.zip", "zip"),
        ("up.tgz", tarred({"ok/a.txt": b"a", "../evil.txt": b"evil"})),
        ("abs.tgz", tarred({"/tmp/evil.txt": b"evil"})),
        ("link.tgz", tarred({"ok/a.txt": b"a"}, links={"ok/passwd": "/etc/passwd"})),
        ("uplink.tgz", tarred({"ok/a.txt": b"a"}, links={"ok/up": "../../evil.txt"})),
    ],
)
def test_members_escaping_the_root_are_refused_before_anything_is_written(serve, dirs, name, body):
    if body == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("ok/a.txt", b"a")
            zf.writestr("../evil.txt", b"evil")
        body = buffer.getvalue()
    serve("omniglot", {name: body}, provides={name: ("ok",)})
    failed_cleanly(mt_data("download", "omniglot", dirs), dirs, rf"Refused to unpack {name}")


def test_unreachable_and_missing_files_are_one_line(serve, server, dirs):
    serve("omniglot", {"b.zip": b""}, provides={"b.zip": ("x",)})
    del server.files["b.zip"]
    failed_cleanly(mt_data("download", "omniglot", dirs), dirs, r"answered HTTP 404")
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    failed_cleanly(
        mt_data("download", "omniglot", dirs), dirs, rf"Cannot reach http://127.0.0.1:{port}/b.zip"
    )


def test_datasets_without_a_public_archive_say_why_and_how(dirs):
    result = mt_data("download", "miniimagenet", dirs)
    failed_cleanly(result, dirs, r"miniimagenet cannot be downloaded: built from ImageNet")
    unknown = mt_data("check", "omniglt", dirs)
    assert unknown.exit_code == 1 and "Did you mean 'omniglot'?" in unknown.stderr


def test_the_table_has_a_cited_md5_for_every_archive_and_readers_for_every_name(registry):
    documented = (Path(__file__).parents[3] / "docs" / "DATASETS.md").read_text()
    listed = run_cli("data", "list")
    assert listed.exit_code == 0
    for spec in specs.SPECS.values():
        assert spec.name in registry and not (spec.archives and spec.unavailable)
        for archive in spec.archives:
            assert re.fullmatch(r"[0-9a-f]{32}", archive.md5) and archive.checksum_from
            assert archive.url.startswith(("https://", "http://")) and archive.provides
            assert archive.md5 in listed.stdout
            assert f"| {archive.url} | `{archive.md5}` |" in documented


# faults that are not the archive's: keep it, say why --------------------------------------------
@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), r"No space left on device \(ENOSPC\)"),
        (OSError(errno.EROFS, "Read-only file system"), r"Read-only file system \(EROFS\)"),
        (KeyboardInterrupt(), r"interrupted \(Ctrl-C\)"),
    ],
)
def test_an_unpacking_stopped_by_the_machine_keeps_the_verified_archive(
    serve, server, dirs, omniglot_root, monkeypatch, fault, cause
):
    body = zipped(omniglot_root, "images_background")
    serve("omniglot", {"b.zip": body}, provides={"b.zip": ("images_background",)})

    def fail(*args, **kwargs):
        raise fault

    with monkeypatch.context() as patched:
        patched.setattr(zipfile.ZipFile, "extractall", fail)
        result = mt_data("download", "omniglot", dirs)
    failed_cleanly(result, dirs, rf"Unpacking b.zip into .* stopped: {cause}; .*archive is kept")
    assert "corrupt" not in result.stderr
    assert archives_in(dirs[1]) == [f"{hashlib.md5(body).hexdigest()}-b.zip"]
    again = mt_data("download", "omniglot", dirs)
    assert again.exit_code == 0, again.stderr
    assert len(server.ranges) == 1 and not archives_in(dirs[1])  # unpacked, not fetched again


def test_one_process_per_archive_and_the_cache_is_keyed_by_checksum(serve, server, dirs, tmp_path):
    serve("omniglot", {"b.zip": b"one archive"}, provides={"b.zip": ("x",)})
    archive = specs.SPECS["omniglot"].archives[0]
    (dirs[1] / "downloads").mkdir(parents=True)
    lock = dirs[1] / "downloads" / f"{archive.md5}-b.zip.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = mt_data("download", "omniglot", dirs)
    failed_cleanly(result, dirs, r"Another process is downloading or unpacking b.zip")
    assert server.ranges == []

    server.cut["b.zip"] = 4  # half of an archive of one name, from one source
    assert mt_data("download", "omniglot", dirs).exit_code == 1
    other = zipped(_tree(tmp_path / "other", "ok/a.txt"), "ok")  # the same name, elsewhere
    serve("omniglot", {"b.zip": other}, provides={"b.zip": ("ok",)})
    result = mt_data("download", "omniglot", dirs)
    assert result.exit_code == 0, result.stderr
    assert server.ranges == [None, None]  # not resumed from the other archive's bytes


def _tree(folder: Path, *files: str) -> Path:
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    return folder


def test_a_trickling_server_stops_at_the_deadline(serve, server, dirs):
    serve("omniglot", {"b.zip": b"x" * 100}, provides={"b.zip": ("x",)})
    server.trickle["b.zip"] = 0.2
    result = mt_data("download", "omniglot", dirs, "--deadline", "1")
    failed_cleanly(result, dirs, r"b.zip stopped at \d+ of 100 bytes \(the 1 s deadline passed\)")


def test_an_endless_body_stops_at_the_size_cap(serve, server, dirs, monkeypatch):
    serve("omniglot", {"b.zip": b""}, provides={"b.zip": ("x",)})
    server.endless.add("b.zip")
    monkeypatch.setattr(fetch, "MAX_BYTES", 1 << 20)
    result = mt_data("download", "omniglot", dirs)
    failed_cleanly(result, dirs, r"sent more than the 1,048,576 bytes any archive has; .*deleted")
    assert not archives_in(dirs[1])


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nbody", r"Content-Length 'abc' is not"),
        (b"garbage\r\n\r\n", r"malformed HTTP response \(BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", r"\(LineTooLong"),
        (
            b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 150 + b"\r\n",
            r"response \(HTTPException: 'got more than 100 headers'",
        ),
        ("loop", r"answered HTTP 30\d The HTTP server returned a redirect error"),
    ],
)
def test_a_malformed_response_is_one_line(serve, server, dirs, response, message):
    serve("omniglot", {"b.zip": b""}, provides={"b.zip": ("x",)})
    if response == "loop":
        response = f"HTTP/1.1 302 Found\r\nLocation: {server.url('b.zip')}\r\n\r\n".encode()
    server.raw["b.zip"] = response
    failed_cleanly(mt_data("download", "omniglot", dirs), dirs, message)


def test_a_damaged_manifest_and_a_killed_unpacking_are_no_dead_end(serve, dirs, omniglot_root):
    body = zipped(omniglot_root, "images_background")
    serve("omniglot", {"b.zip": body}, provides={"b.zip": ("images_background",)})
    root = dirs[0]
    stale = root / f".mt-unpack-{hashlib.md5(body).hexdigest()[:12]}-killed"
    (stale / "images_background").mkdir(parents=True)  # as a SIGKILL while unpacking left it
    assert mt_data("download", "omniglot", dirs).exit_code == 0
    assert sorted(p.name for p in root.iterdir()) == [".metaticket", "images_background"]
    manifest = root / ".metaticket" / "b.zip.json"
    manifest.write_text(manifest.read_text()[:20])  # as a crash while writing it left it
    checked = mt_data("check", "omniglot", dirs)
    assert checked.exit_code == 1 and "Traceback" not in checked.stderr
    assert f"b.zip: corrupt (its manifest {manifest} is damaged" in checked.stdout


def test_check_of_a_folder_mt_did_not_unpack_counts_and_decodes(dirs, omniglot_root, monkeypatch):
    omniglot = specs.SPECS["omniglot"]
    counted = {"images_background": (5, 20), "images_evaluation": (5, 20)}  # the fixture's
    monkeypatch.setitem(
        specs.SPECS,
        "omniglot",
        dataclasses.replace(
            omniglot,
            archives=tuple(  # the image sets alone: the fixture has no split files
                dataclasses.replace(a, images=counted[a.provides[0]])
                for a in omniglot.archives
                if a.provides[0] in counted
            ),
        ),
    )
    root = (omniglot_root, dirs[1])
    checked = mt_data("check", "omniglot", root)
    assert checked.exit_code == 0, checked.stdout
    assert checked.stdout.count("not unpacked by mt data download: counts as expected, 20") == 2
    junk = next(omniglot_root.glob("images_evaluation/*/*/*.png"))
    junk.write_text("not a picture")
    next(omniglot_root.glob("images_background/*/*/*.png")).unlink()
    checked = mt_data("check", "omniglot", root)
    assert checked.exit_code == 1 and checked.stderr.count("\n") == 1
    assert (
        "images_background.zip: corrupt (not unpacked by mt data download: 5 image folders and "
        "19 images, expected 5 and 20)"
    ) in checked.stdout
    bad = junk.relative_to(omniglot_root)
    assert f"images_evaluation.zip: corrupt (1 images do not decode: {bad} (" in checked.stdout
