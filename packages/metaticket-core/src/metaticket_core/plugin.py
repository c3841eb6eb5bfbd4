"""Core's own plugin: the built-in commands, registered through the same hook as any plugin's."""

from __future__ import annotations

from typing import Any

from .commands import config, evaluate, listing, plot, predict, runs, sweep, tickets, train
from .hookspecs import hookimpl


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
