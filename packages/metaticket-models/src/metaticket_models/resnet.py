"""ResNet-12 as in Lee et al. (MetaOptNet), with the 64-128-256-512 widths of the BOIL paper
that Meta-ticket follows; global average pooling feeds the linear head. Initialised as the
BOIL code that the authors use: convs Kaiming-normal with fan_out (gain sqrt 2), BatchNorm 1
and 0, the head PyTorch's default."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from ._common import (
    TaggedBackbone,
    batch_norm,
    check_batchnorm,
    check_out_features,
    image_shape,
)

WIDTHS = (64, 128, 256, 512)


class ResidualBlock(nn.Module):
    """Three conv3x3 -> BatchNorm (LeakyReLU 0.1 between), plus a conv1x1 -> BatchNorm shortcut;
    LeakyReLU after the sum, then max-pool 2. Convs have no bias: BatchNorm follows each."""

    def __init__(self, in_channels: int, channels: int, batchnorm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.bn1 = batch_norm(batchnorm, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = batch_norm(batchnorm, channels)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn3 = batch_norm(batchnorm, channels)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False), batch_norm(batchnorm, channels)
        )
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.pool(self.act(out + self.shortcut(x)))


class ResNet12(TaggedBackbone):
    def __init__(self, in_channels: int, out_features: int, batchnorm: str):
        super().__init__()
        widths = (in_channels, *WIDTHS)
        self.body = nn.Sequential(
            *(ResidualBlock(a, b, batchnorm) for a, b in itertools.pairwise(widths)),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(WIDTHS[-1], out_features)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")

    def input_layers(self) -> tuple[nn.Module, ...]:
        # Both the first conv and the first shortcut conv read the raw input.
        first = self.body[0]
        return (first.conv1, first.shortcut[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_resnet12(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch"
) -> ResNet12:
    """ResNet-12 (64-128-256-512, LeakyReLU 0.1), global average pooling, linear head."""
    channels = image_shape("resnet12", input_shape, min_size=2 ** len(WIDTHS))[0]
    out = check_out_features("resnet12", out_features)
    return ResNet12(channels, out, check_batchnorm("resnet12", batchnorm))
