"""Meta-ticket: meta-learn a binary mask over a fixed random network (Chijiwa et al. 2022).

Masked weights are re-drawn Kaiming-normal (fan_in, ReLU gain; the naive sinusoid variant keeps
the backbone's own) and, like every other parameter that is not meta-trained (biases, BatchNorm,
head), become fixed buffers of the backbone: every task starts from the same phi_0 and the inner loop adapts all of it. The meta-parameters are one
score per masked weight, Kaiming-uniform with fan_in and the ReLU gain (bound sqrt(6 / fan_in),
as the authors' ``sparse_module.py``; not edge-popup's a = sqrt(5)); the mask is
m = 1[s >= sigma] with one threshold per tensor, fixed at init as the p_init quantile of its
initial scores. The gradient reaches the scores by the straight-through estimator:
dL/ds := dL/dm, unscaled.

Constant init (paper 4.1.2): every masked weight, the head's too, is its layer's Kaiming std
gain / sqrt(fan_in) times ``constant_init``, and biases are 0, so only the mask carries
information.

Random draws (weights, scores, IteRand) come from torch's global CPU generator, whatever the
device, so a seeded run draws the same ticket on CPU and GPU and on every rank.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import torch
from torch import nn

from metaticket_core.backbone import Backbone, attribute_key, make_buffer
from metaticket_core.config import RunConfig
from metaticket_core.errors import ConfigError
from metaticket_core.learner import OuterDefaults

from .base import FunctionalLearner
from .inner import Params


class StraightThrough(torch.autograd.Function):
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


class MetaTicket(FunctionalLearner):
    """Scores over the ``masked`` weights; ``meta_trained`` names stay MAML-trained parameters
    (regression variant); ``frozen`` names get inner rate 0 (BOIL: the head)."""

    outer_defaults = OuterDefaults(
        optimizer="sgd", lr=10.0, momentum=0.9, schedule="cosine", warmup=1000
    )

    def __init__(
        self,
        backbone: Backbone,
        config: RunConfig,
        *,
        masked: Collection[str],
        meta_trained: Collection[str] = (),
        frozen: Collection[str] = (),
        iterand: bool = False,
        redraw: bool = True,
    ):
        params = dict(backbone.named_parameters())
        super().__init__(
            backbone, config, {n: 0.0 if n in frozen else config.inner_lr for n in params}
        )
        self.names = list(params)
        self.masked = [n for n in params if n in masked]
        if not self.masked:
            raise ConfigError(
                f"Meta-ticket needs prunable weights to mask, but backbone "
                f"{type(backbone).__name__} tags none of its parameters 'prunable'."
            )
        self.iterand = iterand
        self.iterand_period = config.iterand_period
        self.iterand_rate = config.iterand_rate
        self.constant_init = config.constant_init
        with torch.no_grad():
            for name in self.masked if redraw else ():
                params[name].copy_(self._draw(params[name]))
            if self.constant_init is not None:
                for name in backbone.names_with("bias"):
                    params[name].zero_()
        for name in self.names:
            if name not in meta_trained:
                make_buffer(backbone, name)

        self.score_params = nn.ParameterDict()
        thresholds = []
        for name in self.masked:
            weight = params[name]
            scores = torch.empty(weight.shape, dtype=weight.dtype)
            nn.init.kaiming_uniform_(scores, mode="fan_in", nonlinearity="relu")
            self.score_params[attribute_key(name)] = nn.Parameter(scores.to(weight.device))
            thresholds.append(_quantile(scores, config.p_init).to(weight.device))
        self.register_buffer("thresholds", torch.stack(thresholds))

    def meta_parameters(self) -> list[nn.Parameter]:
        return list(self.score_params.values()) + list(self.backbone.parameters())

    def start(self) -> tuple[Params, Params]:
        tensors = dict(self.backbone.named_parameters()) | dict(self.backbone.named_buffers())
        phi0 = {n: tensors[n] for n in self.names}
        scores = [self.score_params[attribute_key(n)] for n in self.masked]
        masks = StraightThrough.apply(self.thresholds, *scores)
        return phi0, dict(zip(self.masked, masks, strict=True))

    def scores(self) -> dict[str, torch.Tensor]:
        return {n: self.score_params[attribute_key(n)].detach() for n in self.masked}

    def masks(self) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return self.start()[1]

    def after_step(self, iteration: int) -> None:
        """IteRand: every K steps re-draw each pruned weight with probability r."""
        if not self.iterand or iteration % self.iterand_period:
            return
        with torch.no_grad():
            for i, name in enumerate(self.masked):
                weight = self.backbone.get_buffer(name)
                pruned = self.score_params[attribute_key(name)] < self.thresholds[i]
                chosen = pruned & (torch.rand(weight.shape) < self.iterand_rate).to(weight.device)
                weight.copy_(torch.where(chosen, self._draw(weight), weight))

    def _draw(self, like: torch.Tensor) -> torch.Tensor:
        """A fresh sample of the init distribution: Kaiming normal, or the constant."""
        if self.constant_init is not None:
            fan_in = like[0].numel()
            return torch.full_like(like, self.constant_init * math.sqrt(2 / fan_in))
        weight = torch.empty(like.shape, dtype=like.dtype)
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
        return weight.to(like.device)


class MetaTicketRegression(MetaTicket):
    """The sinusoid variants (paper appendix C): scores and any MAML-trained layers with Adam."""

    outer_defaults = OuterDefaults(optimizer="adam", lr=1e-3)


def _quantile(scores: torch.Tensor, p: float) -> torch.Tensor:
    """The floor(p n)-th smallest score (0-based): exactly floor(p n) scores lie below it, so
    p = 0 keeps every weight and p = 0.5 prunes half (for distinct scores)."""
    flat = scores.flatten()
    return flat.sort().values[math.floor(p * flat.numel())]


def _masked(backbone: Backbone, config: RunConfig) -> list[str]:
    """The prunable weights; under constant init the head's weight too (otherwise every class
    would start identical), as in the authors' constant-init runs."""
    if config.constant_init is None:
        return backbone.names_with("prunable")
    return backbone.names_with("prunable") + _head_weights(backbone)


def _head_weights(backbone: Backbone) -> list[str]:
    biases = set(backbone.names_with("bias"))
    return [n for n in backbone.names_with("head") if n not in biases]


def metaticket(backbone: Backbone, config: RunConfig) -> MetaTicket:
    """Meta-ticket: meta-learn a sparse subnetwork of a fixed random network."""
    return MetaTicket(backbone, config, masked=_masked(backbone, config))


def metaticket_boil(backbone: Backbone, config: RunConfig) -> MetaTicket:
    """Meta-ticket with the random head frozen in the inner loop (BOIL)."""
    head = backbone.names_with("head")
    return MetaTicket(backbone, config, masked=_masked(backbone, config), frozen=head)


def metaticket_iterand(backbone: Backbone, config: RunConfig) -> MetaTicket:
    """Meta-ticket with iterative randomisation of pruned weights (IteRand)."""
    return MetaTicket(backbone, config, masked=_masked(backbone, config), iterand=True)


def metaticket_boil_iterand(backbone: Backbone, config: RunConfig) -> MetaTicket:
    """Meta-ticket with a frozen head in the inner loop and IteRand."""
    head = backbone.names_with("head")
    masked = _masked(backbone, config)
    return MetaTicket(backbone, config, masked=masked, frozen=head, iterand=True)


def metaticket_reg(backbone: Backbone, config: RunConfig) -> MetaTicketRegression:
    """Regression Meta-ticket: hidden layers masked, with IteRand (the authors' sinusoid runs;
    ``iterand_rate=0`` turns it off); input/output layers and biases MAML-trained."""
    inputs = set(backbone.names_with("input"))
    masked = [n for n in backbone.names_with("prunable") if n not in inputs]
    trained = [n for n, _ in backbone.named_parameters() if n not in masked]
    return MetaTicketRegression(backbone, config, masked=masked, meta_trained=trained, iterand=True)


def metaticket_reg_naive(backbone: Backbone, config: RunConfig) -> MetaTicketRegression:
    """Naive regression Meta-ticket: every layer's weight masked (output too), nothing trained.
    The masked weights keep the backbone's own init: Kaiming-normal ones make the 5-step inner
    loop at lr 0.01 diverge (the 1-input layer gets std sqrt(2)), so they would fail the run,
    not the method."""
    masked = backbone.names_with("prunable") + _head_weights(backbone)
    return MetaTicketRegression(backbone, config, masked=masked, redraw=False)
