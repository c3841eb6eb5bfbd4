"""The models plugin: registers the built-in backbones.

Each builder is called as ``builder(out_features, input_shape, batchnorm="batch"|"running",
*, <options>)`` and returns a ``Backbone`` that tags its own parameters; its options are its
keyword-only parameters, with their defaults, and their help is given here.
"""

from __future__ import annotations

from typing import Any

from metaticket_core import hookimpl

from .conv import build_conv4
from .mlp import build_mlp, build_mlp5, build_sine_mlp
from .resnet import build_resnet12
from .wrn import build_wrn28_10, build_wrn28_k

MODELS = (
    ("mlp", build_mlp, {"width": "width factor r of the hidden layers, an int >= 1"}),
    ("mlp5", build_mlp5, {}),
    ("conv4", build_conv4, {"channels": "channels of every conv layer, an int >= 1"}),
    ("resnet12", build_resnet12, {}),
    ("wrn28-10", build_wrn28_10, {}),
    ("wrn28-k", build_wrn28_k, {"k": "widening factor, an int >= 1: channels 16k-32k-64k"}),
    ("sine-mlp", build_sine_mlp, {}),
)


@hookimpl
def register_models(register: Any) -> None:
    for name, builder, options in MODELS:
        register(name, builder, options=options)
