"""The public API for writing a method: the pieces of a functional inner loop, and a learner.

A task adapts a dict of tensors through ``torch.func.functional_call``, never a copy of the
module, so every inner step stays differentiable w.r.t. what the outer loop learns (phi_0,
scores, rates): the second-order meta-gradient is plain autograd. ``FunctionalLearner``
turns that into a whole ``MetaLearner``: a method says what every task starts from
(``start``) and how fast each parameter adapts (``inner_rates``); the outer loss, evaluation,
adaptation, prediction and BatchNorm modes are here. The built-in methods subclass it with a
fused masked step (metaticket-methods); ``inner_loop`` is the plain reference they are tested
against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial

import torch
import torch.nn.functional as F
from torch.func import functional_call

from .backbone import Backbone
from .config import RunConfig
from .learner import MetaLearner, inner_settings
from .tasks import Task

Params = dict[str, torch.Tensor]  # tensors by backbone parameter name
Rate = float | torch.Tensor  # a number, or a tensor that broadcasts against its parameter


def task_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE for float targets (regression), cross-entropy for integer labels (classification):
    the task type is read off the targets, so one method serves both."""
    if targets.is_floating_point():
        return F.mse_loss(outputs, targets)
    return F.cross_entropy(outputs, targets)


def metric_name(targets: torch.Tensor) -> str:
    """``mse`` for float targets, ``accuracy`` for integer labels: the key of ``metric``."""
    return "mse" if targets.is_floating_point() else "accuracy"


def metric(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The score the trainer reports: mean squared error, or the fraction of correct labels."""
    if targets.is_floating_point():
        return torch.mean((outputs - targets) ** 2)
    hits = outputs.argmax(dim=-1) == targets
    # at least float32: a bfloat16 mean (autocast's logits) would round 17/25 to 0.6797
    return hits.to(torch.promote_types(outputs.dtype, torch.float32)).mean()


def effective(params: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]) -> Params:
    """The parameters the forward sees: m * phi for masked tensors, phi for the rest."""
    return {n: masks[n] * p if n in masks else p for n, p in params.items()}


def detached(params: Mapping[str, torch.Tensor]) -> Params:
    """``params`` cut from the graph: what evaluation and checkpoints hold."""
    return {n: t.detach() for n, t in params.items()}


def threshold(scores: torch.Tensor, p: float) -> torch.Tensor:
    """The floor(p n)-th smallest of the n scores (0-based): exactly floor(p n) lie below it, so
    1[s >= threshold] prunes a fraction p (for distinct scores) and p = 0 keeps every weight.
    Meta-ticket fixes it once per tensor at init; the sparsity then evolves freely."""
    flat = scores.flatten()
    return flat.sort().values[math.floor(p * flat.numel())]


class _StraightThrough(torch.autograd.Function):
    """m = 1[s >= threshold] forward; the incoming gradient passes to s unchanged. One node for
    all tensors: ``apply(thresholds, *scores)`` returns their masks."""

    @staticmethod
    def forward(ctx, thresholds: torch.Tensor, *scores: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # compared straight into a float tensor: on CPU a bool result and its conversion
        # take 7 times as long (0.55 ms for the MLP's first layer)
        return tuple(
            torch.ge(s, thresholds[i], out=torch.empty_like(s)) for i, s in enumerate(scores)
        )

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        return None, *grads


def straight_through(scores: Mapping[str, torch.Tensor], thresholds: torch.Tensor) -> Params:
    """Binary masks 1[s >= threshold] by name (``thresholds[i]`` for the i-th score tensor).
    The step function has no useful derivative, so the gradient w.r.t. the mask is passed to
    the scores unchanged (the straight-through estimator, unscaled, as the paper)."""
    masks = _StraightThrough.apply(thresholds, *scores.values())
    return dict(zip(scores, masks, strict=True))


def inner_loop(
    loss_fn: Callable[[Params], torch.Tensor],
    params: Mapping[str, torch.Tensor],
    rates: Mapping[str, Rate],
    steps: int,
    *,
    create_graph: bool,
    diagnostics: bool = False,
) -> tuple[Params, Params]:
    """``steps`` updates phi <- phi - rate * dL/dphi of the parameters with a rate (a name
    without one, or with the number 0, is not adapted); ``loss_fn`` maps the parameters to the
    support loss (apply masks there). Returns the adapted parameters and, with
    ``diagnostics``, the first step's mean|dL/dphi| per adapted parameter (detached 0-d
    tensors; else {}).

    With ``create_graph`` the update stays differentiable to second order; without it each
    task gradient is a constant (first order, and evaluation: no graph of the gradients),
    yet the result still depends on phi_0 and on tensor rates. Tensors that do not require
    grad (fixed buffers, evaluation) are differentiated as fresh leaves.
    """
    adapted = [n for n in params if n in rates and _adapts(rates[n])]
    current = {
        n: p if p.requires_grad or n not in adapted else p.detach().requires_grad_()
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


def _adapts(rate: Rate) -> bool:
    return isinstance(rate, torch.Tensor) or rate != 0


class FunctionalLearner(MetaLearner):
    """A backbone adapted by ``inner_loop``: MAML as it stands (every parameter meta-learned,
    adapted at ``inner_lr``), given ``meta_parameters``. A method overrides ``start`` (fixed
    weights, masks) and ``inner_rates`` (frozen or learned rates), and may override
    ``adapter`` and ``query_losses`` with a faster inner loop; the rest follows."""

    def __init__(self, backbone: Backbone, config: RunConfig):
        super().__init__()
        self.backbone = backbone
        self.names = [n for n, _ in backbone.named_parameters()]  # phi_0's, even once buffers
        inner = inner_settings(config, self)  # the method's defaults, the config's settings
        self.inner_lr = inner.lr
        self.inner_steps = inner.steps
        self.test_inner_steps = inner.test_steps
        self.first_order = config.first_order

    def meta_parameters(self) -> list[torch.nn.Parameter]:
        """The backbone's parameters (MAML; fixed ones are buffers)."""
        return list(self.backbone.parameters())

    def start(self) -> tuple[Params, Params]:
        """phi_0 by parameter name (backbone parameters, or buffers for fixed weights) and the
        masks ({}: none); differentiable w.r.t. the meta-parameters when grad mode is on."""
        tensors = dict(self.backbone.named_parameters()) | dict(self.backbone.named_buffers())
        return {n: tensors[n] for n in self.names}, {}

    def inner_rates(self) -> Mapping[str, Rate]:
        """The inner rate of each parameter (absent or 0: not adapted); tensors may be learned."""
        return dict.fromkeys(self.names, self.inner_lr)

    def initial_parameters(self) -> Params:
        return detached(self.start()[0])

    def masks(self) -> Params | None:
        with torch.no_grad():
            return self.start()[1] or None

    def outer_loss(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with self.backbone_mode(training=True):
            phi0, masks = self.start()
            losses, score, grads = self.query_losses(phi0, masks, tasks, diagnostics)
        loss = losses.mean()
        # left on the device, one tensor cut from the graph (kept until the trainer logs them)
        names = list(grads)
        values = torch.stack([loss, score] + [grads[n].to(loss.dtype) for n in names]).detach()
        metrics = {"loss": values[0], metric_name(tasks[0].query_y): values[1]}
        metrics.update({f"grad/{n}": v for n, v in zip(names, values[2:], strict=True)})
        return loss, metrics

    def query_losses(
        self, phi0: Params, masks: Params, tasks: list[Task], diagnostics: bool
    ) -> tuple[torch.Tensor, torch.Tensor, Params]:
        """Each task's query loss after adaptation (stacked, differentiable), the mean score
        (detached) and, with ``diagnostics``, the mean over tasks of the first step's
        mean|dL/dphi| per adapted parameter. Task after task; override to batch them."""
        adapt = self.adapter(
            phi0,
            masks,
            self.inner_steps,
            create_graph=not self.first_order,
            diagnostics=diagnostics,
        )
        losses, scores, grads = [], [], {}
        for task in tasks:
            adapted, first = adapt(task.support_x, task.support_y)
            outputs = self.outputs(adapted, task.query_x)
            losses.append(task_loss(outputs, task.query_y))
            scores.append(metric(outputs.detach(), task.query_y))
            for name, value in first.items():
                grads.setdefault(name, []).append(value)
        means = {n: torch.stack(values).mean() for n, values in grads.items()}
        return torch.stack(losses), torch.stack(scores).mean(), means

    def adapter(
        self,
        phi0: Params,
        masks: Params,
        steps: int,
        *,
        create_graph: bool,
        diagnostics: bool = False,
    ) -> Callable[[torch.Tensor, torch.Tensor], tuple[Params, Params]]:
        """A function that adapts phi_0 to one support set (x, y), as ``inner_loop`` with
        ``inner_rates``: it returns the effective adapted parameters (masks applied) and the
        first step's gradient sizes. Made once per meta-batch, so that a faster loop can share
        work between the tasks."""
        rates = self.inner_rates()

        def adapt(x: torch.Tensor, y: torch.Tensor) -> tuple[Params, Params]:
            adapted, first = inner_loop(
                partial(self._masked_loss, masks=masks, x=x, y=y),
                phi0,
                rates,
                steps,
                create_graph=create_graph,
                diagnostics=diagnostics,
            )
            return effective(adapted, masks), first

        return adapt

    def evaluate(self, task: Task) -> dict[str, torch.Tensor]:
        params = self.adapt(task.support_x, task.support_y)
        with torch.no_grad():
            outputs = self.predict(params, task.query_x)
            loss = task_loss(outputs, task.query_y)
            score = metric(outputs, task.query_y)
        return {"loss": loss, metric_name(task.query_y): score}  # read with the batch's others

    def adapt(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None
    ) -> Params:
        """``steps`` defaults to the configured test-time inner steps; builds no graph of the
        gradients. Returns the adapted effective parameters (masks applied)."""
        steps = self.test_inner_steps if steps is None else steps
        with torch.enable_grad(), self.backbone_mode(training=False):
            phi0, masks = (detached(d) for d in self.start())
            adapted, _ = self.adapter(phi0, masks, steps, create_graph=False)(support_x, support_y)
        return detached(adapted)

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        with self.backbone_mode(training=False):
            return self.outputs(params, x)

    def outputs(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """The backbone on ``x`` with ``params``, in whatever mode it is in."""
        return functional_call(self.backbone, params, (x,))

    def loss(self, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task_loss(self.outputs(params, x), y)

    def _masked_loss(
        self, params: Params, masks: Params, x: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        return self.loss(effective(params, masks), x, y)

    @contextmanager
    def backbone_mode(self, training: bool) -> Iterator[None]:
        """Train mode for meta-training, eval mode for evaluation, whatever mode the learner
        was left in: with ``batchnorm="running"`` only meta-training updates the running
        statistics, and test tasks never change them."""
        previous = self.backbone.training
        self.backbone.train(training)
        try:
            yield
        finally:
            self.backbone.train(previous)
