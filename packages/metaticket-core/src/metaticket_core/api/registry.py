"""Name -> factory registries for datasets, models, methods and loggers, filled by the plugins'
hooks.

Each registry is built once per set of plugins: the plugin manager keeps it until a plugin is
registered or unregistered (as tests do), so every lookup after that sees the new set.

Options (``method_options``, ``model_options``, ``dataset_options``) follow one contract: the
factory's keyword-only parameters, with their defaults, and the help given once at
registration (``options={name: help}``); a factory taking ``**kwargs`` must name its options
there. The registry holds them, so that core checks a config's options before any data is read
and ``mt list <kind> --verbose`` lists them.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import factory_options
from .errors import ConfigError, MetaticketError, PluginError, UnknownNameError
from .plugin_manager import PluginManager, plugin_manager

NO_DEFAULT = inspect.Parameter.empty  # an option without a default: required, or unknown


@dataclass(frozen=True)
class Option:
    """One option of a factory: its default (``NO_DEFAULT``: none, or known only to a factory
    taking ``**kwargs``), its help, and whether a config must give it (a keyword parameter
    without a default)."""

    default: Any = NO_DEFAULT
    help: str = ""
    required: bool = False

    def describe(self, name: str) -> str:
        if self.required:
            default = " (required)"
        else:
            default = "" if self.default is NO_DEFAULT else f" (default {self.default!r})"
        return f"{name}{default}{': ' + self.help if self.help else ''}"


@dataclass(frozen=True)
class Entry:
    """One registered thing: its name, the factory that builds it and the plugin it came from."""

    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Option] = field(default_factory=dict)


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
        options = _options(self.kind, f"{self.kind} {name!r} of plugin {plugin!r}", factory, info)
        if isinstance(info.get("options"), Mapping):  # shown from ``options`` instead
            info = {k: v for k, v in info.items() if k != "options"}
        self._entries[name] = Entry(name, factory, plugin, description, info, options)

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


# positional arguments the toolkit passes each kind's factory, before any option
FIXED = {"method": 2, "model": 2, "dataset": 1}


def _options(
    kind: str, what: str, factory: Callable[..., Any], info: dict[str, Any]
) -> dict[str, Option]:
    """The options of ``factory`` (config.factory_options) and, for one taking ``**kwargs``,
    those ``info["options"]`` names (a dict of help by name; a string describes them all, as
    earlier releases took it). Loggers take none."""
    if kind not in FIXED:
        return {}
    takes = factory_options(factory, FIXED[kind])
    declared = info.get("options")
    helps: Mapping[str, str] = declared if isinstance(declared, Mapping) else {}
    if takes is None and not isinstance(declared, Mapping):
        raise PluginError(
            f"The factory of {what} takes **kwargs, so it must name its options: "
            f"register(..., options={{'name': 'help', ...}}) (or {{}} for none)."
        )
    unknown = [n for n in helps if takes is not None and n not in takes]
    if unknown:
        raise PluginError(
            f"{what.capitalize()} declares option {unknown[0]!r}, but its factory takes no "
            f"such keyword (it takes: {', '.join(takes or {}) or 'none'})."
        )
    takes = takes or {}
    general = declared if isinstance(declared, str) and len(takes) == 1 else ""
    return {
        n: Option(takes.get(n, NO_DEFAULT), helps.get(n, general), takes.get(n) is NO_DEFAULT)
        for n in dict.fromkeys([*takes, *helps])
    }


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


def check_loggers(names: list[str]) -> None:
    """Every name is registered and whatever package it ``requires`` is installed."""
    registry = loggers()
    for name in names:
        info: dict[str, Any] = registry.get(name).info
        required = info.get("requires")
        if required and importlib.util.find_spec(required) is None:
            raise ConfigError(
                f"--log {name} needs the {required!r} package, which is not installed: "
                f"{info.get('install', f'pip install {required}')}"
            )
