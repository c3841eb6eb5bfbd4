"""The datasets plugin: registers the built-in few-shot datasets (specs.py) and the ``mt preview``
and ``mt data`` commands.

Loaders are imported only when a dataset is built, so ``mt`` starts without numpy, Pillow or torch.
"""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl

from .specs import SPECS


@hookimpl
def register_datasets(register: Any) -> None:
    for spec in SPECS.values():
        spec.register(register)


@hookimpl
def register_commands(app: Any) -> None:
    from .cli import register

    register(app)
