"""``tiny-conv``: two conv blocks and a linear head, small enough for CPU experiments.

A backbone tells the meta-learners what each parameter is through ``parameter_tags`` (core's
``metaticket_core.TAGS``): Meta-ticket masks the "prunable" ones, BOIL-style methods
find the "head", and so on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from metaticket_core import Backbone, ConfigError

BATCHNORM_MODES = ("batch", "running")


class TinyConv(Backbone):
    """[Conv3x3 -> BatchNorm -> ReLU -> MaxPool2] x 2 -> Linear head."""

    def __init__(self, in_shape: tuple[int, int, int], out_features: int, channels: int, bn: str):
        super().__init__()
        c, h, w = in_shape
        # "batch": batch statistics only, no running buffers (the paper's setting)
        track = bn == "running"
        self.body = nn.Sequential(
            nn.Conv2d(c, channels, 3, padding=1),
            nn.BatchNorm2d(channels, track_running_stats=track),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels, track_running_stats=track),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Linear(channels * (h // 4) * (w // 4), out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def parameter_tags(self) -> dict[str, frozenset[str]]:
        tags = {
            "body.0.weight": {"prunable", "input"},
            "body.0.bias": {"bias", "input"},
            "body.1.weight": {"norm"},
            "body.1.bias": {"norm"},
            "body.4.weight": {"prunable"},
            "body.4.bias": {"bias"},
            "body.5.weight": {"norm"},
            "body.5.bias": {"norm"},
            "head.weight": {"head"},
            "head.bias": {"head", "bias"},
        }
        return {name: frozenset(t) for name, t in tags.items()}


def build_tiny_conv(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch", *, channels: int = 16
) -> TinyConv:
    """Two 3x3 conv blocks (BatchNorm, ReLU, max-pool) and a linear head; option channels=16.
    An option it does not take is refused by ``mt`` before this is called."""
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise ConfigError(f"Model 'tiny-conv': channels must be an int >= 1, got {channels!r}.")
    if batchnorm not in BATCHNORM_MODES:
        raise ConfigError(
            f"Model 'tiny-conv': batchnorm must be 'batch' or 'running', got {batchnorm!r}."
        )
    shape = tuple(input_shape)
    if len(shape) != 3 or min(shape[1:]) < 4:
        raise ConfigError(
            f"Model 'tiny-conv' needs images (channels, height, width) of at least 4x4 pixels, "
            f"got input shape {shape}."
        )
    return TinyConv(shape, out_features, channels, batchnorm)  # type: ignore[arg-type]
