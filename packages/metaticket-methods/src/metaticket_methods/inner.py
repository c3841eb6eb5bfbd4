"""The fused inner loop every built-in method shares: core's ``inner_loop``, made fast.

Adaptation runs on a dict of tensors through ``torch.func.functional_call``, so tasks never copy
the model. Methods differ only in what they hand it: the starting parameters phi_0, the masks
(Meta-ticket) and the per-parameter inner learning rates (ANIL, BOIL: 0 freezes a parameter).
The masked tensors take a hand-written step (``MaskedStep``) with the gradient of core's plain
``metaticket_core.api.functional.inner_loop``, which the tests compare it with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from metaticket_core import Params, effective


class MaskedTensors:
    """What the masked, adapted tensors of one meta-batch share: their names, masks (constants
    here; their gradient is the sum below) and step factors -lr, and the running sum over tasks
    and steps of each one's share of the meta-gradient through the inner steps.
    ``MaskedStep`` adds to the sum in place (one fused multiply-add per task instead of a
    product and a sum of autograd's per-input gradients); ``MaskedStart``, which autograd runs
    after every step it feeds, consumes it. Held by the two autograd nodes, not passed to them
    as inputs: autograd has no gradient to route to any of it.

    A step's share is -k * lr * m * g * dL/dW' (see ``MaskedStart``). At second order (k = 2)
    a step adds 2 * g * dL/dg, as dL/dg = -lr * m * dL/dW' is at hand; at first order (k = 1),
    where dL/dg is not computed, it adds g * dL/dW' and ``MaskedStart`` applies -lr * m once
    to the sum."""

    def __init__(
        self,
        names: tuple[str, ...],
        masks: list[torch.Tensor],
        lrs: list[float],
        second_order: bool,
    ) -> None:
        self.names = names
        self.masks = [m.detach() for m in masks]
        self.rates = [-lr for lr in lrs]
        self.second_order = second_order
        self.factor = 2.0 if second_order else 1.0
        self.zeros = [m.new_zeros(()) for m in masks]
        self.sums: list[torch.Tensor] = []

    def scaled(self, tensors: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        """-lr * m * t per tensor, one pass each (addcmul onto a broadcast zero): a product
        and a scaling would read and write the result twice."""
        return list(torch._foreach_addcmul(self.zeros, tensors, self.masks, self.rates))

    def add(self, a: tuple[torch.Tensor, ...], b: list[torch.Tensor] | tuple[torch.Tensor, ...]):
        """sums += k * a * b."""
        if self.sums:
            torch._foreach_addcmul_(self.sums, a, b, value=self.factor)
        else:
            factors = [self.factor] * len(a)
            self.sums = list(torch._foreach_addcmul(self.zeros, a, b, factors))

    def take(self) -> list[torch.Tensor]:
        """The sums, emptied for the next backward pass (a retained graph may run again)."""
        sums, self.sums = self.sums, []
        return sums


class MaskedStart(torch.autograd.Function):
    """W_0 = m * phi_0 for the masked, adapted tensors, in one node.

    An inner step is W' = W - lr * m * g (see ``MaskedStep``). The mask's share of every step's
    gradient is -k * lr * m * g * dL/dW' = k * (g * dL/dg) (m is 0 or 1): k = 2 at second order
    (m enters both the task gradient m * g and the next m * phi'), k = 1 at first order (the
    task gradient is a constant). ``MaskedTensors`` sums it over tasks and steps (at first
    order without the factor -lr * m, applied here once); with phi_0's own share, m's gradient
    is then one fused multiply-add per tensor.
    Called as ``apply(masked, *masks, *phi_0)``.
    """

    @staticmethod
    def forward(ctx, masked: MaskedTensors, *tensors: torch.Tensor):
        k = len(tensors) // 2
        masks, weights = tensors[:k], tensors[k:]
        ctx.save_for_backward(*masks, *weights)
        ctx.masked = masked
        ctx.set_materialize_grads(False)
        return tuple(torch._foreach_mul(masks, weights))

    @staticmethod
    @once_differentiable
    def backward(ctx, *d_eff: torch.Tensor | None):
        k = len(d_eff)
        masks, weights = ctx.saved_tensors[:k], ctx.saved_tensors[k:]
        masked = ctx.masked
        sums = masked.take()
        if sums and not masked.second_order:
            sums = masked.scaled(sums)
        d_masks, d_weights = [], []
        for i, d in enumerate(d_eff):
            if not sums:
                d_mask = None if d is None else weights[i] * d
            else:  # in place on the sum, which is ours
                d_mask = sums[i]
                if d is not None:
                    d_mask.addcmul_(weights[i], d)
            d_masks.append(d_mask)
            wanted = ctx.needs_input_grad[1 + k + i] and d is not None
            d_weights.append(masks[i] * d if wanted else None)
        return None, *d_masks, *d_weights


class MaskedStep(torch.autograd.Function):
    """One inner step of the masked tensors, carried on the effective weights W = m * phi:
    W' = W - lr * m * g, which equals m * (phi - lr * m * g) because m is 0/1.

    ``g`` is dL/dW, so m * g is the task gradient dL/dphi. Tracking W rather than phi saves a
    weight-sized product per step; the hand-written backward, batched over tensors with
    foreach kernels, saves the temporaries and per-op overhead of autograd's op-by-op version,
    and hands the mask's share of the gradient to ``MaskedTensors`` rather than to autograd
    (benchmarks/step_time.py). Together they yield exactly the gradient of the update written
    with phi (the tests check it against such a hand-written loop).
    Called as ``apply(masked, *effective, *grads)``.
    """

    @staticmethod
    def forward(ctx, masked: MaskedTensors, *tensors: torch.Tensor):
        k = len(tensors) // 2
        eff, grads = tensors[:k], tensors[k:]
        ctx.save_for_backward(*grads)
        ctx.masked = masked
        return tuple(torch._foreach_addcmul(eff, masked.masks, grads, masked.rates))

    @staticmethod
    @once_differentiable
    def backward(ctx, *d_new: torch.Tensor):
        grads = ctx.saved_tensors
        masked = ctx.masked
        if masked.second_order:
            d_grads = masked.scaled(d_new)
            masked.add(grads, d_grads)
            return None, *d_new, *d_grads
        masked.add(grads, d_new)
        return None, *d_new, *([None] * len(d_new))


@dataclass(frozen=True)
class Start:
    """What every task of a meta-batch starts from; build it once with ``prepare``."""

    eff: Params  # W_0 = m * phi_0 by parameter name
    masks: Params
    lrs: Mapping[str, float]
    masked: MaskedTensors  # the adapted masked tensors


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
    names = tuple(n for n in masks if lrs.get(n, 0.0) != 0.0)
    stepped = [masks[n] for n in names]
    masked = MaskedTensors(names, stepped, [lrs[n] for n in names], second_order=create_graph)
    if names:
        values = MaskedStart.apply(masked, *stepped, *[params[n] for n in names])
        eff.update(zip(names, values, strict=True))
    for n, value in eff.items():
        if lrs.get(n, 0.0) != 0.0 and not value.requires_grad:
            # a fixed buffer, or evaluation: differentiate a leaf, one shared by all tasks
            eff[n] = value.detach().requires_grad_()
    return Start(eff, masks, dict(lrs), masked)


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
    task gradient mean|dL/dphi| of each adapted parameter, over the kept entries of a masked one
    (detached 0-d tensors; else {}).

    ``loss_fn`` maps effective parameters to the support loss. The gradient is taken w.r.t. the
    effective tensor W = m * phi; times m it is dL/dphi by the chain rule, so pruned entries
    get none. With ``create_graph`` the whole update stays differentiable (w.r.t. phi_0 and m:
    the second-order meta-gradient); without it each step's task gradient is a constant (first
    order, and what evaluation uses: no graph of the gradients is ever built).
    ``create_graph`` must be the value ``start`` was prepared with.
    """
    eff = dict(start.eff)
    adapted = [n for n in eff if start.lrs.get(n, 0.0) != 0.0]
    masked = start.masked.names
    plain = [n for n in adapted if n not in masked]
    first: Params = {}
    for step in range(steps):
        loss = loss_fn(eff)
        values = torch.autograd.grad(loss, [eff[n] for n in adapted], create_graph=create_graph)
        grads = dict(zip(adapted, values, strict=True))
        if step == 0 and diagnostics:
            first = mean_abs(grads, start.masks)
        for n in plain:
            eff[n] = torch.add(eff[n], grads[n], alpha=-start.lrs[n])
        if masked:
            tensors = [eff[n] for n in masked] + [grads[n] for n in masked]
            eff.update(zip(masked, MaskedStep.apply(start.masked, *tensors), strict=True))
    return eff, first


def mean_abs(grads: Params, masks: Mapping[str, torch.Tensor]) -> Params:
    """mean|dL/dphi| per tensor over the entries that can move: for a masked tensor the task
    gradient is m * g and the mean is over its kept entries (the authors' Figure 2 measure,
    which divides by the kept fraction), so pruning does not read as smaller gradients.
    Gradients stacked over tasks (batched.py) give the mean over tasks.
    (abs, in-place mask, sum measured fastest here: an L1 norm or a dot product are slower.)"""
    means = {}
    with torch.no_grad():
        for n, grad in grads.items():
            size = grad.abs()
            if n in masks:
                size.mul_(masks[n])
                tasks = grad.numel() // masks[n].numel()
                means[n] = size.sum() / (masks[n].sum().clamp(min=1) * tasks)
            else:
                means[n] = size.sum() / size.numel()
    return means
