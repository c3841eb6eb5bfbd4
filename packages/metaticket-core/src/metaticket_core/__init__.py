"""metaticket core: plugin machinery, registries, configuration and the ``mt`` CLI."""

from importlib.metadata import PackageNotFoundError, version

from .config import RunConfig, load_config
from .errors import ConfigError, DataError, MetaticketError, PluginError, UnknownNameError
from .hookspecs import hookimpl
from .registry import (
    Entry,
    Registry,
    datasets,
    list_datasets,
    list_loggers,
    list_methods,
    list_models,
    methods,
    models,
)

try:
    __version__ = version("metaticket-core")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "DataError",
    "Entry",
    "MetaticketError",
    "PluginError",
    "Registry",
    "RunConfig",
    "UnknownNameError",
    "__version__",
    "datasets",
    "hookimpl",
    "list_datasets",
    "list_loggers",
    "list_methods",
    "list_models",
    "load_config",
    "methods",
    "models",
]
