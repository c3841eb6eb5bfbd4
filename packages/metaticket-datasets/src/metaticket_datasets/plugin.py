"""The datasets plugin: registers the built-in few-shot datasets."""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl


@hookimpl
def register_datasets(register: Any) -> None:
    """Built-in datasets are added here as their readers land."""
