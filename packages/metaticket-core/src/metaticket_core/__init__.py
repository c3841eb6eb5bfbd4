"""metaticket core: the plugin API (``api``), the engine that runs a config (``engine``) and the
``mt`` CLI (``app``), in one-way layers: a lower one never imports a higher one.

What plugins build on is exported here, in ``__all__``, and imported on first use, so that
``import metaticket_core`` stays cheap. Old module paths (``metaticket_core.tasks``, ...) keep
working with a DeprecationWarning (moved.py).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import moved

try:
    __version__ = version("metaticket-core")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

moved.install()

# exported name -> the module (below metaticket_core) that defines it
EXPORTS = {
    **dict.fromkeys(("Backbone", "TAGS", "attribute_key"), "api.backbone"),
    **dict.fromkeys(("RunConfig", "check_options", "factory_options", "load_config"), "api.config"),
    "warn": "api.console",
    **dict.fromkeys(
        (
            "ConfigError",
            "DataError",
            "MetaticketError",
            "PluginError",
            "UnknownNameError",
            "did_you_mean",
        ),
        "api.errors",
    ),
    **dict.fromkeys(("atomic_path", "check_output", "write_text"), "api.files"),
    **dict.fromkeys(
        (
            "FunctionalLearner",
            "Params",
            "detached",
            "effective",
            "metric",
            "metric_name",
            "task_loss",
        ),
        "api.functional",
    ),
    "hookimpl": "api.hookspecs",
    **dict.fromkeys(("InnerDefaults", "MetaLearner", "OuterDefaults"), "api.learner"),
    "autocast": "api.precision",
    **dict.fromkeys(
        (
            "Entry",
            "Registry",
            "datasets",
            "list_datasets",
            "list_loggers",
            "list_methods",
            "list_models",
            "methods",
            "models",
        ),
        "api.registry",
    ),
    **dict.fromkeys(
        (
            "SPLITS",
            "EpisodeShape",
            "FewShotDataset",
            "Split",
            "Task",
            "class_labels",
            "default_cache_dir",
        ),
        "api.tasks",
    ),
    **dict.fromkeys(("IteRand", "TICKET_OPTIONS", "Ticket"), "api.ticket"),
    "Logger": "engine.loggers",  # what a logger plugin subclasses; the trainer calls it
}

__all__ = sorted([*EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    """An exported name, imported from its module on first use (PEP 562)."""
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *EXPORTS})
