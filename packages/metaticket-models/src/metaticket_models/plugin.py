"""The models plugin: registers the built-in backbones."""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl


@hookimpl
def register_models(register: Any) -> None:
    """Built-in models are added here as their backbones land."""
