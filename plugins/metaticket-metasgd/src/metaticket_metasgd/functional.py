"""The plugin's own functional inner loop, with a learnable rate tensor per parameter.

Core ships no inner loop (the methods package's is not public API), and Meta-SGD needs one that
differentiates w.r.t. the rates anyway: phi_{i+1} = phi_i - alpha (.) grad L(phi_i), with alpha a
tensor shaped like phi. Adaptation runs on a dict of tensors through ``functional_call``, so
tasks never copy the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F

Params = dict[str, torch.Tensor]


def task_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE for float targets (regression), cross-entropy for integer labels (classification)."""
    if targets.is_floating_point():
        return F.mse_loss(outputs, targets)
    return F.cross_entropy(outputs, targets)


def score(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[str, torch.Tensor]:
    """The task's metric: ``mse`` for regression, ``accuracy`` for classification."""
    if targets.is_floating_point():
        return "mse", torch.mean((outputs - targets) ** 2)
    hits = outputs.argmax(dim=-1) == targets
    # at least float32: a bfloat16 mean (autocast's logits, --precision bf16) would round
    return "accuracy", hits.to(torch.promote_types(outputs.dtype, torch.float32)).mean()


def inner_loop(
    loss_fn: Callable[[Params], torch.Tensor],
    params: Mapping[str, torch.Tensor],
    rates: Mapping[str, torch.Tensor],
    steps: int,
    *,
    create_graph: bool,
    diagnostics: bool = False,
) -> tuple[Params, Params]:
    """``steps`` updates phi <- phi - alpha * dL/dphi of the parameters that have a rate.

    Returns the adapted parameters and, with ``diagnostics``, the first step's mean|dL/dphi|
    per parameter (detached 0-d tensors; else {}). With ``create_graph`` the update stays differentiable to second
    order; without it each task gradient is a constant, yet the result still depends on
    phi_0 and alpha (first-order Meta-SGD still learns its rates). Tensors that do not
    require grad (fixed buffers, evaluation) are differentiated as fresh leaves.
    """
    adapted = [n for n in params if n in rates]
    current = {
        n: p if p.requires_grad or n not in rates else p.detach().requires_grad_()
        for n, p in params.items()
    }
    first: Params = {}
    for step in range(steps):
        grads = torch.autograd.grad(
            loss_fn(current), [current[n] for n in adapted], create_graph=create_graph
        )
        if step == 0 and diagnostics:
            first = {n: g.detach().abs().mean() for n, g in zip(adapted, grads, strict=True)}
        for n, g in zip(adapted, grads, strict=True):
            current[n] = current[n] - rates[n] * g
    return current, first
