"""Numeric precision of a run's forward passes: float32, or bfloat16 autocast.

With ``bf16`` the forward passes (inner and outer losses, evaluation, predictions) run under
``torch.autocast``: matmuls and convolutions take bfloat16 inputs, losses are computed in
float32. Parameters, scores, masks, gradients and optimizer state stay float32, since autocast
casts copies of the weights for each op and its backward casts the gradients back; only
activations and the matmul inputs lose precision (8 significant bits instead of 24). Backward
passes run outside the context, as torch recommends; those the inner loop takes inside it
follow the dtypes of their forward ops either way.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from .errors import ConfigError

Precision = Literal["fp32", "bf16"]


def check_precision(precision: Precision, device: torch.device) -> None:
    """Fail before a run starts when the device cannot autocast to bfloat16."""
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise ConfigError(
            f"precision='bf16' but the GPU {name} has no bfloat16 support; use --precision fp32."
        )


def autocast(precision: Precision, device: torch.device) -> torch.autocast | contextlib.nullcontext:
    """The context for a forward pass in ``precision`` on ``device``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
