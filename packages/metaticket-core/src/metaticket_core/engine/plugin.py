"""Core's own plugin: the built-in commands and loggers, registered through the same hooks as any
plugin's."""

from __future__ import annotations

from typing import Any

from .commands import (
    config,
    evaluate,
    listing,
    plot,
    predict,
    reproduce,
    runs,
    sweep,
    tickets,
    train,
)
from .hookspecs import hookimpl
from .loggers import CsvLogger, JsonlLogger, tensorboard


@hookimpl
def register_commands(app: Any) -> None:
    listing.register(app)
    config.register(app)
    train.register(app)
    evaluate.register(app)
    tickets.register(app)
    runs.register(app)
    plot.register(app)
    predict.register(app)
    sweep.register(app)
    reproduce.register(app)


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
