"""Name -> factory registries for datasets, models, methods and loggers, filled by the plugins'
hooks.

Each registry is built once per set of plugins: the plugin manager keeps it until a plugin is
registered or unregistered (as tests do), so every lookup after that sees the new set.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import MetaticketError, PluginError, UnknownNameError
from .plugin_manager import PluginManager, plugin_manager


@dataclass(frozen=True)
class Entry:
    """One registered thing: its name, the factory that builds it and the plugin it came from."""

    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Unique names of one kind; unknown names suggest the closest one."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        plugin: str = "<direct>",
        description: str | None = None,
        **info: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"Plugin {plugin!r} registered a {self.kind} without a name.")
        if not callable(factory):
            raise PluginError(
                f"Plugin {plugin!r} registered {self.kind} {name!r} with a non-callable."
            )
        if name in self._entries:
            other = self._entries[name].plugin
            raise PluginError(
                f"Duplicate {self.kind} {name!r}: registered by plugin {other!r} and by plugin "
                f"{plugin!r}. Rename one, or disable a plugin with MT_DISABLE_PLUGINS={plugin}."
            )
        if description is None:
            description = (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else ""
        self._entries[name] = Entry(name, factory, plugin, description, info)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None

    def names(self, pattern: str = "*") -> list[str]:
        return [e.name for e in self.entries(pattern)]

    def entries(self, pattern: str = "*") -> list[Entry]:
        return [e for n, e in sorted(self._entries.items()) if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


HOOKS = {
    "dataset": "register_datasets",
    "model": "register_models",
    "method": "register_methods",
    "logger": "register_loggers",
}


def _registry(kind: str) -> Registry:
    """The registry of ``kind`` for the current plugins, built on first use."""
    pm = plugin_manager()
    if kind not in pm.registries:
        pm.registries[kind] = build_registry(pm, kind)
    return pm.registries[kind]


def build_registry(pm: PluginManager, kind: str) -> Registry:
    """Ask every plugin's ``register_<kind>s`` hook, in registration order, to fill a registry."""
    registry = Registry(kind)
    hook = getattr(pm.hook, HOOKS[kind])
    for impl in hook.get_hookimpls():  # in registration order: core, then entry points
        register = _register_for(registry, impl.plugin_name)
        try:
            impl.function(register)
        except MetaticketError:
            raise
        except Exception as exc:
            raise PluginError(
                f"Plugin {impl.plugin_name!r} failed in {HOOKS[kind]}: {type(exc).__name__}: {exc}"
            ) from exc
    return registry


def _register_for(registry: Registry, plugin: str) -> Callable[..., None]:
    def register(name: str, factory: Callable[..., Any], **kwargs: Any) -> None:
        registry.add(name, factory, plugin=plugin, **kwargs)

    return register


def datasets() -> Registry:
    return _registry("dataset")


def models() -> Registry:
    return _registry("model")


def methods() -> Registry:
    return _registry("method")


def loggers() -> Registry:
    return _registry("logger")


def list_datasets(pattern: str = "*") -> list[str]:
    return datasets().names(pattern)


def list_models(pattern: str = "*") -> list[str]:
    return models().names(pattern)


def list_methods(pattern: str = "*") -> list[str]:
    return methods().names(pattern)


def list_loggers(pattern: str = "*") -> list[str]:
    return loggers().names(pattern)
