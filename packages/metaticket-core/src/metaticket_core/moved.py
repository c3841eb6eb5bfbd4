"""Core's module paths from before the api/engine/app layers, kept working for plugins.

``import metaticket_core.tasks`` (or ``from metaticket_core.tasks import Task``) gives the module
that now lives at ``metaticket_core.api.tasks`` itself, not a copy, with a DeprecationWarning that
names the new path. docs/PLUGINS.md "Changes for plugin authors" lists the same moves.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

PACKAGE = "metaticket_core"

# old module (below metaticket_core) -> where it lives now; a package's submodules follow it
MOVED = {
    **{
        name: f"api.{name}"
        for name in [
            "backbone",
            "config",
            "console",
            "errors",
            "files",
            "functional",
            "hookspecs",
            "learner",
            "outer_optimizer",
            "plugin_manager",
            "precision",
            "presets",
            "registry",
            "tasks",
            "ticket",
        ]
    },
    **{
        name: f"engine.{name}"
        for name in [
            "allocator",
            "checkpoint",
            "distributed",
            "evaluation",
            "experiment",
            "interrupts",
            "locks",
            "loggers",
            "plugin",
            "prefetch",
            "progress",
            "records",
            "runs",
            "tensorboard",
            "threads",
            "trainer",
            "training_checkpoint",
        ]
    },
    **{
        name: f"app.{name}"
        for name in [
            "cli",
            "commands",
            "export",
            "inference",
            "plots",
            "reproduce",
            "sweep_jobs",
            "sweeps",
            "testing",
        ]
    },
}


def new_path(name: str) -> str | None:
    """Where the module ``name`` lives now; None when it did not move."""
    old = name.removeprefix(f"{PACKAGE}.")
    head, dot, rest = old.partition(".")
    if old == name or head not in MOVED:
        return None
    return f"{PACKAGE}.{MOVED[head]}{dot}{rest}"


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path first (before the path finder could load a second copy of a moved
    module's file under its old name) and loads it as the module at its new path."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if new_path(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = new_path(spec.name)
        warnings.warn(
            f"{spec.name} moved to {new}; import from there (or the name from {PACKAGE}).",
            DeprecationWarning,
            stacklevel=2,  # the importing line: importlib's own frames are skipped
        )
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__  # importlib sets __spec__ to the old path's next
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module at its new path is already executed: only its own spec is put back."""
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Put the finder first on ``sys.meta_path``, once."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModules())
