"""The methods plugin: registers the built-in meta-learners."""

from __future__ import annotations

from typing import Any

from metaticket_core import TICKET_OPTIONS, factory_options, hookimpl

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
    MetaLearner; its keyword-only parameters are its options."""
    for name, factory in METHODS.items():
        description = factory.__doc__.splitlines()[0]
        options = {n: TICKET_OPTIONS[n] for n in factory_options(factory) or {}}
        register(name, factory, description=description, options=options)
