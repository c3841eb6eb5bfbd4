"""Decoded datasets cached as ``.npz`` arrays, so that the second load only reads one file.

The key hashes everything the arrays depend on: the source folder, its file list (names and
sizes, so an added, removed or replaced file invalidates it), the preprocessing parameters and a
format version. Files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written cache, and are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from metaticket_core import atomic_path

FORMAT_VERSION = 1


def cache_key(**parts: Any) -> str:
    """A stable hash of JSON-serialisable parts (paths are turned into strings)."""
    text = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached_arrays(
    cache_dir: Path, name: str, key: str, build: Callable[[], dict[str, np.ndarray]]
) -> tuple[dict[str, np.ndarray], Path]:
    """The arrays stored under ``name-key.npz`` in ``cache_dir``, built (and stored) if missing.

    An unreadable cache file counts as missing and is rebuilt."""
    path = cache_dir / f"{name}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {k: stored[k] for k in stored.files}, path
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            pass
    arrays = build()
    if any(a.dtype.hasobject for a in arrays.values()):
        raise ValueError(f"cache {name}: object arrays would need pickle; store plain arrays")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return arrays, path
