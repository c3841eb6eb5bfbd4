"""Standard class-split files, read from a path the user gives (never shipped with the project).

Omniglot (Vinyals split) comes in two formats: prototypical networks' ``train.txt`` /
``val.txt`` / ``test.txt`` with one ``<Alphabet>/<characterNN>/rot000`` per line, and torchmeta's
``train.json`` / ... holding ``{"background" | "evaluation": {alphabet: [characterNN, ...]}}``.
Rotation suffixes name rotated copies of a character; a character is assigned to one split as a
whole (whether rotations are used is the dataset's ``rotations`` option).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from metaticket_core import SPLITS, DataError, Split

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


# Class splits of the natural-image benchmarks. A split file is either one JSON file holding
# {"train": [...], "valid" | "val": [...], "test": [...]} (Meta-Dataset's, or a DERIVED one whose
# values may be {superclass: [class, ...]}), or three per-split files found side by side:
# train/val/test .txt (one class per line), .csv (Ravi's "filename,label" with a header, or
# tieredImageNet's "<class>,<category>" without one), .json (a list of names or of
# [coarse, fine] pairs); torchmeta's copies are named torchmeta_train.json or train_labels.json.
ALIASES: dict[Split, tuple[str, ...]] = {
    "train": ("train",),
    "val": ("val", "valid", "validation"),
    "test": ("test",),
}
PATTERNS = ("{}.txt", "{}.csv", "{}.json", "torchmeta_{}.json", "{}_labels.json")
SET_OPTION = "--set dataset_options.split_file=PATH"


def missing_split(dataset: str, root: Path, formats: str) -> DataError:
    """The error for a dataset folder that carries no class split."""
    return DataError(
        f"{dataset}: {root} carries no class split, so a split file is needed: pass "
        f"{SET_OPTION} (the file, or the folder holding it) with {formats}."
    )


def read_class_split(path: Path | str, dataset: str) -> tuple[dict[Split, list[str]], str]:
    """Class names (or ids, as text) of each split, and the file(s) they came from."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".json":
        data = _read_json(path)
        if isinstance(data, dict):
            return {s: _names(path, _pick(data, s, path)) for s in SPLITS}, str(path)
    files = _split_files(path, dataset)
    return {s: _names(f, _read_entries(f)) for s, f in files.items()}, str(files["train"].parent)


def assign(
    entries: dict[Split, list[str]],
    keys: dict[str, list[int]],
    *,
    dataset: str,
    where: str,
    normalize: Callable[[str], str] = str,
) -> dict[Split, np.ndarray]:
    """Class indices of each split; ``keys`` maps a (``normalize``d) split-file entry to its class
    indices (a superclass names several). Unknown entries and classes in two splits are errors."""
    owner: dict[int, Split] = {}
    splits: dict[Split, np.ndarray] = {}
    for split in SPLITS:
        chosen: dict[int, None] = {}
        for entry in entries[split]:
            key = normalize(entry)
            if key not in keys:
                raise DataError(
                    f"Split file {where} names {entry!r} ({split}), which is not a class of the "
                    f"{dataset} data found; is the split file for {dataset}, and is the data "
                    "complete?"
                )
            for index in keys[key]:
                if owner.setdefault(index, split) != split:
                    raise DataError(
                        f"Split file {where}: {entry!r} is in both the {owner[index]} and the "
                        f"{split} split."
                    )
                chosen[index] = None
        if not chosen:
            raise DataError(f"Split file {where} gives the {split} split no classes.")
        splits[split] = np.fromiter(chosen, np.int64, len(chosen))
    return splits


def _split_files(path: Path, dataset: str) -> dict[Split, Path]:
    folder = path if path.is_dir() else path.parent
    patterns = PATTERNS
    if path.is_file():  # the named file's own pattern first, e.g. torchmeta_val.json
        patterns = tuple(p for p in PATTERNS if _matches(path.name, p)) or PATTERNS
    for pattern in patterns:
        files = {}
        for split, aliases in ALIASES.items():
            found = [
                folder / pattern.format(a)
                for a in aliases
                if (folder / pattern.format(a)).is_file()
            ]
            if found:
                files[split] = found[0]
        if len(files) == 3:
            return files
    raise DataError(
        f"No {dataset} split files at {path}: expected one JSON file with train/valid/test "
        "lists, or train/val/test files side by side (.txt one class per line, .csv, .json; "
        "torchmeta_train.json ... as torchmeta names them)."
    )


def _matches(name: str, pattern: str) -> bool:
    return any(name == pattern.format(a) for aliases in ALIASES.values() for a in aliases)


def _pick(data: dict, split: Split, path: Path) -> object:
    for alias in ALIASES[split]:
        if alias in data:
            return data[alias]
    raise DataError(
        f"{path} has no {split!r} list: expected keys "
        f"{' / '.join(ALIASES['train'] + ALIASES['val'] + ALIASES['test'])}, found "
        f"{', '.join(map(str, data))}."
    )


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Cannot read split file {path}: {exc}") from exc


def _read_entries(file: Path) -> object:
    if file.suffix == ".json":
        return _read_json(file)
    try:
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read split file {file}: {exc}") from exc
    lines = [line for line in lines if line]
    if file.suffix != ".csv":
        return lines
    if lines and lines[0].replace(" ", "") == "filename,label":  # Ravi: one row per image
        return list(dict.fromkeys(line.rsplit(",", 1)[-1] for line in lines[1:]))
    return [line.split(",")[0] for line in lines]  # tieredImageNet: <class>,<category>


def _names(path: Path, data: object) -> list[str]:
    """Entries as text: names, ids, [coarse, fine] pairs (fine) or {superclass: [fine]} maps."""
    if isinstance(data, dict):
        data = [name for names in data.values() for name in names]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of class names, got {type(data).__name__}.")
    names = []
    for entry in data:
        if isinstance(entry, list) and len(entry) == 2:
            entry = entry[1]
        if isinstance(entry, bool) or not isinstance(entry, str | int):
            raise DataError(f"{path}: {entry!r} is not a class name or id.")
        names.append(str(entry))
    return names
