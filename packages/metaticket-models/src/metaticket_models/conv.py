"""Conv-4, the standard few-shot backbone of MAML and its successors (not in the Meta-ticket
paper; PyTorch's default initialisation)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._common import (
    TaggedBackbone,
    batch_norm,
    check_batchnorm,
    check_int_option,
    check_out_features,
    image_shape,
)

BLOCKS = 4


class Conv4(TaggedBackbone):
    """4 x (conv3x3 -> BatchNorm2d -> ReLU -> max-pool 2), flatten, linear head."""

    def __init__(
        self, shape: tuple[int, int, int], channels: int, out_features: int, batchnorm: str
    ):
        super().__init__()
        blocks, width = [], shape[0]
        for _ in range(BLOCKS):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(width, channels, 3, padding=1),
                    batch_norm(batchnorm, channels),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                )
            )
            width = channels
        self.body = nn.Sequential(*blocks, nn.Flatten())
        height, wide = shape[1] >> BLOCKS, shape[2] >> BLOCKS  # each pool floors the size by 2
        self.head = nn.Linear(channels * height * wide, out_features)

    def input_layers(self) -> tuple[nn.Module, ...]:
        return (self.body[0][0],)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_conv4(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch", *, channels: int = 64
) -> Conv4:
    """4 x (conv3x3 -> BatchNorm -> ReLU -> max-pool 2) and a linear head, any image size."""
    channels = check_int_option("conv4", "channels", channels)
    shape = image_shape("conv4", input_shape, min_size=2**BLOCKS)
    out = check_out_features("conv4", out_features)
    return Conv4(shape, channels, out, check_batchnorm("conv4", batchnorm))
