"""Numeric precision of a run's forward passes (float32, TF32 or bfloat16 autocast), and the
numerics a device is set up with.

With ``bf16`` the forward passes (inner and outer losses, evaluation, predictions) run under
``torch.autocast``: matmuls and convolutions take bfloat16 inputs, losses are computed in
float32. Parameters, scores, masks, gradients and optimizer state stay float32, since autocast
casts copies of the weights for each op and its backward casts the gradients back; only
activations and the matmul inputs lose precision (8 significant bits instead of 24). Backward
passes run outside the context, as torch recommends; those the inner loop takes inside it
follow the dtypes of their forward ops either way.

On a GPU, ``fp32`` is true float32: TF32 (10-bit mantissa matmul and convolution inputs, which
PyTorch leaves on for cuDNN's convolutions by default) is turned off, and ``tf32`` turns it on
for both, explicitly. On the CPU ``tf32`` computes as ``fp32``. ``deterministic`` turns on
PyTorch's deterministic algorithms (with cuBLAS's fixed workspace, which they need); otherwise
cuDNN's benchmark mode picks the fastest convolution kernels, which may differ between runs.
"""

from __future__ import annotations

import contextlib
import os
from typing import Literal

import torch

from .errors import ConfigError

Precision = Literal["fp32", "tf32", "bf16"]
# what cuBLAS needs for deterministic results (PyTorch's reproducibility notes); read when
# cuBLAS starts, so set before any GPU work
CUBLAS_WORKSPACE = ":4096:8"


def check_precision(precision: Precision, device: torch.device) -> None:
    """Fail before a run starts when the device cannot autocast to bfloat16."""
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise ConfigError(
            f"precision='bf16' but the GPU {name} has no bfloat16 support; use --precision fp32."
        )


def set_numerics(precision: Precision, deterministic: bool, device: torch.device) -> None:
    """This process's numerics for a run on ``device`` (process-wide settings of torch)."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(deterministic)
    if device.type == "cuda":
        tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cudnn.benchmark = not deterministic


def autocast(precision: Precision, device: torch.device) -> torch.autocast | contextlib.nullcontext:
    """The context for a forward pass in ``precision`` on ``device``."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
