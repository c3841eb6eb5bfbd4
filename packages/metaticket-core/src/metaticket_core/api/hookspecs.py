"""The hooks a metaticket plugin can implement. Each hands the plugin a callback to register with."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("metaticket")
hookimpl = pluggy.HookimplMarker("metaticket")


@hookspec
def register_datasets(register: Any) -> None:
    """Register few-shot datasets: ``register(name, factory, description=..., formats=...)``."""


@hookspec
def register_models(register: Any) -> None:
    """Register backbones: ``register(name, builder, description=...)``."""


@hookspec
def register_methods(register: Any) -> None:
    """Register meta-learners: ``register(name, factory, description=...)``."""


@hookspec
def register_loggers(register: Any) -> None:
    """Register metric loggers (``mt train --log NAME``): ``register(name, factory, ...)``."""


@hookspec
def register_commands(app: Any) -> None:
    """Add commands to the ``mt`` Typer app: ``@app.command()``."""
