"""The methods plugin: registers the built-in meta-learners."""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl


@hookimpl
def register_methods(register: Any) -> None:
    """Built-in methods are added here as their meta-learners land."""
