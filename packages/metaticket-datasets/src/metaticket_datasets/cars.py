"""``cars``: Stanford Cars for cross-domain few-shot learning (Tseng et al. 2020), RGB 84x84.

Layout: ``cars_train/<00001>.jpg`` with the devkit's ``devkit/cars_train_annos.mat`` (class and
bounding box per image) and ``devkit/cars_meta.mat`` (class names); only the 8,144 ``cars_train``
images are read, as in CrossDomainFewShot. Each image is cropped to its bounding box (1-based,
inclusive, as MATLAB writes it), converted to RGB and resized to ``size`` x ``size`` with LANCZOS.

Split (196 classes, 98 / 49 / 49): the published parity rule on the 1-based class id c,
i = c - 1: i % 2 == 0 train, i % 4 == 1 val, i % 4 == 3 test. ``split_file`` takes a json
``{"train": [class ids or names], "val": ..., "test": ...}``.
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
    parity_split,
)  # fmt: skip
from .matfiles import read_mat
from .options import dataset_factory, require_root

EXPECTED = "cars_train/*.jpg and devkit/cars_train_annos.mat, devkit/cars_meta.mat"
FORMATS = 'a json {"train": [1, 3, ...], "val": [...], "test": [...]} of 1-based class ids'
RULE = "parity rule on class ids, i = class - 1: i%2==0 train, i%4==1 val, i%4==3 test"


@dataset_factory("cars")
def load(
    root: Path | None, *, cache_dir: Path, split_file: str | Path | None = None, size: int = 84
) -> ImageEpisodes:
    """Stanford Cars: 196 car models, images cropped to their boxes, RGB 84x84."""
    preprocess = Preprocess(check_size("cars", size))
    folder = _find(require_root("cars", root, EXPECTED))
    annos, meta = folder / "devkit" / "cars_train_annos.mat", folder / "devkit" / "cars_meta.mat"
    images = sorted((e.name, e.stat().st_size) for e in (folder / "cars_train").iterdir())
    files = [(a.name, a.stat().st_size) for a in (annos, meta)] + images
    decoded = decode_classes("cars", partial(_listing, folder, annos, meta), preprocess=preprocess,
                             source=folder, files=files, cache_dir=cache_dir)  # fmt: skip
    splits, rule = choose_split(
        "cars", decoded, split_file=split_file, keys=_keys, carried="", formats=FORMATS,
        source=folder, rule=(RULE, parity_split),
    )  # fmt: skip
    return image_episodes("cars", decoded, splits, preprocess=preprocess,
                          facts={"source": str(folder), "split": rule})  # fmt: skip


def _find(root: Path) -> Path:
    for folder in (root, root / "stanford_cars", root / "stanford-cars"):
        if (folder / "cars_train").is_dir() and (folder / "devkit").is_dir():
            return folder
    raise DataError(
        f"{root} is not a Stanford Cars folder: expected {EXPECTED} there. Pass --data-root "
        "pointing at the folder that contains cars_train/ and devkit/."
    )


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
