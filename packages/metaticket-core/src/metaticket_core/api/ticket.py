"""Ticket masking: a binary mask meta-learned over a fixed random network (Meta-ticket,
Chijiwa et al. 2022), as a mixin that makes any ``FunctionalLearner`` a ticket.

The masked weights are re-drawn Kaiming-normal (fan_in, ReLU gain), or set to a constant (paper
4.1.2), and become fixed buffers of the backbone like every name that is not meta-trained, so
every task starts from the same phi_0. The ticket meta-learns one score per masked weight,
Kaiming-uniform with fan_in and the ReLU gain (bound sqrt(6 / fan_in), as the authors'
``sparse_module.py``); the mask is m = 1[s >= sigma] with one threshold per tensor, fixed at init
as the ``p_init`` quantile of its initial scores, and the gradient reaches the scores by the
straight-through estimator. IteRand (Chijiwa et al. 2021) re-draws pruned weights every K outer
steps.

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

from .backbone import attribute_key, make_buffer
from .errors import ConfigError
from .functional import Params, straight_through, threshold

# help of the options a ticket method usually takes (``register(..., options=...)``)
TICKET_OPTIONS = {
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


def check_option(name: str, value: Any, valid: Callable[[Any], bool], expected: str) -> None:
    """ConfigError naming the method option whose value is not a finite number ``valid`` takes."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and valid(value)):
        raise ConfigError(f"Invalid method option {name}={value!r}: expected {expected}.")


def draw_weight(like: torch.Tensor, constant_init: float | None = None) -> torch.Tensor:
    """A fresh sample of a masked weight's init: Kaiming normal (fan_in, ReLU gain) from the CPU
    generator, or ``constant_init`` times the layer's Kaiming std."""
    if constant_init is not None:
        fan_in = like[0].numel()
        return torch.full_like(like, constant_init * math.sqrt(2 / fan_in))
    weight = torch.empty(like.shape, dtype=like.dtype)
    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    return weight.to(like.device)


def initial_scores(weight: torch.Tensor) -> torch.Tensor:
    """Kaiming-uniform scores shaped like ``weight``, drawn on CPU (the authors' init)."""
    scores = torch.empty(weight.shape, dtype=weight.dtype)
    nn.init.kaiming_uniform_(scores, mode="fan_in", nonlinearity="relu")
    return scores


class Ticket:
    """Mixin that makes a ``FunctionalLearner`` a ticket: list it first
    (``class ReptileTicket(Ticket, Reptile)``) and call ``make_ticket`` at the end of
    ``__init__``. It adds the scores to ``meta_parameters()``, the masks to ``start()``, and
    ``scores()`` and IteRand's ``after_step``; the learner's inner loop and outer update are
    unchanged, and see the masked effective weights."""

    def make_ticket(
        self,
        masked: Collection[str],
        *,
        meta_trained: Collection[str] = (),
        p_init: float = 0.0,
        constant_init: float | None = None,
        iterand: IteRand | None = None,
        redraw: bool = True,
    ) -> None:
        """Mask the ``masked`` weights (re-drawn unless ``redraw`` is false; never
        meta-trained) and fix every backbone parameter not in ``meta_trained`` as a buffer.
        Checks the options, naming each as a method option."""
        check_option("p_init", p_init, lambda v: 0 <= v < 1, "a number >= 0 and < 1")
        if constant_init is not None:
            check_option("constant_init", constant_init, lambda v: v > 0, "a number > 0, or null")
        if iterand is not None:
            check_option("iterand_period", iterand.period, lambda v: isinstance(v, int) and v >= 1,
                         "an integer >= 1")  # fmt: skip
            check_option("iterand_rate", iterand.rate, lambda v: 0 <= v <= 1, "a number in [0, 1]")
        backbone = self.backbone
        params = dict(backbone.named_parameters())
        self.masked = [n for n in params if n in masked]
        if not self.masked:
            raise ConfigError(
                f"A ticket needs prunable weights to mask, but backbone "
                f"{type(backbone).__name__} tags none of its parameters 'prunable'."
            )
        self.iterand = iterand
        self.constant_init = constant_init
        with torch.no_grad():
            for name in self.masked if redraw else ():
                params[name].copy_(draw_weight(params[name], constant_init))
            if constant_init is not None:
                for name in backbone.names_with("bias"):
                    params[name].zero_()
        for name in params:
            if name not in meta_trained or name in self.masked:
                make_buffer(backbone, name)

        self.score_params = nn.ParameterDict()
        thresholds = []
        for name in self.masked:
            weight = params[name]
            scores = initial_scores(weight)
            self.score_params[attribute_key(name)] = nn.Parameter(scores.to(weight.device))
            thresholds.append(threshold(scores, p_init).to(weight.device))
        self.register_buffer("thresholds", torch.stack(thresholds))

    def meta_parameters(self) -> list[nn.Parameter]:
        """The scores, then the learner's own (which no longer include fixed weights)."""
        return list(self.score_params.values()) + super().meta_parameters()

    def start(self) -> tuple[Params, Params]:
        phi0, masks = super().start()
        scores = {n: self.score_params[attribute_key(n)] for n in self.masked}
        return phi0, masks | straight_through(scores, self.thresholds)

    def scores(self) -> Params:
        return {n: self.score_params[attribute_key(n)].detach() for n in self.masked}

    def after_step(self, iteration: int) -> None:
        """IteRand: every K steps re-draw each pruned weight with probability r."""
        super().after_step(iteration)
        if self.iterand is None or iteration % self.iterand.period:
            return
        with torch.no_grad():
            for i, name in enumerate(self.masked):
                weight = self.backbone.get_buffer(name)
                pruned = self.score_params[attribute_key(name)] < self.thresholds[i]
                chosen = pruned & (torch.rand(weight.shape) < self.iterand.rate).to(weight.device)
                weight.copy_(torch.where(chosen, draw_weight(weight, self.constant_init), weight))
