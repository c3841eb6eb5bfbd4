"""Standard class-split files, read from a path the user gives (never shipped with the project).

Omniglot (Vinyals split) comes in two formats: prototypical networks' ``train.txt`` /
``val.txt`` / ``test.txt`` with one ``<Alphabet>/<characterNN>/rot000`` per line, and torchmeta's
``train.json`` / ... holding ``{"background" | "evaluation": {alphabet: [characterNN, ...]}}``.
Rotation suffixes name rotated copies of a character; a character is assigned to one split as a
whole (whether rotations are used is the dataset's ``rotations`` option).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from metaticket_core.errors import DataError
from metaticket_core.tasks import SPLITS, Split

EXPECTED = (
    "train.txt, val.txt and test.txt (one <Alphabet>/<characterNN>/rot000 per line) or "
    "train.json, val.json and test.json (torchmeta)"
)


def read_omniglot_split(path: Path, names: list[str]) -> dict[Split, np.ndarray]:
    """Indices into ``names`` (``Alphabet/characterNN``) of each split's characters.

    ``path`` is the folder holding the three files or any one of them."""
    path = Path(path).expanduser()
    folder, suffixes = (path, (".txt", ".json")) if path.is_dir() else (path.parent, (path.suffix,))
    for suffix in suffixes:
        files = {s: folder / f"{s}{suffix}" for s in SPLITS}
        if all(f.is_file() for f in files.values()):
            break
    else:
        raise DataError(f"No Omniglot split files at {path}: expected {EXPECTED} there.")
    index = {name: i for i, name in enumerate(names)}
    owner: dict[str, Split] = {}
    splits: dict[Split, np.ndarray] = {}
    for split, file in files.items():
        chosen: dict[int, None] = {}  # ordered set: rotations repeat a character
        for where, name in _entries(file):
            if name not in index:
                raise DataError(
                    f"{where}: character {name!r} is not in the Omniglot data; is this split "
                    "file for Omniglot, and does --data-root hold both image sets?"
                )
            if owner.setdefault(name, split) != split:
                raise DataError(
                    f"{where}: character {name!r} is in both the {owner[name]} and the {split} "
                    "split; a character (and its rotations) must belong to one split."
                )
            chosen[index[name]] = None
        splits[split] = np.fromiter(chosen, np.int64, len(chosen))
    return splits


def _entries(file: Path) -> Iterable[tuple[str, str]]:
    """(location for messages, ``Alphabet/characterNN``) for each entry of a split file."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read split file {file}: {exc}") from exc
    if file.suffix == ".json":
        try:
            data = json.loads(text)
            for alphabets in data.values():
                for alphabet, characters in alphabets.items():
                    for character in characters:
                        yield str(file), f"{alphabet}/{character}"
        except (ValueError, AttributeError, TypeError) as exc:
            raise DataError(
                f"{file} is not a torchmeta Omniglot split: expected "
                '{"background"|"evaluation": {alphabet: [characterNN, ...]}} '
                f"({type(exc).__name__}: {exc})"
            ) from exc
        return
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.strip().split("/")
        if parts == [""]:
            continue
        if len(parts) not in (2, 3):
            raise DataError(
                f"{file}:{number}: expected <Alphabet>/<characterNN>/rot000, got {line.strip()!r}"
            )
        yield f"{file}:{number}", f"{parts[0]}/{parts[1]}"
