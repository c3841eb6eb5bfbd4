"""Multilayer perceptrons: the paper's Omniglot MLP, its CIFAR-FS 5-MLP and the sinusoid MLP.

Initialised as the authors' code does (docs/FIDELITY.md): the image MLPs draw every Linear
weight, the head's included, Kaiming-normal (fan_in, ReLU gain) with zero biases, and their
BatchNorm uses eps 1e-3; the sinusoid MLP keeps PyTorch's defaults, as the authors' does (a
Kaiming-normal sinusoid MLP diverges under MAML, DESIGN.md section 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._common import (
    TaggedBackbone,
    batch_norm,
    check_batchnorm,
    check_input_shape,
    check_int_option,
    check_out_features,
)

BATCHNORM_EPS = 1e-3  # the authors' LinearBlock


class MLP(TaggedBackbone):
    """Flatten, then Linear -> [BatchNorm1d] -> ReLU per hidden layer, then a linear head."""

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        batchnorm: str | None,
        kaiming: bool = True,
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batchnorm is not None:
                layers.append(batch_norm(batchnorm, size, dims=1, eps=BATCHNORM_EPS))
            layers.append(nn.ReLU())
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)
        if kaiming:
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
                    nn.init.zeros_(layer.bias)

    def input_layers(self) -> tuple[nn.Module, ...]:
        return (self.body[1],)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_mlp(
    out_features: int, input_shape: Sequence[int], batchnorm: str = "batch", *, width: int = 1
) -> MLP:
    """The paper's Omniglot MLP: in -> 256r -> 128r -> 64r -> 64r -> out, BatchNorm, ReLU."""
    r = check_int_option("mlp", "width", width)
    return _mlp("mlp", out_features, input_shape, batchnorm, [256 * r, 128 * r, 64 * r, 64 * r])


def build_mlp5(out_features: int, input_shape: Sequence[int], batchnorm: str = "batch") -> MLP:
    """The paper's CIFAR-FS / VGG-Flower 5-MLP: in -> 1024 -> 512 -> 256 -> 128 -> out."""
    return _mlp("mlp5", out_features, input_shape, batchnorm, [1024, 512, 256, 128])


def build_sine_mlp(out_features: int, input_shape: Sequence[int], batchnorm: str = "batch") -> MLP:
    """Finn et al.'s sinusoid regressor: in -> 40 -> 40 -> out, ReLU, no BatchNorm."""
    check_batchnorm("sine-mlp", batchnorm)  # validated for consistency, though nothing uses it
    shape = check_input_shape("sine-mlp", input_shape)
    out = check_out_features("sine-mlp", out_features)
    return MLP(math.prod(shape), [40, 40], out, batchnorm=None, kaiming=False)


def _mlp(
    name: str, out_features: int, input_shape: Sequence[int], batchnorm: str, hidden: list[int]
) -> MLP:
    shape = check_input_shape(name, input_shape)
    out = check_out_features(name, out_features)
    return MLP(math.prod(shape), hidden, out, check_batchnorm(name, batchnorm))
