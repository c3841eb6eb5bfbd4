"""``cars``' layout reader: Stanford Cars for cross-domain few-shot learning (Tseng et al. 2020).

``cars_train/<00001>.jpg`` with the devkit's ``devkit/cars_train_annos.mat`` (class and bounding
box per image) and ``devkit/cars_meta.mat`` (class names); only the 8,144 ``cars_train`` images
are read, as in CrossDomainFewShot. Each image is cropped to its bounding box (1-based,
inclusive, as MATLAB writes it). The parity rule splits the 1-based class ids c, i = c - 1.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from metaticket_core import DataError

from .matfiles import read_mat
from .pipeline import ClassSource, ImageReader, Layout, Listing, parity_split


def _find(root: Path, split_file: Path | None) -> Layout | None:
    for folder in (root, root / "stanford_cars", root / "stanford-cars"):
        if (folder / "cars_train").is_dir() and (folder / "devkit").is_dir():
            annos = folder / "devkit" / "cars_train_annos.mat"
            meta = folder / "devkit" / "cars_meta.mat"
            images = sorted((e.name, e.stat().st_size) for e in (folder / "cars_train").iterdir())
            files = [(a.name, a.stat().st_size) for a in (annos, meta)] + images
            return Layout(folder, files, partial(_listing, folder, annos, meta))
    return None


def _listing(folder: Path, annos: Path, meta: Path) -> Listing:
    """Classes in class id order; each image with its bounding box."""
    names = [str(n) for n in read_mat(meta, "class_names")]
    records = read_mat(annos, "annotations")
    per_class: list[list] = [[] for _ in names]
    for record in [records] if isinstance(records, dict) else records:
        try:
            c = int(record["class"])
            box = tuple(int(record[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
            path = folder / "cars_train" / str(record["fname"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{annos}: unexpected annotation {record!r} ({exc}).") from exc
        if not 1 <= c <= len(names):
            raise DataError(f"{annos}: class {c} of {path.name} is not in {meta}.")
        per_class[c - 1].append((path, (box[0] - 1, box[1] - 1, box[2], box[3])))
    return Listing([ClassSource(n, len(s), s) for n, s in zip(names, per_class, strict=True)])


def _keys(names: list[str]) -> dict[str, list[int]]:
    """A class by its 1-based id or its name."""
    return {**{str(i + 1): [i] for i in range(len(names))}, **{n: [i] for i, n in enumerate(names)}}


load = ImageReader(_find, keys=_keys, rule=parity_split)
