"""Helpers for tests, ours and plugin authors': register inline plugins without touching the
plugins installed in the environment.

    class MyPlugin:
        @hookimpl
        def register_models(self, register):
            register("tiny", build_tiny)

    with isolated_plugins(), registered_plugin(MyPlugin(), "mine"):
        assert list_models() == ["tiny"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .plugins import (
    PluginManager,
    check_hooks,
    create_plugin_manager,
    plugin_manager,
    register,
    set_plugin_manager,
)


@contextmanager
def isolated_plugins(*, load_entry_points: bool = False) -> Iterator[PluginManager]:
    """Use a fresh plugin manager (core only, unless ``load_entry_points``) inside the block."""
    pm = create_plugin_manager(load_entry_points=load_entry_points)
    previous = set_plugin_manager(pm)
    try:
        yield pm
    finally:
        set_plugin_manager(previous)


@contextmanager
def registered_plugin(plugin: object, name: str | None = None) -> Iterator[object]:
    """Register ``plugin`` on the current manager for the block, then unregister it."""
    pm = plugin_manager()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    register(pm, plugin, name)
    try:
        check_hooks(pm)
        yield plugin
    finally:
        pm.unregister(name=name)
