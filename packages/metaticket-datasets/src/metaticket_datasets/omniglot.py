"""``omniglot``'s layout reader and split rules: Omniglot, rotations as new classes.

``images_background/<Alphabet>/characterNN/*.png`` and ``images_evaluation/...`` (the two
official zips unpacked), also found under torchvision's ``omniglot-py/``. The 105x105 PNGs are
binary with white paper; they are converted to 8-bit gray, reduced to ``size`` x ``size`` with
Pillow's LANCZOS filter and inverted, so ink is 1.0 and paper 0.0.

Characters are ordered by image set (background, then evaluation), alphabet and character name.
Splits (by character; rotated copies stay in their character's split):

- ``vinyals`` (default), 1028 / 172 / 423 characters: torchmeta's split files, which the authors
  trained with, when ``<root>/vinyals-split/`` holds them (``mt data download omniglot`` puts them
  there); otherwise the last 423 characters are test, which is exactly the test set of Vinyals
  et al. as published with prototypical networks, and of the first 1200, 172 drawn by
  ``numpy.random.default_rng(0)`` are val and the rest train. ``split_file`` names other split
  files (prototypical networks' txt files or torchmeta's json files). On a partial copy the
  same fractions apply.
- ``background``: background alphabets train (964 characters); the evaluation alphabets in sorted
  order alternate val, test, val, ... (346 / 313 characters).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np

from metaticket_core import ConfigError, DataError, Split, did_you_mean

from .episodes import ImageEpisodes
from .pipeline import ClassSource, ImageReader, Layout, Listing
from .spec import DatasetSpec
from .specs import OMNIGLOT_SPLIT
from .splitfiles import read_omniglot_split

SETS = ("images_background", "images_evaluation")
SPLIT_RULES = ("vinyals", "background")
VINYALS = (1028, 172, 423)


def load(
    spec: DatasetSpec,
    root: Path | None,
    *,
    cache_dir: Path,
    split: str,
    split_file: str | Path | None,
    rotations: bool,
    size: int,
) -> ImageEpisodes:
    """The image pipeline with Omniglot's own split rules and rotations."""
    if split not in SPLIT_RULES:
        did = did_you_mean(str(split), SPLIT_RULES)
        raise ConfigError(
            f"Unknown omniglot split {split!r}.{did} Use one of: vinyals, background."
        )
    if split_file is not None and split != "vinyals":
        raise ConfigError(
            "omniglot: split_file replaces the built-in split; drop split=background."
        )
    if not isinstance(rotations, bool):
        raise ConfigError(f"omniglot: rotations must be true or false, got {rotations!r}.")
    decoded = READER.decode(spec, READER.locate(spec, root), cache_dir=cache_dir, size=size)
    folder, names = decoded.layout.folder, decoded.names
    standard = folder / OMNIGLOT_SPLIT
    if split_file is None and split == "vinyals" and standard.is_dir():
        splits = read_omniglot_split(standard, names)
        rule = f"vinyals: torchmeta's files in {standard} (the authors' split)"
    elif split_file is not None:
        splits, rule = read_omniglot_split(Path(split_file), names), f"from {split_file}"
    elif split == "vinyals":
        splits, rule = vinyals_split(len(names)), "vinyals: last 423 test, seeded 172 val"
    else:
        sets = np.array([0 if (folder / SETS[0] / n).is_dir() else 1 for n in names])
        splits, rule = background_split(names, sets), "background: evaluation alphabets val/test"
    return decoded.episodes(spec, splits, rule, rotations=4 if rotations else 1)


def find_root(root: Path) -> Path | None:
    """The folder holding both image sets: ``root``, its ``omniglot-py/`` or, when pointed at
    one image set, its parent; None when there is neither set."""
    candidates = [root, root / "omniglot-py"]
    if root.name in SETS:
        candidates.insert(0, root.parent)
    for folder in candidates:
        if all((folder / s).is_dir() for s in SETS):
            return folder
    found = [str(folder / s) for folder in candidates for s in SETS if (folder / s).is_dir()]
    if found:
        raise DataError(
            f"{root} holds only {found[0]} of Omniglot: both images_background/ and "
            "images_evaluation/ are needed (the official zips unpacked)."
        )
    return None


def _find(root: Path, split_file: Path | None) -> Layout | None:
    folder = find_root(root)
    if folder is None:
        return None
    characters = list_characters(folder)
    classes = [ClassSource(name, len(pngs), [folder / SETS[s] / name / png for png, _ in pngs])
               for name, s, pngs in characters]  # fmt: skip
    files = [(f"{name}/{png}", nbytes) for name, _, pngs in characters for png, nbytes in pngs]
    return Layout(folder, files, partial(Listing, classes))


def list_characters(folder: Path) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """(``Alphabet/characterNN``, image set index, [(png name, size in bytes)]) per character."""
    characters = []
    for s, image_set in enumerate(SETS):
        found = 0
        for alphabet in _sorted_dirs(folder / image_set):
            for character in _sorted_dirs(alphabet):
                pngs = sorted(
                    (e.name, e.stat().st_size)
                    for e in os.scandir(character)
                    if e.name.lower().endswith(".png") and e.is_file()
                )
                if not pngs:
                    raise DataError(
                        f"No PNG images in {character}: expected {SETS[s]}/<Alphabet>/"
                        "characterNN/*.png, 20 drawings per character."
                    )
                characters.append((f"{alphabet.name}/{character.name}", s, pngs))
                found += 1
        if not found:
            raise DataError(
                f"No characters in {folder / image_set}: expected {image_set}/<Alphabet>/"
                "characterNN/*.png. Was the zip unpacked one level too deep or too shallow?"
            )
    return characters


def vinyals_split(n: int) -> dict[Split, np.ndarray]:
    """Last 423/1623 of the characters test, a seeded 172/1623 val, the rest train."""
    n_test = round(n * VINYALS[2] / sum(VINYALS))
    n_val = round(n * VINYALS[1] / sum(VINYALS))
    head = np.random.default_rng(0).permutation(n - n_test)
    return {
        "train": np.sort(head[n_val:]),
        "val": np.sort(head[:n_val]),
        "test": np.arange(n - n_test, n),
    }


def background_split(names: list[str], sets: np.ndarray) -> dict[Split, np.ndarray]:
    """Background alphabets train; evaluation alphabets alternate val, test in sorted order."""
    alphabets = [name.split("/")[0] for name in names]
    evaluation = sorted({a for a, s in zip(alphabets, sets, strict=True) if s == 1})
    val = set(evaluation[0::2])
    idx = np.arange(len(names))
    return {
        "train": idx[sets == 0],
        "val": idx[[s == 1 and a in val for a, s in zip(alphabets, sets, strict=True)]],
        "test": idx[[s == 1 and a not in val for a, s in zip(alphabets, sets, strict=True)]],
    }


def _sorted_dirs(folder: Path) -> list[Path]:
    return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir())


READER = ImageReader(_find, mode="L", ink=True)
