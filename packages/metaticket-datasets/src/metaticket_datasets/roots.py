"""The data root a dataset is given: required by the datasets that read files, refused by the
generated ones."""

from __future__ import annotations

from pathlib import Path

from metaticket_core import DataError


def require_root(name: str, root: Path | None, expected: str) -> Path:
    """The data root of a file-based dataset; it must be given and must exist."""
    if root is None:
        raise DataError(
            f"Dataset {name!r} reads files: --data-root is required (the folder that contains "
            f"{expected}). Runs download nothing: see mt data download."
        )
    if not root.is_dir():
        raise DataError(
            f"Data root {root} does not exist or is not a folder; pass --data-root pointing at "
            f"the folder that contains {expected}."
        )
    return root


def no_root(name: str, root: Path | None) -> None:
    """Generated datasets read nothing; a data root there is almost surely a wrong --dataset."""
    if root is not None:
        raise DataError(
            f"Dataset {name!r} is generated and reads no files, but --data-root {root} was given: "
            "drop --data-root, or choose a file-based dataset such as omniglot or tiny-imagenet."
        )
