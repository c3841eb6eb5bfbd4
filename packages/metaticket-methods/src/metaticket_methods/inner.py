"""The one functional inner loop every method shares.

Adaptation runs on a dict of tensors through ``torch.func.functional_call``, so tasks never copy
the model. Methods differ only in what they hand it: the starting parameters phi_0, the masks
(Meta-ticket) and the per-parameter inner learning rates (ANIL, BOIL: 0 freezes a parameter).
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


def effective(params: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]) -> Params:
    """The parameters the forward sees: m * phi for masked tensors, phi for the rest."""
    return {n: masks[n] * p if n in masks else p for n, p in params.items()}


def inner_loop(
    loss_fn: Callable[[Params], torch.Tensor],
    params: Mapping[str, torch.Tensor],
    lrs: Mapping[str, float],
    steps: int,
    *,
    create_graph: bool,
    masks: Mapping[str, torch.Tensor] | None = None,
    start: Mapping[str, torch.Tensor] | None = None,
) -> tuple[Params, Params]:
    """``steps`` updates phi <- phi - lr * dL(m * phi)/dphi; returns the adapted effective
    parameters (m * phi_S) and the first step's task gradients dL/dphi (detached).

    ``loss_fn`` maps effective parameters to the support loss. The gradient is taken w.r.t. the
    effective tensor W = m * phi and multiplied by m, which is dL/dphi by the chain rule; pruned
    entries thus get none. With ``create_graph`` the whole update stays differentiable (w.r.t.
    phi_0 and m: the second-order meta-gradient); without it each step's gradient is a constant
    (first order), and when nothing upstream requires grad the result carries no graph at all.
    ``start`` may pass ``effective(params, masks)`` computed once for a whole meta-batch.
    """
    masks = masks or {}
    phi = dict(params)
    eff = dict(start) if start is not None else effective(phi, masks)
    adapted = [n for n in phi if lrs.get(n, 0.0) != 0.0]
    first: Params = {}
    for step in range(steps):
        for n in adapted:
            if not eff[n].requires_grad:  # a fixed buffer, or evaluation: differentiate a leaf
                eff[n] = eff[n].detach().requires_grad_()
        grads = torch.autograd.grad(
            loss_fn(eff), [eff[n] for n in adapted], create_graph=create_graph
        )
        for n, grad in zip(adapted, grads, strict=True):
            if n in masks:
                grad = masks[n] * grad
                if not create_graph:  # first order: the whole task gradient is a constant
                    grad = grad.detach()
            if step == 0:
                first[n] = grad.detach()
            phi[n] = torch.add(phi[n], grad, alpha=-lrs[n])
            eff[n] = masks[n] * phi[n] if n in masks else phi[n]
    return eff, first
