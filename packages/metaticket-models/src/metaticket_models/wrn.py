"""WideResNet-28-k, laid out as in learn2learn's WRN28 (the network the paper used):
pre-activation blocks, convs with bias, the stride on each block's second conv, a 1x1 conv
shortcut where the shape changes, BatchNorm -> ReLU -> global average pooling, linear head.
PyTorch's default initialisation, as in the authors' copy (its ``conv_init`` is never applied)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ._common import (
    TaggedBackbone,
    batch_norm,
    check_batchnorm,
    check_int_option,
    check_out_features,
    image_shape,
)

DEPTH = 28
BLOCKS_PER_GROUP = (DEPTH - 4) // 6


class WideBlock(nn.Module):
    """BatchNorm -> ReLU -> conv3x3, twice, plus the input (through a 1x1 conv if needed)."""

    def __init__(self, in_channels: int, channels: int, stride: int, batchnorm: str):
        super().__init__()
        self.bn1 = batch_norm(batchnorm, in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.bn2 = batch_norm(batchnorm, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1)
        reshape = stride != 1 or in_channels != channels
        self.shortcut = nn.Conv2d(in_channels, channels, 1, stride=stride) if reshape else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + (x if self.shortcut is None else self.shortcut(x))


class WideResNet28(TaggedBackbone):
    def __init__(self, in_channels: int, k: int, out_features: int, batchnorm: str):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1)
        blocks, width = [], 16
        for channels, stride in ((16 * k, 1), (32 * k, 2), (64 * k, 2)):
            for i in range(BLOCKS_PER_GROUP):
                blocks.append(WideBlock(width, channels, stride if i == 0 else 1, batchnorm))
                width = channels
        self.blocks = nn.Sequential(*blocks)
        self.norm = batch_norm(batchnorm, width)
        self.head = nn.Linear(width, out_features)

    def input_layers(self) -> tuple[nn.Module, ...]:
        return (self.stem,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm(self.blocks(self.stem(x))))
        return self.head(out.mean(dim=(2, 3)))


def build_wrn28_k(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch", *, k: int
) -> WideResNet28:
    """WideResNet-28 with widening factor k (option k, required: no width is standard)."""
    k = check_int_option("wrn28-k", "k", k)
    return _wrn("wrn28-k", out_features, input_shape, batchnorm, k)


def build_wrn28_10(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch"
) -> WideResNet28:
    """WideResNet-28-10 (learn2learn's WRN28, the paper's 36.5M-parameter network)."""
    return _wrn("wrn28-10", out_features, input_shape, batchnorm, 10)


def _wrn(
    name: str, out_features: int, input_shape: Sequence[int], batchnorm: str, k: int
) -> WideResNet28:
    channels = image_shape(name, input_shape)[0]
    out = check_out_features(name, out_features)
    return WideResNet28(channels, k, out, check_batchnorm(name, batchnorm))
