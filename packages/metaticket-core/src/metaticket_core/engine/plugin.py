"""Core's own plugin: the built-in loggers, registered through the same hook as any plugin's.

The plugin manager finds it by its entry point (``core``), as it finds every plugin; core's
commands are added by the CLI builder (app/cli.py), which sits above this layer.
"""

from __future__ import annotations

from typing import Any

from ..api.hookspecs import hookimpl
from .loggers import CsvLogger, JsonlLogger, tensorboard


@hookimpl
def register_loggers(register: Any) -> None:
    register("jsonl", JsonlLogger)
    register("csv", CsvLogger)
    register(
        "tensorboard",
        tensorboard,
        requires="tensorboard",
        install="pip install 'metaticket-core[tensorboard]'",
    )
