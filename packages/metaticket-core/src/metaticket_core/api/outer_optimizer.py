"""The outer loop's optimizer: the method's defaults with the config's settings, and the
learning-rate schedule."""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from .config import RunConfig
from .errors import ConfigError
from .learner import MetaLearner, OuterDefaults


def outer_settings(config: RunConfig, learner: MetaLearner) -> OuterDefaults:
    """The method's outer-loop defaults with whatever the config sets explicitly."""
    chosen = {
        "optimizer": config.outer_optimizer,
        "lr": config.outer_lr,
        "momentum": config.momentum,
        "weight_decay": config.weight_decay,
        "schedule": config.schedule,
        "warmup": config.warmup,
    }
    return replace(learner.outer_defaults, **{k: v for k, v in chosen.items() if v is not None})


def make_optimizer(params: list[torch.nn.Parameter], s: OuterDefaults) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    raise ConfigError(f"outer optimizer {s.optimizer!r} is unknown; use sgd, adam or adamw.")


def lr_factor(iteration: int, s: OuterDefaults, iterations: int) -> float:
    """Multiplier of the base lr at 1-based ``iteration``, as the authors' ``CustomCosineLR``
    (edge-popup's): linear warmup i / (W + 1) for i <= W, then constant, or cosine from 1 at
    i = W + 1 towards 0 at i = ``iterations`` + 1."""
    if iteration <= s.warmup:
        return iteration / (s.warmup + 1)
    if s.schedule == "cosine":
        progress = (iteration - 1 - s.warmup) / max(1, iterations - s.warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def guard_(params: list[torch.nn.Parameter], above: float, to: float) -> torch.Tensor:
    """Scale the gradients of ``params`` to norm ``to`` when their joint norm exceeds ``above``,
    in place; returns 1.0 where it did, else 0.0. Unlike norm clipping, steps below ``above`` are
    left exactly as they are: only the rare spike is tamed. No value is read on the host."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    guarded = norm > above
    scale = torch.where(guarded, to / norm, torch.ones_like(norm))
    for g in grads:
        g.mul_(scale)
    return guarded.to(norm.dtype)
