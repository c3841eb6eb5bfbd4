"""MATLAB files of the Cars devkit and Oxford Flowers (MATLAB 5 format, read with scipy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metaticket_core import DataError


def read_mat(path: Path, key: str) -> Any:
    """Variable ``key`` of ``path``, structs as dicts and cell arrays as lists or arrays."""
    from scipy.io import loadmat

    try:
        data = loadmat(path, simplify_cells=True)
    except (OSError, ValueError, NotImplementedError, TypeError) as exc:
        raise DataError(f"Cannot read MATLAB file {path}: {exc}") from exc
    if key not in data:
        found = ", ".join(k for k in data if not k.startswith("__"))
        raise DataError(f"{path} has no variable {key!r} (found {found}); is it the right file?")
    return data[key]
