"""The models plugin: registers the built-in backbones.

Each builder is called as ``builder(out_features, input_shape, batchnorm="batch"|"running",
**model_options)`` and returns a ``Backbone`` that tags its own parameters.
"""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl

from .conv import CONV4_OPTIONS, build_conv4
from .mlp import MLP_OPTIONS, build_mlp, build_mlp5, build_sine_mlp
from .resnet import build_resnet12
from .wrn import WRN_OPTIONS, build_wrn28_10, build_wrn28_k

MODELS = (
    ("mlp", build_mlp, MLP_OPTIONS),
    ("mlp5", build_mlp5, {}),
    ("conv4", build_conv4, CONV4_OPTIONS),
    ("resnet12", build_resnet12, {}),
    ("wrn28-10", build_wrn28_10, {}),
    ("wrn28-k", build_wrn28_k, WRN_OPTIONS),
    ("sine-mlp", build_sine_mlp, {}),
)


@hookimpl
def register_models(register: Any) -> None:
    for name, builder, options in MODELS:
        description = builder.__doc__.strip().splitlines()[0]
        helps = {n: option.summary() for n, option in options.items()}
        register(name, builder, description=description, options=helps)
