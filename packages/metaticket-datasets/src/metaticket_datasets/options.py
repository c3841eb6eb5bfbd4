"""Dataset factories as the registry calls them: ``factory(root, cache_dir=..., **options)``.

Options arrive from config files and ``--set``, so a misspelt one must fail with a suggestion
instead of being ignored.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metaticket_core import DataError, check_options, default_cache_dir


def dataset_factory(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Check the options of dataset ``name`` against the keyword-only parameters of the loader,
    and fill ``cache_dir`` (None -> ``default_cache_dir()``)."""

    def decorate(load: Callable[..., Any]) -> Callable[..., Any]:
        known = [
            n
            for n, p in inspect.signature(load).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]

        @functools.wraps(load)
        def factory(root: Path | str | None, *, cache_dir: Path | None = None, **options: Any):
            check_options(f"dataset {name!r}", options, known)
            root = Path(root).expanduser() if root is not None else None
            return load(root, cache_dir=Path(cache_dir or default_cache_dir()), **options)

        return factory

    return decorate


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
