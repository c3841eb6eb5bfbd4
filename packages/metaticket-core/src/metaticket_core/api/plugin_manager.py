"""The plugin manager: built-ins and third-party plugins load the same way, from entry points.

Plugins are the modules named in the ``metaticket`` entry-point group. ``MT_DISABLE_PLUGINS=a,b``
blocks plugins by name. A plugin that fails to import is recorded (``failures``) and reported by
the CLI without breaking the others; a plugin that implements a misspelt hook fails loudly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, did_you_mean

ENTRY_POINT_GROUP = "metaticket"
CORE_PLUGIN = "core"


@dataclass(frozen=True)
class PluginInfo:
    """What ``mt list plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...] = ()
    error: str | None = None


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering where each plugin came from and which ones failed, and
    keeping the registries built from its plugins' hooks until a plugin comes or goes."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.sources: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self.failures: dict[str, PluginInfo] = {}
        self.registries: dict[str, Any] = {}  # kind -> Registry (registry.py)

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        self.registries.clear()
        return super().register(plugin, name)

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        self.registries.clear()  # blocking a plugin unregisters it too
        return super().unregister(plugin, name)

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin and every failed one, by name."""
        infos = [
            PluginInfo(
                name,
                *self.sources.get(name, ("-", "-")),
                hooks=tuple(sorted(c.name for c in self.get_hookcallers(plugin) or ())),
            )
            for name, plugin in self.list_name_plugin()
            if plugin is not None
        ]
        return sorted([*infos, *self.failures.values()], key=lambda p: p.name)


def disabled_plugins() -> set[str]:
    """Names listed in ``MT_DISABLE_PLUGINS`` (comma separated)."""
    return {n.strip() for n in os.environ.get("MT_DISABLE_PLUGINS", "").split(",") if n.strip()}


def create_plugin_manager(*, load_entry_points: bool = True) -> PluginManager:
    """A manager with core's own plugin and, unless told not to, every installed plugin."""
    pm = PluginManager()
    for name in disabled_plugins() - {CORE_PLUGIN}:
        pm.set_blocked(name)
    pm.register(_core_plugin(), name=CORE_PLUGIN)
    pm.sources[CORE_PLUGIN] = _distribution_of("metaticket-core")
    if load_entry_points:
        _load_entry_points(pm)
    check_hooks(pm)
    return pm


def _core_plugin() -> Any:
    """Core's own plugin (the built-in loggers), loaded from metaticket-core's ``core`` entry
    point: this layer finds it as it finds every plugin, without importing the engine."""
    try:
        entry_points = metadata.distribution("metaticket-core").entry_points
    except metadata.PackageNotFoundError:
        entry_points = metadata.EntryPoints(())
    found = entry_points.select(group=ENTRY_POINT_GROUP, name=CORE_PLUGIN)
    if not found:
        raise PluginError(
            f"metaticket-core declares no {ENTRY_POINT_GROUP!r} entry point {CORE_PLUGIN!r}: "
            "install it (pip install -e packages/metaticket-core)."
        )
    return next(iter(found)).load()


def _load_entry_points(pm: PluginManager) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        dist = (ep.dist.name, ep.dist.version) if ep.dist else ("-", "-")
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            pm.failures[ep.name] = PluginInfo(
                ep.name, *dist, error=f"failed to import {ep.value}: {type(exc).__name__}: {exc}"
            )
            continue
        register(pm, module, ep.name)
        pm.sources[ep.name] = dist


def register(pm: PluginManager, plugin: object, name: str) -> None:
    """Register one plugin, turning pluggy's validation errors into a one-line PluginError."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"Plugin {name!r} is invalid: {exc}") from None
    except ValueError as exc:  # pluggy: name already registered
        raise PluginError(f"Plugin {name!r} cannot be registered: {exc}") from None


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Fail when a plugin implements a hook that does not exist (usually a typo)."""
    known = [name for name in dir(hookspecs) if name.startswith("register_")]
    for hook_name in dir(pm.hook):
        caller = getattr(pm.hook, hook_name)
        if hook_name.startswith("_") or not isinstance(caller, pluggy.HookCaller):
            continue
        if caller.spec is None:
            impls = caller.get_hookimpls()
            if not impls:
                continue
            hint = did_you_mean(hook_name, known) or f" Known hooks: {', '.join(known)}."
            raise PluginError(
                f"Plugin {impls[0].plugin_name!r} implements unknown hook {hook_name!r}.{hint}"
            )
    pm.check_pending()


def _distribution_of(name: str) -> tuple[str, str]:
    try:
        return name, metadata.version(name)
    except metadata.PackageNotFoundError:
        return name, "-"


_manager: PluginManager | None = None


def plugin_manager() -> PluginManager:
    """The process-wide manager, created (and plugins loaded) on first use."""
    global _manager
    if _manager is None:
        _manager = create_plugin_manager()
    return _manager


def set_plugin_manager(pm: PluginManager | None) -> PluginManager | None:
    """Swap the process-wide manager (tests); returns the previous one. ``None`` reloads lazily."""
    global _manager
    previous, _manager = _manager, pm
    return previous
