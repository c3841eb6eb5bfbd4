"""Meta-SGD (Li et al. 2017) and Meta-ticket with meta-learned inner rates.

Meta-SGD meta-learns phi_0 together with alpha, one inner learning rate per parameter *entry*
(a tensor shaped like each parameter), so the inner update phi - alpha (.) grad L learns both a
step size and a direction. The rates start at the config's ``inner_lr`` (so step 0 is MAML) and
are unconstrained, as in the paper.

``metaticket+metasgd`` keeps Meta-ticket's fixed random network (DESIGN.md section 3): prunable
weights re-drawn Kaiming-normal, phi_0 never meta-trained, one Kaiming-uniform score per prunable
weight, m = 1[s >= sigma] with sigma fixed per tensor at the ``p_init`` quantile of the initial
scores, straight-through gradient to the scores. The meta-parameters are the scores and the
rates. Its outer optimizer defaults to Adam 1e-3, not Meta-ticket's SGD lr 10: one optimizer
updates both, and a step of 10 would throw rates of order ``inner_lr`` far off.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.func import functional_call

from metaticket_core.backbone import Backbone, attribute_key, make_buffer
from metaticket_core.config import RunConfig
from metaticket_core.errors import ConfigError
from metaticket_core.learner import MetaLearner, OuterDefaults
from metaticket_core.tasks import Task

from .functional import Params, inner_loop, score, task_loss


class MetaSGD(MetaLearner):
    """phi_0 and a per-entry inner learning rate for every backbone parameter, meta-learned."""

    outer_defaults = OuterDefaults(optimizer="adam", lr=1e-3)

    def __init__(self, backbone: Backbone, config: RunConfig):
        super().__init__()
        self.backbone = backbone
        self.names = [n for n, _ in backbone.named_parameters()]
        self.rates = nn.ParameterDict(
            {
                attribute_key(n): nn.Parameter(torch.full_like(p.detach(), config.inner_lr))
                for n, p in backbone.named_parameters()
            }
        )
        self.inner_steps = config.inner_steps
        self.test_inner_steps = config.test_inner_steps
        self.first_order = config.first_order

    # what is meta-learned ------------------------------------------------------------------
    def meta_parameters(self) -> list[nn.Parameter]:
        return list(self.backbone.parameters()) + list(self.rates.values())

    def start(self) -> tuple[Params, Params]:
        """phi_0 and the masks (none here), differentiable w.r.t. the meta-parameters."""
        tensors = dict(self.backbone.named_parameters()) | dict(self.backbone.named_buffers())
        return {n: tensors[n] for n in self.names}, {}

    def inner_rates(self) -> Params:
        """The learned alpha, by backbone parameter name."""
        return {n: self.rates[attribute_key(n)].detach() for n in self.names}

    def initial_parameters(self) -> Params:
        return {n: t.detach() for n, t in self.start()[0].items()}

    # the MetaLearner interface ----------------------------------------------------------------
    def outer_loss(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]:
        rates = {n: self.rates[attribute_key(n)] for n in self.names}
        with self._mode(training=True):
            phi0, masks = self.start()
            losses, scores, grads = [], [], {}
            for task in tasks:
                adapted, first = inner_loop(
                    lambda p, t=task: self._loss(p, masks, t.support_x, t.support_y),
                    phi0,
                    rates,
                    self.inner_steps,
                    create_graph=not self.first_order,
                    diagnostics=diagnostics,
                )
                outputs = self._forward(adapted, masks, task.query_x)
                losses.append(task_loss(outputs, task.query_y))
                metric, value = score(outputs.detach(), task.query_y)
                scores.append(value)
                for n, g in first.items():
                    grads.setdefault(n, []).append(g)
        loss = torch.stack(losses).mean()
        keys = ["loss", metric, *(f"grad/{n}" for n in grads), *(f"rate/{n}" for n in rates)]
        values = [loss.detach(), torch.stack(scores).mean()]
        values += [torch.stack(g).mean() for g in grads.values()]
        values += [r.detach().mean() for r in rates.values()]
        # one device sync for all metrics
        return loss, dict(zip(keys, torch.stack(values).tolist(), strict=True))

    def evaluate(self, task: Task) -> dict[str, float]:
        params = self.adapt(task.support_x, task.support_y)
        with torch.no_grad():
            outputs = self.predict(params, task.query_x)
            metric, value = score(outputs, task.query_y)
            return {"loss": task_loss(outputs, task.query_y).item(), metric: value.item()}

    def adapt(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None
    ) -> Params:
        """``steps`` defaults to the configured test-time inner steps; builds no graph of the
        gradients. Returns the adapted effective parameters (masks applied)."""
        with torch.enable_grad(), self._mode(training=False):
            phi0, masks = ({n: t.detach() for n, t in d.items()} for d in self.start())
            adapted, _ = inner_loop(
                lambda p: self._loss(p, masks, support_x, support_y),
                phi0,
                self.inner_rates(),
                self.test_inner_steps if steps is None else steps,
                create_graph=False,
            )
        return {n: t.detach() for n, t in _masked(adapted, masks).items()}

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        with self._mode(training=False):
            return functional_call(self.backbone, params, (x,))

    # helpers -----------------------------------------------------------------------------------
    def _forward(self, params: Params, masks: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.backbone, _masked(params, masks), (x,))

    def _loss(self, params: Params, masks: Params, x: torch.Tensor, y: torch.Tensor):
        return task_loss(self._forward(params, masks, x), y)

    @contextmanager
    def _mode(self, training: bool) -> Iterator[None]:
        """Train mode for meta-training, eval mode for evaluation, as the built-ins do: with
        ``batchnorm="running"`` only meta-training updates the running statistics."""
        previous = self.backbone.training
        self.backbone.train(training)
        try:
            yield
        finally:
            self.backbone.train(previous)


class StraightThrough(torch.autograd.Function):
    """m = 1[s >= threshold] forward; the incoming gradient passes to s unchanged."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
        # straight into a float tensor: on CPU a bool result and its conversion are 7x slower
        return torch.ge(scores, threshold, out=torch.empty_like(scores))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class MetaTicketSGD(MetaSGD):
    """Scores of the prunable weights and per-entry inner rates over a fixed random network."""

    def __init__(self, backbone: Backbone, config: RunConfig):
        super().__init__(backbone, config)
        self.masked = backbone.names_with("prunable")
        if not self.masked:
            raise ConfigError(
                f"metaticket+metasgd needs prunable weights to mask, but backbone "
                f"{type(backbone).__name__} tags none of its parameters 'prunable'."
            )
        params = dict(backbone.named_parameters())
        self.score_params = nn.ParameterDict()
        thresholds = []
        with torch.no_grad():
            for n in self.masked:
                weight = params[n]
                fresh = torch.empty(weight.shape, dtype=weight.dtype)
                nn.init.kaiming_normal_(fresh, mode="fan_in", nonlinearity="relu")
                weight.copy_(fresh)
                scores = torch.empty(weight.shape, dtype=weight.dtype)
                nn.init.kaiming_uniform_(scores, mode="fan_in", nonlinearity="relu")
                self.score_params[attribute_key(n)] = nn.Parameter(scores.to(weight.device))
                thresholds.append(_quantile(scores, config.p_init).to(weight.device))
        self.register_buffer("thresholds", torch.stack(thresholds))
        for n in self.names:  # phi_0 is fixed: saved in the state dict, never meta-trained
            make_buffer(backbone, n)

    def meta_parameters(self) -> list[nn.Parameter]:
        return list(self.score_params.values()) + list(self.rates.values())

    def start(self) -> tuple[Params, Params]:
        phi0, _ = super().start()
        masks = {
            n: StraightThrough.apply(self.score_params[attribute_key(n)], self.thresholds[i])
            for i, n in enumerate(self.masked)
        }
        return phi0, masks

    def masks(self) -> Params:
        with torch.no_grad():
            return self.start()[1]

    def scores(self) -> Params:
        return {n: self.score_params[attribute_key(n)].detach() for n in self.masked}


def _masked(params: Params, masks: Params) -> Params:
    return {n: masks[n] * p if n in masks else p for n, p in params.items()}


def _quantile(scores: torch.Tensor, p: float) -> torch.Tensor:
    """The floor(p n)-th smallest score: p = 0 keeps every weight, p = 0.5 prunes half."""
    flat = scores.flatten()
    return flat.sort().values[math.floor(p * flat.numel())]


def metasgd(backbone: Backbone, config: RunConfig) -> MetaSGD:
    """Meta-SGD: meta-learn phi_0 and a per-entry inner learning rate (Li et al. 2017)."""
    return MetaSGD(backbone, config)


def metaticket_metasgd(backbone: Backbone, config: RunConfig) -> MetaTicketSGD:
    """Meta-ticket with Meta-SGD rates: scores and per-entry inner rates over a random net."""
    return MetaTicketSGD(backbone, config)
