"""What every backbone shares: tags derived from layer types, BatchNorm modes, value checks.

BatchNorm modes. ``"batch"`` (the paper's setting) normalises with the statistics of the batch
at hand, at test time too, and keeps no buffers at all, so a functional forward over many tasks
shares nothing between them. ``"running"`` is PyTorch's usual running statistics; those buffers
belong to the module, so every task of every meta-batch updates the same ones: in that mode
tasks share statistics by definition, which is why it is never the default.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from metaticket_core import Backbone, ConfigError, did_you_mean

BATCHNORM_MODES = ("batch", "running")


class TaggedBackbone(Backbone):
    """Derives the tags from the layer types, so a backbone only names its head and input layers.

    prunable: weights of Linear and Conv layers other than the head; head: the head's weight and
    bias; input: the parameters of the layers that read the raw input; bias: the additive biases
    of Linear and Conv layers (the head's included); norm: BatchNorm's weight and bias.
    """

    head: nn.Linear

    @abstractmethod
    def input_layers(self) -> tuple[nn.Module, ...]:
        """The layers applied to the raw input (their parameters are tagged "input")."""

    def parameter_tags(self) -> dict[str, frozenset[str]]:
        inputs = [id(layer) for layer in self.input_layers()]
        tags: dict[str, frozenset[str]] = {}
        for prefix, module in self.named_modules():
            for short, _ in module.named_parameters(recurse=False):
                found = set(_layer_tags(module, short, is_head=module is self.head))
                if id(module) in inputs:
                    found.add("input")
                tags[f"{prefix}.{short}" if prefix else short] = frozenset(found)
        return tags


def _layer_tags(module: nn.Module, name: str, is_head: bool) -> tuple[str, ...]:
    if isinstance(module, nn.Linear | nn.Conv2d):
        if name == "bias":
            return ("head", "bias") if is_head else ("bias",)
        return ("head",) if is_head else ("prunable",)
    if isinstance(module, _BatchNorm):
        return ("norm",)
    raise TypeError(f"no tagging rule for parameter {name!r} of {type(module).__name__}")


def batch_norm(mode: str, features: int, dims: int = 2, eps: float = 1e-5) -> nn.Module:
    """BatchNorm1d (dims=1) or BatchNorm2d in ``mode`` (see the module docstring)."""
    layer = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return layer(features, eps=eps, track_running_stats=mode == "running")


def check_batchnorm(model: str, mode: Any) -> str:
    if mode not in BATCHNORM_MODES:
        raise ConfigError(
            f"Model {model!r}: batchnorm must be 'batch' (batch statistics only, the paper's "
            f"setting) or 'running', got {mode!r}.{did_you_mean(str(mode), BATCHNORM_MODES)}"
        )
    return mode


def check_out_features(model: str, out_features: Any) -> int:
    if not _is_int(out_features) or out_features < 1:
        raise ConfigError(
            f"Model {model!r}: out_features must be an int >= 1, got {out_features!r}."
        )
    return out_features


def check_input_shape(model: str, input_shape: Any) -> tuple[int, ...]:
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) else ()
    if not shape or not all(_is_int(d) and d >= 1 for d in shape):
        raise ConfigError(
            f"Model {model!r}: input_shape must be a non-empty sequence of positive ints, "
            f"got {input_shape!r}."
        )
    return shape


def image_shape(model: str, input_shape: Any, min_size: int = 1) -> tuple[int, int, int]:
    """(channels, height, width), at least ``min_size`` pixels high and wide."""
    shape = check_input_shape(model, input_shape)
    if len(shape) != 3 or min(shape[1:]) < min_size:
        raise ConfigError(
            f"Model {model!r} needs images (channels, height, width) of at least "
            f"{min_size}x{min_size} pixels, got input shape {shape}."
        )
    return shape  # type: ignore[return-value]


def check_int_option(model: str, name: str, value: Any, minimum: int = 1) -> int:
    """``value`` of option ``name``, which must be an int >= ``minimum``."""
    if not _is_int(value) or value < minimum:
        raise ConfigError(
            f"Model {model!r}: option {name!r} must be an int >= {minimum}, got {value!r}."
        )
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
