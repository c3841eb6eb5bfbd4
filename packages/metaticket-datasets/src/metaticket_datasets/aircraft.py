"""``aircraft``'s layout reader: FGVC-Aircraft 2013b variants, cropped to their boxes.

``fgvc-aircraft-2013b/data/images/<id>.jpg`` with ``data/images_variant_*.txt`` (``<id>
<variant>`` per line; all listed images are read, trainval and test alike, since few-shot splits
are by class) and ``data/images_box.txt`` (``<id> xmin ymin xmax ymax``, 1-based). Each image is
cropped to its box, which also drops the copyright banner. 32x32 by default: the size at which
the paper's MLPs are cross-tested on it (the authors store it at 32x32); ``size=84`` for conv
nets. The archive carries no class split.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from metaticket_core import DataError

from .pipeline import ClassSource, ImageReader, Layout, Listing


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for data in (root, root / "data", root / "fgvc-aircraft-2013b" / "data"):
        box = data / "images_box.txt"
        if (data / "images").is_dir() and box.is_file() and any(data.glob("images_variant_*.txt")):
            lists = [*sorted(data.glob("images_variant_*.txt")), box]
            files = [(p.name, p.stat().st_size) for p in lists]
            return Layout(data, files, partial(_listing, data, lists[:-1]))
    return None


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


load = ImageReader(_find)
