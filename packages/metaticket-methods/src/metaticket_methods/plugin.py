"""The methods plugin: registers the built-in meta-learners."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from metaticket_core import hookimpl
from metaticket_core.config import factory_options
from metaticket_core.ticket import TICKET_OPTIONS

from .maml import anil, boil, maml
from .metaticket import (
    metaticket,
    metaticket_boil,
    metaticket_boil_iterand,
    metaticket_iterand,
    metaticket_reg,
    metaticket_reg_naive,
)

METHODS = {
    "maml": maml,
    "anil": anil,
    "boil": boil,
    "metaticket": metaticket,
    "metaticket+boil": metaticket_boil,
    "metaticket+iterand": metaticket_iterand,
    "metaticket+boil+iterand": metaticket_boil_iterand,
    "metaticket-reg": metaticket_reg,
    "metaticket-reg-naive": metaticket_reg_naive,
}


@hookimpl
def register_methods(register: Any) -> None:
    """Each factory is called as ``factory(backbone, config, **method_options)`` and returns a
    MetaLearner."""
    for name, factory in METHODS.items():
        description = factory.__doc__.splitlines()[0]
        register(name, factory, description=description, options=describe_options(factory))


def describe_options(factory: Callable[..., Any]) -> str:
    """The method options ``factory`` takes, with their defaults (``mt list methods -v``)."""
    options = factory_options(factory) or {}
    return (
        "; ".join(f"{n} (default {json.dumps(d)}): {TICKET_OPTIONS[n]}" for n, d in options.items())
        or "none"
    )
