"""The plugin: hook implementations only, found through the ``metaticket`` entry point.

Each hook hands over factories; ``mt`` calls one when a run asks for its name. Descriptions
default to the first line of the factory's docstring.
"""

from __future__ import annotations

from typing import Any

from metaticket_core import TICKET_OPTIONS, hookimpl

from .backbone import build_tiny_conv
from .imagefolder import load as load_image_folder
from .metasgd import metasgd, metaticket_metasgd
from .summary import SummaryLogger


@hookimpl
def register_methods(register: Any) -> None:
    register("metasgd", metasgd)
    register("metaticket+metasgd", metaticket_metasgd, options={"p_init": TICKET_OPTIONS["p_init"]})


@hookimpl
def register_models(register: Any) -> None:
    register("tiny-conv", build_tiny_conv, options={"channels": "channels of both conv layers"})


@hookimpl
def register_datasets(register: Any) -> None:
    register(
        "image-folder",
        load_image_folder,
        description="Your own images: <root>/<class>/<image> with a split file",
        formats=[
            '<root>/<class>/<image> + <root>/split.json {"train": [...], "val": [...], '
            '"test": [...]}'
        ],
        split="the split file (split_file=PATH, default <root>/split.json)",
        options={
            "split_file": "the split file (default <root>/split.json)",
            "size": "image side in pixels",
            "channels": "1 (gray) or 3 (RGB)",
        },
    )


@hookimpl
def register_loggers(register: Any) -> None:
    register("summary", SummaryLogger)
