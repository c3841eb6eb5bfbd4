"""Meta-ticket: meta-learn a binary mask over a fixed random network (Chijiwa et al. 2022).

Masked weights are re-drawn Kaiming-normal (fan_in, ReLU gain; the naive sinusoid variant keeps
the backbone's own) and, like every other parameter that is not meta-trained (biases, BatchNorm,
head), become fixed buffers of the backbone: every task starts from the same phi_0 and the inner
loop adapts all of it. The meta-parameters are one score per masked weight, Kaiming-uniform with
fan_in and the ReLU gain (bound sqrt(6 / fan_in), as the authors' ``sparse_module.py``; not
edge-popup's a = sqrt(5)); the mask is
m = 1[s >= sigma] with one threshold per tensor, fixed at init as the p_init quantile of its
initial scores. The gradient reaches the scores by the straight-through estimator:
dL/ds := dL/dm, unscaled.

Constant init (paper 4.1.2): every masked weight, the head's too, is its layer's Kaiming std
gain / sqrt(fan_in) times ``constant_init``, and biases are 0, so only the mask carries
information.

Settings are method options (``method_options`` in a config; ``OPTIONS``): each factory takes
those of its method as keyword arguments, so that an unknown one is refused by name.

Random draws (weights, scores, IteRand) come from torch's global CPU generator, whatever the
device, so a seeded run draws the same ticket on CPU and GPU and on every rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from metaticket_core.backbone import Backbone, attribute_key, make_buffer
from metaticket_core.config import RunConfig
from metaticket_core.errors import ConfigError
from metaticket_core.functional import Params, straight_through, threshold
from metaticket_core.learner import OuterDefaults

from .base import FusedLearner

OPTIONS = {
    "p_init": "initial pruning rate of each layer, in [0, 1)",
    "constant_init": "every masked weight (head included) this times its layer's Kaiming std,"
    " biases 0 (paper 4.1.2: 1.0); null: random weights",
    "iterand_period": "IteRand: resample the pruned weights every K outer steps",
    "iterand_rate": "IteRand: probability that a pruned weight is resampled, in [0, 1]",
}


@dataclass(frozen=True)
class IteRand:
    """Every ``period`` outer steps, each pruned weight is re-drawn with probability ``rate``."""

    period: int
    rate: float


class MetaTicket(FusedLearner):
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
        p_init: float = 0.0,
        constant_init: float | None = None,
        iterand: IteRand | None = None,
        redraw: bool = True,
    ):
        _check("p_init", p_init, lambda v: 0 <= v < 1, "a number >= 0 and < 1")
        if constant_init is not None:
            _check("constant_init", constant_init, lambda v: v > 0, "a number > 0, or null")
        if iterand is not None:
            _check("iterand_period", iterand.period, lambda v: isinstance(v, int) and v >= 1,
                   "an integer >= 1")  # fmt: skip
            _check("iterand_rate", iterand.rate, lambda v: 0 <= v <= 1, "a number in [0, 1]")
        params = dict(backbone.named_parameters())
        super().__init__(
            backbone, config, {n: 0.0 if n in frozen else config.inner_lr for n in params}
        )
        self.masked = [n for n in params if n in masked]
        if not self.masked:
            raise ConfigError(
                f"Meta-ticket needs prunable weights to mask, but backbone "
                f"{type(backbone).__name__} tags none of its parameters 'prunable'."
            )
        self.iterand = iterand
        self.constant_init = constant_init
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
            thresholds.append(threshold(scores, p_init).to(weight.device))
        self.register_buffer("thresholds", torch.stack(thresholds))

    def meta_parameters(self) -> list[nn.Parameter]:
        return list(self.score_params.values()) + list(self.backbone.parameters())

    def start(self) -> tuple[Params, Params]:
        phi0, _ = super().start()
        scores = {n: self.score_params[attribute_key(n)] for n in self.masked}
        return phi0, straight_through(scores, self.thresholds)

    def scores(self) -> dict[str, torch.Tensor]:
        return {n: self.score_params[attribute_key(n)].detach() for n in self.masked}

    def after_step(self, iteration: int) -> None:
        """IteRand: every K steps re-draw each pruned weight with probability r."""
        if self.iterand is None or iteration % self.iterand.period:
            return
        with torch.no_grad():
            for i, name in enumerate(self.masked):
                weight = self.backbone.get_buffer(name)
                pruned = self.score_params[attribute_key(name)] < self.thresholds[i]
                chosen = pruned & (torch.rand(weight.shape) < self.iterand.rate).to(weight.device)
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


def _check(name: str, value: Any, valid: Callable[[Any], bool], expected: str) -> None:
    """ConfigError naming the method option whose value is not a finite number ``valid`` takes."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and valid(value)):
        raise ConfigError(f"Invalid method option {name}={value!r}: expected {expected}.")


def _masked(backbone: Backbone, constant_init: float | None) -> list[str]:
    """The prunable weights; under constant init the head's weight too (otherwise every class
    would start identical), as in the authors' constant-init runs."""
    if constant_init is None:
        return backbone.names_with("prunable")
    return backbone.names_with("prunable") + _head_weights(backbone)


def _head_weights(backbone: Backbone) -> list[str]:
    biases = set(backbone.names_with("bias"))
    return [n for n in backbone.names_with("head") if n not in biases]


def _ticket(
    backbone: Backbone,
    config: RunConfig,
    frozen: Collection[str],
    p_init: float,
    constant_init: float | None,
    iterand: IteRand | None = None,
) -> MetaTicket:
    """The classification variants: every prunable weight masked (the head too under constant
    init), ``frozen`` names not adapted."""
    masked = _masked(backbone, constant_init)
    return MetaTicket(
        backbone,
        config,
        masked=masked,
        frozen=frozen,
        p_init=p_init,
        constant_init=constant_init,
        iterand=iterand,
    )


def metaticket(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicket:
    """Meta-ticket: meta-learn a sparse subnetwork of a fixed random network."""
    return _ticket(backbone, config, (), p_init, constant_init)


def metaticket_boil(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicket:
    """Meta-ticket with the random head frozen in the inner loop (BOIL)."""
    return _ticket(backbone, config, backbone.names_with("head"), p_init, constant_init)


def metaticket_iterand(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicket:
    """Meta-ticket with iterative randomisation of pruned weights (IteRand)."""
    iterand = IteRand(iterand_period, iterand_rate)
    return _ticket(backbone, config, (), p_init, constant_init, iterand)


def metaticket_boil_iterand(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicket:
    """Meta-ticket with a frozen head in the inner loop and IteRand."""
    iterand = IteRand(iterand_period, iterand_rate)
    return _ticket(backbone, config, backbone.names_with("head"), p_init, constant_init, iterand)


def metaticket_reg(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicketRegression:
    """Regression Meta-ticket: hidden layers masked, with IteRand (the authors' sinusoid runs;
    ``iterand_rate=0`` turns it off); input/output layers and biases MAML-trained."""
    inputs = set(backbone.names_with("input"))
    masked = [n for n in backbone.names_with("prunable") if n not in inputs]
    trained = [n for n, _ in backbone.named_parameters() if n not in masked]
    return MetaTicketRegression(
        backbone,
        config,
        masked=masked,
        meta_trained=trained,
        p_init=p_init,
        constant_init=constant_init,
        iterand=IteRand(iterand_period, iterand_rate),
    )


def metaticket_reg_naive(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicketRegression:
    """Naive regression Meta-ticket: every layer's weight masked (output too), nothing trained.
    The masked weights keep the backbone's own init: Kaiming-normal ones make the 5-step inner
    loop at lr 0.01 diverge (the 1-input layer gets std sqrt(2)), so they would fail the run,
    not the method."""
    masked = backbone.names_with("prunable") + _head_weights(backbone)
    return MetaTicketRegression(
        backbone, config, masked=masked, p_init=p_init, constant_init=constant_init, redraw=False
    )
