"""The one functional inner loop every method shares.

Adaptation runs on a dict of tensors through ``torch.func.functional_call``, so tasks never copy
the model. Methods differ only in what they hand it: the starting parameters phi_0, the masks
(Meta-ticket) and the per-parameter inner learning rates (ANIL, BOIL: 0 freezes a parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

Params = dict[str, torch.Tensor]


def task_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE for float targets (regression), cross-entropy for integer labels (classification)."""
    if targets.is_floating_point():
        return F.mse_loss(outputs, targets)
    return F.cross_entropy(outputs, targets)


def effective(params: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]) -> Params:
    """The parameters the forward sees: m * phi for masked tensors, phi for the rest."""
    return {n: masks[n] * p if n in masks else p for n, p in params.items()}


class MaskedStep(torch.autograd.Function):
    """One inner step carried on the effective weights: W' = W - lr * m * g, which equals
    m * (phi - lr * m * g) because m is 0/1, with the gradient of that true update.

    ``g`` is dL/dW at W = m * phi, so m * g is the task gradient dL/dphi. Tracking W instead of
    phi saves a weight-sized product per step, and the hand-written backward saves the
    temporaries autograd would allocate op by op (see benchmarks/step_time.py). Starting from
    W_0 = m * phi_0 (an ordinary product), the gradients that reach m and g are those of the true
    update: m enters both the step's task gradient and the next m * phi', hence the factor 2 on
    m's share. First order (``second_order`` false): the task gradient m * g is a constant, so
    only the m * phi' use remains and g gets no gradient.
    """

    @staticmethod
    def forward(ctx, eff, mask, grad, lr: float, second_order: bool):
        ctx.save_for_backward(mask, grad)
        ctx.lr, ctx.second_order = lr, second_order
        return torch.addcmul(eff, mask, grad, value=-lr)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_new):
        mask, grad = ctx.saved_tensors
        scaled = (d_new * mask).mul_(-ctx.lr)  # dL/dg = -lr * m * dL/dW'
        d_mask = (scaled * grad).mul_(2.0 if ctx.second_order else 1.0)
        d_grad = scaled if ctx.second_order else None
        return d_new, d_mask, d_grad, None, None


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
    parameters m * phi_S and, for the first step, the mean absolute task gradient
    mean|dL/dphi| of each adapted parameter (detached 0-d tensors).

    ``loss_fn`` maps effective parameters to the support loss. The gradient is taken w.r.t. the
    effective tensor W = m * phi; times m it is dL/dphi by the chain rule, so pruned entries
    get none. With ``create_graph`` the whole update stays differentiable (w.r.t. phi_0 and m:
    the second-order meta-gradient); without it each step's task gradient is a constant (first
    order), and when nothing upstream requires grad the result carries no graph at all.
    ``start`` may pass ``effective(params, masks)`` computed once for a whole meta-batch.
    """
    masks = masks or {}
    eff = dict(start) if start is not None else effective(params, masks)
    adapted = [n for n in eff if lrs.get(n, 0.0) != 0.0]
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
                if step == 0:
                    first[n] = _mean_abs(masks[n].detach() * grad.detach())
                eff[n] = MaskedStep.apply(eff[n], masks[n], grad, lrs[n], create_graph)
            else:
                if step == 0:
                    first[n] = _mean_abs(grad.detach())
                eff[n] = torch.add(eff[n], grad, alpha=-lrs[n])
    return eff, first


def _mean_abs(tensor: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(tensor, 1) / tensor.numel()
