"""``aircraft``: FGVC-Aircraft 2013b variants, RGB 32x32 by default, the size at which the
paper's MLPs are cross-tested on it (the authors store it at 32x32); ``size=84`` for conv nets.

Layout: ``fgvc-aircraft-2013b/data/images/<id>.jpg`` with ``data/images_variant_*.txt``
(``<id> <variant>`` per line; all listed images are read, trainval and test alike, since few-shot
splits are by class) and ``data/images_box.txt`` (``<id> xmin ymin xmax ymax``, 1-based). Each
image is cropped to its box, which also drops the copyright banner, then resized with LANCZOS.

Split (100 variants, 70 / 15 / 15): the archive carries none, so ``split_file`` is required:
Meta-Dataset's json ``{"train": [...], "valid": [...], "test": [...]}`` of variant names.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from metaticket_core import DataError

from .episodes import ImageEpisodes
from .images import Preprocess
from .imageset import (
    ClassSource,
    Listing,
    check_size,
    choose_split,
    decode_classes,
    image_episodes,
    plain_keys,
)  # fmt: skip
from .options import dataset_factory, require_root
from .splitfiles import missing_split

EXPECTED = "data/images/*.jpg, data/images_variant_*.txt and data/images_box.txt"
FORMATS = 'Meta-Dataset\'s aircraft json {"train": [variant, ...], "valid": [...], "test": [...]}'


@dataset_factory("aircraft")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 32
) -> ImageEpisodes:
    """FGVC-Aircraft: 100 aircraft variants, 100 images each, cropped to boxes, RGB 32x32."""
    preprocess = Preprocess(check_size("aircraft", size))
    data = _find(require_root("aircraft", root, EXPECTED))
    lists = [*sorted(data.glob("images_variant_*.txt")), data / "images_box.txt"]
    files = [(p.name, p.stat().st_size) for p in lists]
    if split_file is None:  # fail before decoding
        raise missing_split("aircraft", data, FORMATS)
    decoded = decode_classes("aircraft", partial(_listing, data, lists[:-1]),
                             preprocess=preprocess, source=data, files=files,
                             cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "aircraft", decoded, split_file=split_file, keys=plain_keys, carried="",
        formats=FORMATS, source=data,
    )  # fmt: skip
    return image_episodes("aircraft", decoded, splits, preprocess=preprocess,
                          facts={"source": str(data), "split": rule})  # fmt: skip


def _find(root: Path) -> Path:
    for data in (root, root / "data", root / "fgvc-aircraft-2013b" / "data"):
        box = data / "images_box.txt"
        if (data / "images").is_dir() and box.is_file() and any(data.glob("images_variant_*.txt")):
            return data
    raise DataError(
        f"{root} is not an FGVC-Aircraft folder: expected {EXPECTED} there. Pass --data-root "
        "pointing at fgvc-aircraft-2013b/ (the archive unpacked)."
    )


def _listing(data: Path, variant_files: list[Path]) -> Listing:
    """Variants sorted by name; each image with its box."""
    variant: dict[str, str] = {}
    for file in variant_files:
        for line in _lines(file):
            image, _, name = line.partition(" ")
            if variant.setdefault(image, name) != name:
                raise DataError(f"{file}: image {image} is {name!r} here, {variant[image]!r} "
                                "elsewhere.")  # fmt: skip
    boxes = {}
    for line in _lines(data / "images_box.txt"):
        try:
            image, *coords = line.split()
            x1, y1, x2, y2 = map(int, coords)
        except ValueError as exc:
            raise DataError(f"{data / 'images_box.txt'}: bad line {line!r}: {exc}") from exc
        boxes[image] = (x1 - 1, y1 - 1, x2, y2)
    per_class: dict[str, list] = {}
    for image, name in sorted(variant.items()):
        if image not in boxes:
            raise DataError(f"{data / 'images_box.txt'} has no box for image {image}.")
        per_class.setdefault(name, []).append((data / "images" / f"{image}.jpg", boxes[image]))
    return Listing([ClassSource(n, len(per_class[n]), per_class[n]) for n in sorted(per_class)])


def _lines(file: Path) -> list[str]:
    try:
        return [line.strip() for line in file.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read {file}: {exc}") from exc
