"""The one functional inner loop every method shares.

Adaptation runs on a dict of tensors through ``torch.func.functional_call``, so tasks never copy
the model. Methods differ only in what they hand it: the starting parameters phi_0, the masks
(Meta-ticket) and the per-parameter inner learning rates (ANIL, BOIL: 0 freezes a parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


class MaskSum:
    """The running sum over tasks and steps of g * dL/dW' for each masked tensor: the mask's
    share of the meta-gradient before its common factor. ``MaskedStep`` adds to it in place
    (one fused multiply-add per task instead of a product and a sum of autograd's per-input
    gradients); ``MaskedStart``, which autograd runs after every step it feeds, consumes it."""

    def __init__(self) -> None:
        self.sums: list[torch.Tensor] = []

    def add(self, d_new: tuple[torch.Tensor, ...], grads: tuple[torch.Tensor, ...]) -> None:
        if self.sums:
            torch._foreach_addcmul_(self.sums, d_new, grads)
        else:
            self.sums = list(torch._foreach_mul(d_new, grads))

    def take(self) -> list[torch.Tensor]:
        """The sums, emptied for the next backward pass (a retained graph may run again)."""
        sums, self.sums = self.sums, []
        return sums


class MaskedStart(torch.autograd.Function):
    """W_0 = m * phi_0 and the step coefficients c = -lr * m of masked tensors, in one node.

    An inner step is W' = W + c * g (see ``MaskedStep``). The mask's share of every step's
    gradient is (-k * lr * m) * (g * dL/dW'), the same factor for every task, so it is applied
    here once per meta-batch to the sum over tasks and steps that ``MaskSum`` collected: k = 2
    at second order (m enters both the task gradient m * g and the next m * phi'), k = 1 at
    first order (the task gradient is a constant). With phi_0's own share that is one product
    and one fused multiply-add per tensor. The coefficients carry no gradient of their own.
    Called as ``apply(lrs, second_order, mask_sum, *masks, *phi_0)``, one rate per tensor.
    """

    @staticmethod
    def forward(ctx, lrs: list[float], second_order: bool, mask_sum: MaskSum, *tensors):
        k = len(tensors) // 2
        masks, weights = tensors[:k], tensors[k:]
        coefs = torch._foreach_mul(masks, [-lr for lr in lrs])
        ctx.save_for_backward(*masks, *weights, *coefs)
        ctx.factor = 2.0 if second_order else 1.0
        ctx.mask_sum = mask_sum
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*coefs)
        return (*torch._foreach_mul(masks, weights), *coefs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *d_out: torch.Tensor | None):
        k = len(d_out) // 2
        saved = ctx.saved_tensors
        masks, weights, coefs = saved[:k], saved[k : 2 * k], saved[2 * k :]
        sums = ctx.mask_sum.take() or [None] * k
        d_masks, d_weights = [], []
        for i, (d_eff, total) in enumerate(zip(d_out[:k], sums, strict=True)):
            if total is None:
                d_mask = None if d_eff is None else weights[i] * d_eff
            else:  # in place on the sum, which is ours: k c S + w dW = k (c S + w dW / k)
                d_mask = total.mul_(coefs[i])
                if d_eff is not None:
                    d_mask.addcmul_(weights[i], d_eff, value=1 / ctx.factor)
                if ctx.factor != 1:
                    d_mask.mul_(ctx.factor)
            d_masks.append(d_mask)
            wanted = ctx.needs_input_grad[3 + k + i] and d_eff is not None
            d_weights.append(masks[i] * d_eff if wanted else None)
        return None, None, None, *d_masks, *d_weights


class MaskedStep(torch.autograd.Function):
    """One inner step of the masked tensors, carried on the effective weights W = m * phi:
    W' = W + c * g with c = -lr * m, which equals m * (phi - lr * m * g) because m is 0/1.

    ``g`` is dL/dW, so m * g is the task gradient dL/dphi. Tracking W rather than phi saves a
    weight-sized product per step; the hand-written backward, batched over tensors with
    foreach kernels, saves the temporaries and per-op overhead of autograd's op-by-op version,
    and hands the coefficients' gradient g * dL/dW' to ``MaskSum`` rather than to autograd
    (benchmarks/step_time.py). Together they yield exactly the gradient of the update written
    with phi (the tests check it against such a hand-written loop).
    Called as ``apply(mask_sum, *effective, *coefficients, *grads)``.
    """

    @staticmethod
    def forward(ctx, mask_sum: MaskSum, *tensors: torch.Tensor):
        k = len(tensors) // 3
        eff, coefs, grads = tensors[:k], tensors[k : 2 * k], tensors[2 * k :]
        ctx.save_for_backward(*coefs, *grads)
        ctx.mask_sum = mask_sum
        return tuple(torch._foreach_addcmul(eff, coefs, grads))

    @staticmethod
    @once_differentiable
    def backward(ctx, *d_new: torch.Tensor):
        k = len(d_new)
        coefs, grads = ctx.saved_tensors[:k], ctx.saved_tensors[k:]
        ctx.mask_sum.add(d_new, grads)
        wanted = any(ctx.needs_input_grad[1 + 2 * k :])
        d_grads = torch._foreach_mul(d_new, coefs) if wanted else [None] * k
        return None, *d_new, *([None] * k), *d_grads


@dataclass(frozen=True)
class Start:
    """What every task of a meta-batch starts from; build it once with ``prepare``."""

    eff: Params  # W_0 = m * phi_0 by parameter name
    masks: Params
    lrs: Mapping[str, float]
    coefs: Params  # -lr * m for the adapted masked tensors, in MaskedStart's order
    mask_sum: MaskSum


def prepare(
    params: Mapping[str, torch.Tensor],
    lrs: Mapping[str, float],
    *,
    create_graph: bool,
    masks: Mapping[str, torch.Tensor] | None = None,
) -> Start:
    """phi_0, per-parameter inner rates (0 freezes) and masks, as ``inner_loop`` takes them."""
    masks = dict(masks or {})
    eff = effective(params, {n: m for n, m in masks.items() if lrs.get(n, 0.0) == 0.0})
    coefs: Params = {}
    mask_sum = MaskSum()
    names = [n for n in masks if lrs.get(n, 0.0) != 0.0]
    if names:
        tensors = [masks[n] for n in names] + [params[n] for n in names]
        values = MaskedStart.apply([lrs[n] for n in names], create_graph, mask_sum, *tensors)
        eff.update(zip(names, values[: len(names)], strict=True))
        coefs.update(zip(names, values[len(names) :], strict=True))
    for n, value in eff.items():
        if lrs.get(n, 0.0) != 0.0 and not value.requires_grad:
            # a fixed buffer, or evaluation: differentiate a leaf, one shared by all tasks
            eff[n] = value.detach().requires_grad_()
    return Start(eff, masks, dict(lrs), coefs, mask_sum)


def inner_loop(
    loss_fn: Callable[[Params], torch.Tensor],
    start: Start,
    steps: int,
    *,
    create_graph: bool,
    diagnostics: bool = False,
) -> tuple[Params, Params]:
    """``steps`` updates phi <- phi - lr * dL(m * phi)/dphi from ``start``; returns the adapted
    effective parameters m * phi_S and, with ``diagnostics``, the first step's mean absolute
    task gradient mean|dL/dphi| of each adapted parameter (detached 0-d tensors; else {}).

    ``loss_fn`` maps effective parameters to the support loss. The gradient is taken w.r.t. the
    effective tensor W = m * phi; times m it is dL/dphi by the chain rule, so pruned entries
    get none. With ``create_graph`` the whole update stays differentiable (w.r.t. phi_0 and m:
    the second-order meta-gradient); without it each step's task gradient is a constant (first
    order, and what evaluation uses: no graph of the gradients is ever built).
    ``create_graph`` must be the value ``start`` was prepared with.
    """
    eff = dict(start.eff)
    adapted = [n for n in eff if start.lrs.get(n, 0.0) != 0.0]
    plain = [n for n in adapted if n not in start.coefs]
    masked = list(start.coefs)
    first: Params = {}
    for step in range(steps):
        loss = loss_fn(eff)
        values = torch.autograd.grad(loss, [eff[n] for n in adapted], create_graph=create_graph)
        grads = dict(zip(adapted, values, strict=True))
        if step == 0 and diagnostics:
            first = _mean_abs(grads, start.masks)
        for n in plain:
            eff[n] = torch.add(eff[n], grads[n], alpha=-start.lrs[n])
        if masked:
            tensors = [eff[n] for n in masked] + [start.coefs[n] for n in masked]
            tensors += [grads[n] for n in masked]
            eff.update(zip(masked, MaskedStep.apply(start.mask_sum, *tensors), strict=True))
    return eff, first


def _mean_abs(grads: Params, masks: Mapping[str, torch.Tensor]) -> Params:
    """mean|dL/dphi| per tensor; the task gradient is m * g for masked tensors. (abs, in-place
    mask, sum measured fastest here: an L1 norm or a dot product with the mask are slower.)"""
    means = {}
    with torch.no_grad():
        for n, grad in grads.items():
            size = grad.abs()
            if n in masks:
                size.mul_(masks[n])
            means[n] = size.sum() / size.numel()
    return means
